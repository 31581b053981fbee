import DeployVerifyKit
import Foundation

/// One `expect` entry: `status == 200`, `time < 500ms`, `header.content-type contains json`,
/// `json.version == ${VERSION}`, `json.items exists`, `status in [200, 204]`, `stdout not contains
/// error`, `exit == 0`. Parsed when the file is loaded; `${NAME}` in the value is expanded when
/// the check runs. `value < 0.01` judges a `prometheus` check's value (each series of a vector).
package struct Condition: Sendable, CustomStringConvertible {
    package enum Subject: Sendable, Equatable {
        case status, time, body, exit, stdout, stderr, version, revision
        /// A `prometheus` query's value (of each series, for a vector).
        case value
        case header(String)
        /// A path into the JSON body (http, version) or standard output (command); nil: the whole document.
        case json(JSONPath?)

        package var name: String {
            switch self {
            case .status: "status"
            case .time: "time"
            case .body: "body"
            case .exit: "exit"
            case .stdout: "stdout"
            case .stderr: "stderr"
            case .version: "version"
            case .revision: "revision"
            case .value: "value"
            case .header(let name): "header.\(name)"
            case .json(let path): path.map { "json.\($0.description)" } ?? "json"
            }
        }
    }

    package enum Operator: String, Sendable, CaseIterable {
        case equal = "==", notEqual = "!=", lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">"
        case contains, matches, exists, oneOf = "in"

        var acceptsNot: Bool { [.contains, .matches, .exists, .oneOf].contains(self) }
        var isOrdering: Bool { [.less, .lessOrEqual, .greater, .greaterOrEqual].contains(self) }
    }

    /// A value as written: its text (with `${NAME}` unexpanded) and whether it was quoted.
    package struct Operand: Sendable {
        package var text: String
        package var quoted: Bool
    }

    package let text: String
    package let subject: Subject
    package let op: Operator
    package let negated: Bool
    /// The value (none for `exists`; the items for `in`).
    package let operands: [Operand]

    package var description: String { text }

    package struct SyntaxError: Error, CustomStringConvertible {
        package let description: String
    }

    package static let operatorList = "==, !=, <, <=, >, >=, contains, matches, exists, in [a, b] (not before contains, matches, exists, in)"

    package static func parse(_ text: String) throws(SyntaxError) -> Condition {
        let trimmed = text.trimmed
        func fail(_ message: String) -> SyntaxError { SyntaxError(description: "'\(trimmed)': \(message)") }
        guard !trimmed.isEmpty else { throw SyntaxError(description: "the condition is empty") }

        // The subject runs to whitespace or an operator symbol, brackets and quotes included.
        var subjectEnd = trimmed.startIndex
        var depth = 0
        var quote: Character?
        while subjectEnd < trimmed.endIndex {
            let character = trimmed[subjectEnd]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "[" {
                depth += 1
            } else if character == "]" {
                depth -= 1
            } else if depth == 0, character.isWhitespace || "=!<>".contains(character) {
                break
            }
            subjectEnd = trimmed.index(after: subjectEnd)
        }
        let subjectText = String(trimmed[..<subjectEnd])
        let subject = try parseSubject(subjectText, fail: fail)

        var rest = trimmed[subjectEnd...].drop(while: \.isWhitespace)
        var negated = false
        if rest.hasPrefix("not "), !rest.hasPrefix("not==") {
            negated = true
            rest = rest.dropFirst(3).drop(while: \.isWhitespace)
        }
        guard let op = Operator.allCases.first(where: { candidate in
            guard rest.hasPrefix(candidate.rawValue) else { return false }
            let after = rest.dropFirst(candidate.rawValue.count)
            // A word operator must stand alone: `contains`, not `containsx`.
            return candidate.rawValue.first!.isLetter ? (after.isEmpty || after.first!.isWhitespace) : true
        }) else {
            throw fail(rest.isEmpty ? "an operator is missing after '\(subjectText)' (use \(operatorList))"
                : "unknown operator in '\(rest.prefix(12))' (use \(operatorList))")
        }
        if negated, !op.acceptsNot { throw fail("'not' goes only before contains, matches, exists or in") }
        let valueText = rest.dropFirst(op.rawValue.count).trimmed

        var operands: [Operand] = []
        switch op {
        case .exists:
            guard valueText.isEmpty else { throw fail("exists takes no value") }
        case .oneOf:
            guard valueText.hasPrefix("["), valueText.hasSuffix("]"), valueText.count >= 2 else {
                throw fail("in takes a list: in [200, 204]")
            }
            operands = try splitList(String(valueText.dropFirst().dropLast())).map { item throws(SyntaxError) in
                try operand(item, fail: fail)
            }
            guard !operands.isEmpty else { throw fail("the list after in is empty") }
        default:
            guard !valueText.isEmpty else { throw fail("a value is missing after \(op.rawValue)") }
            operands = [try operand(valueText, fail: fail)]
        }
        let condition = Condition(text: trimmed, subject: subject, op: op, negated: negated, operands: operands)
        try condition.checkStaticValues(fail: fail)
        return condition
    }

    private static func parseSubject(_ text: String, fail: (String) -> SyntaxError) throws(SyntaxError) -> Subject {
        switch text {
        case "status": return .status
        case "time": return .time
        case "body": return .body
        case "exit": return .exit
        case "stdout": return .stdout
        case "stderr": return .stderr
        case "version": return .version
        case "revision": return .revision
        case "value": return .value
        case "json", "json.$", "$": return .json(nil)
        case "":
            throw fail("a subject is missing (status, time, body, header.NAME, json.PATH, exit, stdout, stderr, version, value)")
        default:
            if text.hasPrefix("header.") || text.hasPrefix("headers.") {
                let name = String(text.drop { $0 != "." }.dropFirst())
                guard !name.isEmpty else { throw fail("header. needs a name: header.content-type") }
                return .header(name)
            }
            if text.hasPrefix("json.") || text.hasPrefix("json[") || text.hasPrefix("$.") {
                let path = text.hasPrefix("json.") ? String(text.dropFirst(5)) : text.hasPrefix("json") ? String(text.dropFirst(4)) : text
                do {
                    return .json(try JSONPath(path))
                } catch {
                    throw fail(error.description)
                }
            }
            throw fail("unknown subject '\(text)' (use status, time, body, header.NAME, json.PATH, exit, stdout, stderr, version, revision, value)")
        }
    }

    private static func operand(_ text: String, fail: (String) -> SyntaxError) throws(SyntaxError) -> Operand {
        let trimmed = text.trimmed
        guard trimmed.count >= 2, let first = trimmed.first, first == "\"" || first == "'", trimmed.last == first else {
            return Operand(text: trimmed, quoted: false)
        }
        var value = ""
        var escaping = false
        for character in trimmed.dropFirst().dropLast() {
            if escaping {
                value.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                value.append(character)
            }
        }
        return Operand(text: value, quoted: true)
    }

    /// Splits `a, "b, c", d` on commas outside quotes.
    private static func splitList(_ text: String) throws(SyntaxError) -> [String] {
        var items: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                current.append(character)
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
                current.append(character)
            } else if character == "," {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.trimmed.isEmpty || !items.isEmpty { items.append(current) }
        return items.filter { !$0.trimmed.isEmpty }
    }

    /// Values without variables are checked now, so a typo fails validation, not the deploy.
    private func checkStaticValues(fail: (String) -> SyntaxError) throws(SyntaxError) {
        for operand in operands where !operand.text.contains("${") {
            switch (subject, op) {
            case (.status, .contains), (.exit, .contains), (.time, .contains), (.time, .matches):
                throw fail("\(op.rawValue) does not apply to \(subject.name)")
            case (.value, _) where op.isOrdering:
                guard Double(operand.text) != nil else { throw fail("value compares with a number (0.01, 250, 1e-3), not '\(operand.text)'") }
            case (.status, _) where op != .matches, (.exit, _) where op != .matches:
                guard Int(operand.text) != nil else { throw fail("\(subject.name) compares with a whole number, not '\(operand.text)'") }
            case (.time, _):
                guard Self.duration(operand.text) != nil else {
                    throw fail("time compares with a duration (500ms, 2s), not '\(operand.text)'")
                }
            case (_, .matches):
                guard RegularExpressions.compile(operand.text) != nil else {
                    throw fail("'\(operand.text)' is not a valid regular expression")
                }
            default:
                break
            }
        }
    }

    /// A duration for `time`: `500ms`, `2s`, or a bare number of milliseconds.
    static func duration(_ text: String) -> Duration? {
        if let millis = Double(text) {
            // Past some 285,000 years (or `inf`) the milliseconds do not fit in 64 bits: no duration.
            return millis >= 0 && millis < 9e15 ? .milliseconds(Int64(millis)) : nil
        }
        return try? DurationText.parse(text)
    }
}
