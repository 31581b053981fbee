import DeployVerifyKit
import Foundation

/// What one attempt of a check saw, for its conditions to judge.
package struct Observation: Sendable {
    package var status: Int?
    package var time: Duration?
    package var body: [UInt8]?
    package var headers: [(name: String, value: String)] = []
    package var exitCode: Int32?
    /// `exit 3`, `killed by SIGTERM`: how a command ended.
    package var exitDescription: String?
    package var stdout: String?
    package var stderr: String?
    package var version: String?
    package var revision: String?
    /// A `prometheus` series' value as Prometheus wrote it: `0.012`, `NaN`, `+Inf`.
    package var value: String?
    /// Why there is nothing to observe (`refused: connection refused by …`), when so.
    package var failure: String?
    /// The body (http) or standard output (command) as JSON, parsed once when a condition needs it.
    package var json: JSONSource?

    package enum JSONSource: Sendable {
        case document(JSONValue)
        /// Why there is no JSON document: `not JSON: …`, `no response: …`.
        case unavailable(String)
    }

    package init() {}

    /// Parses the JSON source once, if any condition asks for it.
    package mutating func prepareJSON(for conditions: [Condition]) {
        guard json == nil, conditions.contains(where: { if case .json = $0.subject { return true }; return false }) else { return }
        guard let source = body ?? stdout.map({ Array($0.utf8) }) else {
            json = .unavailable(failure.map { "no response: \($0)" } ?? "nothing to read JSON from")
            return
        }
        do {
            json = .document(try JSONParser().parse(source))
        } catch {
            json = .unavailable("not JSON: \(error)")
        }
    }
}

/// The verdict on one condition, with what was seen for the report.
package struct ConditionResult: Sendable {
    package var condition: String
    package var passed: Bool
    /// What the subject was: `503`, `1.4.1`, `(missing)`, `(no response: refused …)`.
    package var actual: String
    /// `expected status == 200, actual 503`.
    package var message: String
}

extension Condition {
    /// Judges the observation; `expand` resolves `${NAME}` in the values (it may throw for an
    /// undefined name, which fails the condition with that message).
    package func evaluate(_ observation: Observation, expand: (String) throws -> String) -> ConditionResult {
        func result(_ passed: Bool, _ actual: String, note: String? = nil) -> ConditionResult {
            let shown = Self.clip(actual)
            let message = passed ? "\(text): \(shown)" : "expected \(expandedText(expand)), actual \(shown)" + (note.map { " (\($0))" } ?? "")
            return ConditionResult(condition: text, passed: passed, actual: shown, message: message)
        }
        let values: [String]
        do {
            values = try operands.map { try expand($0.text) }
        } catch {
            return ConditionResult(condition: text, passed: false, actual: "-", message: "\(text): \(error)")
        }

        let subjectValue = self.subjectValue(observation)
        switch subjectValue {
        case .missing(let why):
            // Only "not exists" holds for something that is not there.
            return result(op == .exists && negated, why)
        case .present(let actual):
            switch op {
            case .exists:
                return result(!negated, actual.display)
            case .equal, .notEqual:
                let equal = Self.equal(actual, values[0])
                return result(op == .equal ? equal : !equal, actual.display)
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard let order = Self.order(actual, values[0]) else {
                    return result(false, actual.display, note: "cannot order '\(Self.clip(actual.text, 40))' and '\(values[0])': neither numbers, durations nor versions")
                }
                let passed = switch op {
                case .less: order == .orderedAscending
                case .lessOrEqual: order != .orderedDescending
                case .greater: order == .orderedDescending
                default: order != .orderedAscending
                }
                return result(passed, actual.display)
            case .contains:
                let contains: Bool
                if case .json(.array(let elements)) = actual {
                    contains = elements.contains { Self.equal(.json($0), values[0]) }
                } else {
                    contains = actual.text.contains(values[0])
                }
                return result(contains != negated, actual.display)
            case .matches:
                guard let expression = RegularExpressions.compile(values[0]) else {
                    return result(false, actual.display, note: "'\(values[0])' is not a valid regular expression")
                }
                let text = actual.text
                let found = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
                return result(found != negated, actual.display)
            case .oneOf:
                let found = values.contains { Self.equal(actual, $0) }
                return result(found != negated, actual.display)
            }
        }
    }

    private func expandedText(_ expand: (String) throws -> String) -> String {
        (try? expand(text)) ?? text
    }

    /// A subject's value: text with a kind that decides how it compares.
    enum Value {
        case number(String)
        case duration(Duration)
        case text(String)
        case json(JSONValue)

        var text: String {
            switch self {
            case .number(let text), .text(let text): text
            case .duration(let duration): DurationText.format(duration)
            case .json(let value): value.scalarText ?? value.serialized
            }
        }

        var display: String {
            if case .json(.string(let text)) = self { return text }
            return text
        }
    }

    enum SubjectValue {
        case present(Value)
        case missing(String)
    }

    private func subjectValue(_ observation: Observation) -> SubjectValue {
        let noResponse = observation.failure.map { "(no response: \($0))" }
        switch subject {
        case .status:
            guard let status = observation.status else { return .missing(noResponse ?? "(no status)") }
            return .present(.number(String(status)))
        case .time:
            guard let time = observation.time else { return .missing(noResponse ?? "(no time)") }
            return .present(.duration(time))
        case .body:
            guard let body = observation.body else { return .missing(noResponse ?? "(no body)") }
            return .present(.text(String(decoding: body, as: UTF8.self)))
        case .header(let name):
            guard observation.failure == nil || !observation.headers.isEmpty else { return .missing(noResponse!) }
            guard let value = observation.headers.first(where: { $0.name.lowercased() == name.lowercased() })?.value else {
                return .missing("(no \(name) header)")
            }
            return .present(.text(value))
        case .json(let path):
            switch observation.json {
            case .document(let document):
                guard let path else { return .present(.json(document)) }
                guard let value = path.value(in: document) else { return .missing("(missing)") }
                return .present(.json(value))
            case .unavailable(let why):
                return .missing("(\(why))")
            case nil:
                return .missing("(no JSON)")
            }
        case .exit:
            if let code = observation.exitCode { return .present(.number(String(code))) }
            return .missing("(" + (observation.exitDescription ?? observation.failure ?? "did not exit") + ")")
        case .stdout:
            guard let stdout = observation.stdout else { return .missing(noResponse ?? "(no output)") }
            return .present(.text(stdout))
        case .stderr:
            guard let stderr = observation.stderr else { return .missing(noResponse ?? "(no output)") }
            return .present(.text(stderr))
        case .version:
            guard let version = observation.version else { return .missing(noResponse ?? "(no version)") }
            return .present(.text(version))
        case .revision:
            guard let revision = observation.revision else { return .missing(noResponse ?? "(no revision)") }
            return .present(.text(revision))
        case .value:
            guard let value = observation.value else { return .missing(noResponse ?? "(no value)") }
            return .present(.number(value))
        }
    }

    // MARK: Comparison

    /// Numbers compare as numbers, durations as durations, versions by SemVer, the rest as text.
    static func equal(_ actual: Value, _ expected: String) -> Bool {
        if let order = order(actual, expected) { return order == .orderedSame }
        if case .json(let value) = actual, value.scalarText == nil {
            return value.serialized == expected || value == (try? JSONParser().parse(expected))
        }
        return actual.text == expected
    }

    static func order(_ actual: Value, _ expected: String) -> ComparisonResult? {
        if case .duration(let elapsed) = actual {
            guard let other = Condition.duration(expected) else { return nil }
            return elapsed < other ? .orderedAscending : elapsed > other ? .orderedDescending : .orderedSame
        }
        let text = actual.text
        if let left = number(text), let right = number(expected) {
            return left < right ? .orderedAscending : left > right ? .orderedDescending : .orderedSame
        }
        if let left = SemanticVersion(text), let right = SemanticVersion(expected) {
            return left < right ? .orderedAscending : left > right ? .orderedDescending : .orderedSame
        }
        return nil
    }

    private static func number(_ text: String) -> Double? {
        let trimmed = text.trimmed
        guard let first = trimmed.first, first.isNumber || first == "-" || first == "+" || first == "." else { return nil }
        return Double(trimmed)
    }

    private static func clip(_ text: String, _ limit: Int = 200) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
