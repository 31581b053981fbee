import DeployVerifyKit
import Foundation
import InfoEndpoint

/// An `alarms` check: none of the selected alarms may be firing. Values may contain `${NAME}`.
package enum AlarmsSpec: Sendable {
    /// CloudWatch alarms by name and/or name prefix; `region` overrides the environment's.
    case cloudWatch(names: [String], prefix: String?, region: String?)
    /// Alerts in Prometheus's Alertmanager selected by label matchers (`service="checkout"`).
    case alertmanager(AlertmanagerSpec)

    var defaultName: String {
        switch self {
        case .cloudWatch(let names, let prefix, _):
            "no CloudWatch alarm in ALARM: " + (names + (prefix.map { ["\($0)*"] } ?? [])).joined(separator: ", ")
        case .alertmanager(let spec):
            "no alert firing for {" + spec.matchers.joined(separator: ", ") + "}"
        }
    }
}

/// Where Alertmanager is and which alerts hold the deployment.
package struct AlertmanagerSpec: Sendable {
    /// Alertmanager's base URL (`http://alertmanager:9093`, with any path prefix).
    package var url: String
    /// Label matchers as written (`service="checkout"`, `severity=~"critical|page"`).
    package var matchers: [String]
    package var headers: [(name: String, value: String)] = []
    /// Silenced (or inhibited) alerts hold the deployment too; by default they do not.
    package var includeSilenced = false
    package var includeInhibited = false
}

/// One Alertmanager label matcher: `name="value"`, `name!="value"`, `name=~"regex"`,
/// `name!~"regex"` (the value may be unquoted when it has no special characters).
package struct AlertMatcher: Sendable, Equatable, CustomStringConvertible {
    package enum Operator: String, Sendable {
        case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    }

    package var name: String
    package var op: Operator
    package var value: String

    package struct SyntaxError: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    package static func parse(_ text: String) throws(SyntaxError) -> AlertMatcher {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func fail(_ message: String) -> SyntaxError {
            SyntaxError(description: "'\(trimmed)': \(message) (a matcher is name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\")")
        }
        let name = String(trimmed.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        guard let first = name.first, !first.isNumber else { throw fail("a label name is missing") }
        var rest = trimmed.dropFirst(name.count).drop(while: \.isWhitespace)
        guard let op = [Operator.matches, .notMatches, .notEqual, .equal].first(where: { rest.hasPrefix($0.rawValue) }) else {
            throw fail("expected =, !=, =~ or !~ after '\(name)'")
        }
        rest = rest.dropFirst(op.rawValue.count).drop(while: \.isWhitespace)
        var value = ""
        if rest.first == "\"" {
            var escaping = false
            var closed = false
            for (offset, character) in rest.dropFirst().enumerated() {
                if escaping {
                    value.append(character == "n" ? "\n" : character)
                    escaping = false
                } else if character == "\\" {
                    escaping = true
                } else if character == "\"" {
                    guard offset == rest.count - 2 else { throw fail("text after the closing quote") }
                    closed = true
                    break
                } else {
                    value.append(character)
                }
            }
            guard closed else { throw fail("the value's closing quote is missing") }
        } else {
            value = rest.trimmingCharacters(in: .whitespaces)
            guard !value.contains("\""), !value.contains(","), !value.contains("{"), !value.contains("}") else {
                throw fail("quote a value with special characters")
            }
        }
        return AlertMatcher(name: name, op: op, value: value)
    }

    /// The matcher as Alertmanager's `filter` parameter takes it, the value quoted.
    package var description: String {
        var quoted = ""
        for character in value {
            switch character {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            default: quoted.append(character)
            }
        }
        return "\(name)\(op.rawValue)\"\(quoted)\""
    }
}

/// An `alarms` check ready to run, its values expanded.
package enum PlannedAlarms: Sendable {
    case cloudWatch(names: [String], prefix: String?, region: String?)
    case alertmanager(url: String, matchers: [AlertMatcher], headers: [(name: String, value: String)],
                      includeSilenced: Bool, includeInhibited: Bool)
}

/// The AWS clients of a run, one per region, made when a check first needs one: credentials and
/// connections are shared by every check and every round of a bake.
package final class AWSClients: Sendable {
    private let environment: [String: String]
    private let clients = Locked<[String: AWSClient]>([:])

    package init(environment: [String: String]) {
        self.environment = environment
    }

    /// The client for `region` (nil: the environment's region).
    package func client(region: String?) throws(AWSError) -> AWSClient {
        let key = region ?? ""
        if let client = clients.withLock({ $0[key] }) { return client }
        var environment = self.environment
        if let region {
            environment["AWS_REGION"] = region
        }
        let client = try AWSClient(environment: environment)
        return clients.withLock { clients in
            if let existing = clients[key] { return existing }
            clients[key] = client
            return client
        }
    }
}

/// Runs `work`, cancelling it after `limit`; nil when it did not finish in time (or the caller
/// was cancelled first).
func withTimeLimit<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await work() }
        group.addTask {
            try? await CancellableSleep.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Percent-encodes a query parameter's value: RFC 3986 unreserved characters kept.
func queryEncoded(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            result += String(format: "%%%02X", byte)
        }
    }
    return result
}

/// A base URL with `path` appended: `http://am:9093/` + `/api/v2/alerts`.
func joinURL(_ base: String, _ path: String) -> String {
    var trimmed = base
    while trimmed.hasSuffix("/") { trimmed.removeLast() }
    return trimmed + path
}

// MARK: Judging alarms

extension PhaseRunner {
    /// Whether any selected alarm fires. An answer that cannot be had or read fails the check
    /// with the reason: a blocker that cannot be evaluated holds the deployment.
    func judge(_ alarms: PlannedAlarms, timeout: Duration) async -> AttemptResult {
        switch alarms {
        case .cloudWatch(let names, let prefix, let region):
            return await judgeCloudWatch(names: names, prefix: prefix, region: region, timeout: timeout)
        case .alertmanager(let url, let matchers, let headers, let includeSilenced, let includeInhibited):
            return await judgeAlertmanager(url: url, matchers: matchers, headers: headers, includeSilenced: includeSilenced,
                                           includeInhibited: includeInhibited, timeout: timeout)
        }
    }

    static func notEvaluated(_ why: String) -> AttemptResult {
        AttemptResult(passed: false, reason: "could not be evaluated: \(why)", conditions: [])
    }

    private func judgeCloudWatch(names: [String], prefix: String?, region: String?, timeout: Duration) async -> AttemptResult {
        let client: AWSClient
        do {
            client = try awsClients.client(region: region)
        } catch {
            return Self.notEvaluated(error.description)
        }
        let answer: Result<[CloudWatchAlarm], AWSError>? = await withTimeLimit(timeout) {
            do throws(AWSError) {
                return .success(try await client.describeAlarms(names: names, prefix: prefix, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
        let alarms: [CloudWatchAlarm]
        switch answer {
        case nil: return Self.notEvaluated("CloudWatch DescribeAlarms: no answer within \(DurationText.format(timeout))")
        case .failure(let error)?: return Self.notEvaluated(error.description)
        case .success(let found)?: alarms = found
        }
        let place = " in \(client.region)"
        let missing = names.filter { name in !alarms.contains { $0.name == name } }
        if !missing.isEmpty {
            return Self.notEvaluated("no CloudWatch alarm named " + missing.map { "'\($0)'" }.joined(separator: ", ") + place)
        }
        if let prefix, !alarms.contains(where: { $0.name.hasPrefix(prefix) }) {
            return Self.notEvaluated("no CloudWatch alarm's name starts with '\(prefix)'\(place)")
        }
        let firing = alarms.filter { $0.state == "ALARM" }
        let states = alarms.prefix(20).map { "\($0.name) \($0.state)" }.joined(separator: ", ")
            + (alarms.count > 20 ? ", and \(alarms.count - 20) more" : "")
        let condition = "no alarm in ALARM"
        guard firing.isEmpty else {
            let list = firing.prefix(10).map { alarm in
                alarm.name + (alarm.reason.isEmpty ? "" : " (\(alarm.reason.prefix(300)))") + (alarm.stateUpdated.map { " since \($0)" } ?? "")
            }.joined(separator: "; ") + (firing.count > 10 ? "; and \(firing.count - 10) more" : "")
            let message = "\(firing.count) of \(alarms.count) alarm\(alarms.count == 1 ? "" : "s") in ALARM: \(list)"
            return AttemptResult(passed: false, reason: message,
                                 conditions: [ConditionResult(condition: condition, passed: false, actual: states, message: message)])
        }
        return AttemptResult(passed: true, reason: nil, conditions: [
            ConditionResult(condition: condition, passed: true, actual: states, message: "\(condition): \(states)"),
        ])
    }

    private func judgeAlertmanager(url base: String, matchers: [AlertMatcher], headers: [(name: String, value: String)],
                                   includeSilenced: Bool, includeInhibited: Bool, timeout: Duration) async -> AttemptResult {
        let url = joinURL(base, "/api/v2/alerts") + "?active=true&silenced=\(includeSilenced)&inhibited=\(includeInhibited)&unprocessed=true"
            + matchers.map { "&filter=" + queryEncoded($0.description) }.joined()
        var options = prober.options
        options.headers = [("Accept", "application/json")] + headers
        options.timeout = timeout
        options.connectTimeout = min(options.connectTimeout, timeout)
        options.maxBodyBytes = 16 << 20
        let result = await prober.probe(url, options: options)
        guard let status = result.status else {
            let failure = result.failure ?? .cancelled
            return Self.notEvaluated("Alertmanager: \(failure.className): \(failure.message)")
        }
        guard status == 200 else {
            let body = String(decoding: result.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return Self.notEvaluated("Alertmanager answered HTTP \(status)" + (body.isEmpty ? "" : ": \(body)"))
        }
        guard case .array(let alerts)? = try? JSONParser().parse(result.body) else {
            return Self.notEvaluated("Alertmanager's answer is not a JSON array of alerts")
        }
        let selection = "{" + matchers.map(\.description).joined(separator: ", ") + "}"
        let condition = "no alert firing for \(selection)"
        let firing = alerts.filter { alert in
            let state = alert["status"]?["state"]?.stringValue ?? "active"
            guard state == "suppressed" else { return true }
            let silenced = !(alert["status"]?["silencedBy"]?.arrayValue?.isEmpty ?? true)
            let inhibited = !(alert["status"]?["inhibitedBy"]?.arrayValue?.isEmpty ?? true)
            return (silenced && includeSilenced) || (inhibited && includeInhibited)
        }
        guard firing.isEmpty else {
            let list = firing.prefix(10).map(Self.describeAlert).joined(separator: "; ")
                + (firing.count > 10 ? "; and \(firing.count - 10) more" : "")
            let message = "\(firing.count) alert\(firing.count == 1 ? "" : "s") firing: \(list)"
            return AttemptResult(passed: false, reason: message, conditions: [
                ConditionResult(condition: condition, passed: false, actual: "\(firing.count) firing", message: message),
            ])
        }
        return AttemptResult(passed: true, reason: nil, conditions: [
            ConditionResult(condition: condition, passed: true, actual: "none", message: "\(condition): none"),
        ])
    }

    /// `HighErrorRate{service="checkout", severity="page"} since 2025-03-28T10:00:00Z: 5xx above 1%`.
    static func describeAlert(_ alert: JSONValue) -> String {
        let labels = alert["labels"]?.objectValue?.members.compactMap { member in
            member.value.stringValue.map { (member.key, $0) }
        } ?? []
        let name = labels.first { $0.0 == "alertname" }?.1 ?? ""
        let rest = labels.filter { $0.0 != "alertname" }.sorted { $0.0 < $1.0 }.map { "\($0.0)=\"\($0.1)\"" }
        var text = name + "{" + rest.joined(separator: ", ") + "}"
        if let since = alert["startsAt"]?.stringValue { text += " since \(since)" }
        if let summary = alert["annotations"]?["summary"]?.stringValue ?? alert["annotations"]?["description"]?.stringValue {
            text += ": \(summary.prefix(200))"
        }
        return text
    }
}
