import Foundation

extension ServiceInfo {
    /// The `/info` body. Key names and order are stable and documented in the README; a field
    /// with no value is `null`, never missing.
    package func infoJSON(at now: Date) -> String {
        var json = JSONText()
        json.object { json in
            json.member("name", name)
            json.member("version", version)
            json.member("revision", revision)
            json.member("branch", branch)
            json.member("buildTime", buildTime.map { Timestamps.iso8601($0) })
            json.member("environment", environment)
            json.member("instance", instance)
            json.member("startTime", Timestamps.iso8601(startTime, milliseconds: true))
            json.key("uptimeSeconds")
            json.number(Int(uptime(at: now)))
            json.key("extra")
            json.object { json in
                for key in extra.keys.sorted() {
                    json.member(key, extra[key])
                }
            }
        }
        return json.text
    }
}
