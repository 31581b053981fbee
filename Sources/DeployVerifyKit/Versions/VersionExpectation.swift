import Foundation

/// What version a check expects, written as on the command line:
///
/// | form | example | matches |
/// | --- | --- | --- |
/// | exact | `1.4.2` | the same text; a leading `v` on either side is ignored (`v1.4.2`) |
/// | range | `>=1.4.0 <2.0.0`, `^1.4`, `~1.4.2`, `1.4.x`, `1.2.0 - 1.4.9`, `^1 \|\| ^2` | any SemVer version in the range |
/// | prefix | `prefix:2026.11.` | text starting with what follows `prefix:` |
/// | regex | `regex:^1\.4\.\d+$` | text the regular expression finds a match in (anchor it for a whole match) |
///
/// A value starting with `<`, `>`, `=`, `^` or `~`, containing `||` or ` - `, or with an `x`/`*`
/// component is a range; anything else without a `prefix:`/`regex:` tag is exact.
package struct VersionExpectation: Sendable, CustomStringConvertible {
    package enum Form: Sendable {
        case exact(String)
        case range(VersionRange)
        case prefix(String)
        case regex(String)
    }

    package let form: Form
    /// As written.
    package let description: String
    private let expression: NSRegularExpressionBox?

    package struct SyntaxError: Error, CustomStringConvertible {
        package let description: String
    }

    package init(_ text: String) throws(SyntaxError) {
        let trimmed = text.trimmed
        guard !trimmed.isEmpty else { throw SyntaxError(description: "the expected version is empty") }
        description = trimmed
        if trimmed.hasPrefix("prefix:") {
            let prefix = String(trimmed.dropFirst(7))
            guard !prefix.isEmpty else { throw SyntaxError(description: "'prefix:' needs text after it") }
            form = .prefix(prefix)
            expression = nil
        } else if trimmed.hasPrefix("regex:") {
            let pattern = String(trimmed.dropFirst(6))
            guard let compiled = RegularExpressions.compile(pattern) else {
                throw SyntaxError(description: "'\(pattern)' is not a valid regular expression")
            }
            form = .regex(pattern)
            expression = NSRegularExpressionBox(compiled)
        } else if Self.looksLikeRange(trimmed) {
            do {
                form = .range(try VersionRange(trimmed))
            } catch {
                throw SyntaxError(description: error.description)
            }
            expression = nil
        } else {
            form = .exact(trimmed)
            expression = nil
        }
    }

    package func matches(_ actual: String) -> Bool {
        switch form {
        case .exact(let expected):
            return Self.withoutV(expected) == Self.withoutV(actual)
        case .range(let range):
            guard let version = SemanticVersion(actual) else { return false }
            return range.contains(version)
        case .prefix(let prefix):
            return actual.hasPrefix(prefix)
        case .regex:
            guard let expression = expression?.expression else { return false }
            return expression.firstMatch(in: actual, range: NSRange(actual.startIndex..., in: actual)) != nil
        }
    }

    /// Why `actual` does not match, for a report: "1.4.1 is below the range >=1.4.2".
    package func explainMismatch(_ actual: String) -> String? {
        guard !matches(actual) else { return nil }
        if case .range = form, SemanticVersion(actual) == nil {
            return "'\(actual)' is not a semantic version, so it cannot be in the range \(description)"
        }
        return nil
    }

    private static func withoutV(_ text: String) -> Substring {
        let trimmed = Substring(text)
        if (trimmed.first == "v" || trimmed.first == "V"), trimmed.dropFirst().first?.isNumber == true {
            return trimmed.dropFirst()
        }
        return trimmed
    }

    private static func looksLikeRange(_ text: String) -> Bool {
        if let first = text.first, "<>=^~".contains(first) { return true }
        if text.contains("||") || text.contains(" - ") || text == "*" { return true }
        let core = text.split(separator: "-", maxSplits: 1).first ?? ""
        return core.split(separator: ".").contains { $0 == "x" || $0 == "X" || $0 == "*" }
    }
}

/// `NSRegularExpression` is immutable and thread-safe, but not marked `Sendable`.
private final class NSRegularExpressionBox: @unchecked Sendable {
    let expression: NSRegularExpression
    init(_ expression: NSRegularExpression) { self.expression = expression }
}
