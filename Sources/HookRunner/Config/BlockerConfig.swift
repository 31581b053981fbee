import DeployVerifyKit
import Foundation

/// Reading the checks file's blockers (`alarms`, `window`), `prometheus` checks and `bake` steps.
extension ConfigReader {
    func alarms(_ value: JSONValue, _ path: String) throws(ConfigError) -> AlarmsSpec {
        let object = try self.object(value, path, allowed: ["cloudwatch", "alertmanager", "timeout"])
        let sources = ["cloudwatch", "alertmanager"].filter { object[$0] != nil }
        guard sources.count == 1 else {
            throw error(path, sources.isEmpty ? "needs cloudwatch ({\"names\": […], \"prefix\": …}) or alertmanager ({\"url\": …, \"matchers\": […]})"
                : "one source per check: cloudwatch or alertmanager")
        }
        if let cloudWatch = object["cloudwatch"] {
            let sourcePath = join(path, "cloudwatch")
            let source = try self.object(cloudWatch, sourcePath, allowed: ["names", "prefix", "region"])
            var names: [String] = []
            if let list = source["names"] {
                names = try strings(list, join(sourcePath, "names"))
            }
            let prefix = try source["prefix"].map { value throws(ConfigError) in try nonEmpty(value, join(sourcePath, "prefix")) }
            guard !names.isEmpty || prefix != nil else {
                throw error(sourcePath, "needs names (an array of alarm names) or prefix (alarms whose names start with it), or both")
            }
            let region = try source["region"].map { value throws(ConfigError) in try nonEmpty(value, join(sourcePath, "region")) }
            return .cloudWatch(names: names, prefix: prefix, region: region)
        }
        let sourcePath = join(path, "alertmanager")
        let source = try self.object(object["alertmanager"]!, sourcePath,
                                     allowed: ["url", "matchers", "headers", "includeSilenced", "includeInhibited"])
        guard let url = source["url"] else { throw error(sourcePath, "needs url: Alertmanager's address, e.g. http://alertmanager:9093") }
        guard let matcherList = source["matchers"] else {
            throw error(sourcePath, "needs matchers: which alerts hold the deployment, e.g. [\"service=\\\"checkout\\\"\"]")
        }
        var spec = AlertmanagerSpec(url: try string(url, join(sourcePath, "url")),
                                    matchers: try strings(matcherList, join(sourcePath, "matchers")))
        for (index, matcher) in spec.matchers.enumerated() where !matcher.contains("${") {
            do { _ = try AlertMatcher.parse(matcher) } catch { throw self.error("\(sourcePath).matchers[\(index)]", error.description) }
        }
        if let headers = source["headers"] { spec.headers = try stringMap(headers, join(sourcePath, "headers")) }
        if let flag = source["includeSilenced"] { spec.includeSilenced = try bool(flag, join(sourcePath, "includeSilenced")) }
        if let flag = source["includeInhibited"] { spec.includeInhibited = try bool(flag, join(sourcePath, "includeInhibited")) }
        return .alertmanager(spec)
    }

    func prometheus(_ value: JSONValue, _ path: String) throws(ConfigError) -> PrometheusSpec {
        let object = try self.object(value, path, allowed: ["url", "query", "headers", "ifEmpty", "timeout"])
        guard let url = object["url"] else { throw error(path, "needs url: Prometheus's address, e.g. http://prometheus:9090") }
        guard let query = object["query"] else { throw error(path, "needs query: the PromQL whose value the conditions judge") }
        var spec = PrometheusSpec(url: try string(url, join(path, "url")), query: try nonEmpty(query, join(path, "query")))
        if let headers = object["headers"] { spec.headers = try stringMap(headers, join(path, "headers")) }
        if let empty = object["ifEmpty"] {
            switch try string(empty, join(path, "ifEmpty")) {
            case "pass": spec.emptyPasses = true
            case "fail": spec.emptyPasses = false
            case let other: throw error(join(path, "ifEmpty"), "'\(other)' is neither pass nor fail")
            }
        }
        return spec
    }

    func window(_ value: JSONValue, _ path: String) throws(ConfigError) -> DeployWindow {
        if case .string(let text) = value {
            do {
                return try DeployWindow.parse(shorthand: text)
            } catch {
                throw self.error(path, error.description)
            }
        }
        let object = try self.object(value, path, allowed: ["timeZone", "allow", "blackout"])
        guard let zoneValue = object["timeZone"] else {
            throw error(path, "needs timeZone: a TZ database name such as Europe/Berlin, America/New_York or UTC")
        }
        let zone: TimeZone
        let zoneName = try string(zoneValue, join(path, "timeZone"))
        do {
            zone = try DeployWindow.zone(named: zoneName)
        } catch {
            throw self.error(join(path, "timeZone"), error.description)
        }
        var allow: [DeployWindow.WeeklyHours] = []
        if let list = object["allow"] {
            let allowPath = join(path, "allow")
            let entries: [JSONValue]
            switch list {
            case .array(let items): entries = items
            case .string: entries = [list]
            default: throw error(allowPath, "expected an array of days and hours such as \"Mon-Thu 09:00-16:00\"")
            }
            for (index, entry) in entries.enumerated() {
                let entryPath = "\(allowPath)[\(index)]"
                let text = try string(entry, entryPath)
                do {
                    allow.append(try DeployWindow.WeeklyHours.parse(text))
                } catch {
                    throw self.error(entryPath, error.description)
                }
            }
        }
        var blackouts: [DeployWindow.Blackout] = []
        if let list = object["blackout"] {
            let blackoutPath = join(path, "blackout")
            guard case .array(let entries) = list else {
                throw error(blackoutPath, "expected an array of dates (\"2025-12-24\"), ranges (\"2025-12-20..2026-01-04\") or {\"dates\", \"reason\"}")
            }
            for (index, entry) in entries.enumerated() {
                let entryPath = "\(blackoutPath)[\(index)]"
                var text: String
                var reason: String?
                if case .object = entry {
                    let item = try self.object(entry, entryPath, allowed: ["dates", "reason"])
                    guard let dates = item["dates"] else { throw error(entryPath, "needs dates: \"2025-12-24\" or \"2025-12-20..2026-01-04\"") }
                    text = try string(dates, join(entryPath, "dates"))
                    reason = try item["reason"].map { value throws(ConfigError) in try string(value, join(entryPath, "reason")) }
                } else {
                    text = try string(entry, entryPath)
                }
                do {
                    blackouts.append(try DeployWindow.Blackout.parse(text, reason: reason))
                } catch {
                    throw self.error(entryPath, error.description)
                }
            }
        }
        guard !allow.isEmpty || !blackouts.isEmpty else {
            throw error(path, "needs allow (days and hours when a deployment may start) or blackout (dates when none may), or both")
        }
        return DeployWindow(timeZone: zone, allow: allow, blackouts: blackouts)
    }

    func bakeStep(_ value: JSONValue, _ path: String) throws(ConfigError) -> Step {
        if case .object(let probe) = value, probe["blocker"] != nil {
            throw error(join(path, "blocker"), "a bake cannot be a blocker: it runs while traffic moves, and its failures roll back")
        }
        let object = try self.object(value, path, allowed: ["name", "description", "bake"])
        let bakePath = join(path, "bake")
        let bake = try self.object(object["bake"]!, bakePath, allowed: ["for", "every", "checks"])
        guard let forValue = bake["for"] else { throw error(bakePath, "needs for: how long to bake, e.g. \"10m\"") }
        let duration = try self.duration(forValue, join(bakePath, "for"))
        let every = try bake["every"].map { value throws(ConfigError) in try self.duration(value, join(bakePath, "every")) } ?? .seconds(30)
        guard every <= duration else {
            throw error(join(bakePath, "every"), "\(DurationText.format(every)) is longer than the bake (\(DurationText.format(duration)))")
        }
        guard case .array(let members)? = bake["checks"], !members.isEmpty else {
            throw error(join(bakePath, "checks"), "expected a non-empty array of checks to keep running")
        }
        var checks: [Check] = []
        for (index, member) in members.enumerated() {
            checks.append(try check(member, "\(bakePath).checks[\(index)]", allowedExtra: false))
        }
        let name = try object["name"].map { value throws(ConfigError) in try string(value, join(path, "name")) }
            ?? "bake \(DurationText.format(duration)): " + checks.map(\.name).joined(separator: ", ")
        return Step(path: path, name: name, always: false, checks: checks, isParallel: true, blocker: false,
                    bake: Bake(duration: duration, every: every))
    }

    /// An array of non-empty strings.
    func strings(_ value: JSONValue, _ path: String) throws(ConfigError) -> [String] {
        guard case .array(let items) = value, !items.isEmpty else { throw error(path, "expected a non-empty array of strings") }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            result.append(try nonEmpty(item, "\(path)[\(index)]"))
        }
        return result
    }

    func nonEmpty(_ value: JSONValue, _ path: String) throws(ConfigError) -> String {
        let text = try string(value, path)
        guard !text.isEmpty else { throw error(path, "is empty") }
        return text
    }
}
