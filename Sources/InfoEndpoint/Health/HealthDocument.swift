import Foundation

/// Renders `application/health+json` after draft-inadarei-api-health-check-06.
enum HealthDocument {
    static func status(of reports: [HealthCheckReport]) -> HealthStatus {
        reports.map(\.result.status).max() ?? .pass
    }

    static func render(info: ServiceInfo, reports: [HealthCheckReport]) -> String {
        let overall = status(of: reports)
        var json = JSONText()
        json.object { json in
            json.member("status", overall.rawValue)
            json.member("version", info.version)
            json.member("releaseId", info.version)
            json.member("serviceId", info.name)
            json.member("description", "\(info.name) on \(info.instance)" + (info.environment.map { " (\($0))" } ?? ""))
            if overall != .pass, let first = reports.first(where: { $0.result.status == overall }) {
                json.member("output", "\(first.name): \(first.result.output ?? first.result.status.rawValue)")
            }
            json.key("checks")
            json.object { json in
                for report in reports {
                    json.key(report.name)
                    json.array { json in
                        json.object { json in
                            json.member("componentId", report.name)
                            json.member("status", report.result.status.rawValue)
                            json.member("time", Timestamps.iso8601(report.time, milliseconds: true))
                            if let value = report.result.observedValue {
                                json.key("observedValue")
                                json.number(value)
                            }
                            if let unit = report.result.observedUnit { json.member("observedUnit", unit) }
                            if let output = report.result.output { json.member("output", output) }
                        }
                    }
                }
            }
        }
        return json.text
    }
}
