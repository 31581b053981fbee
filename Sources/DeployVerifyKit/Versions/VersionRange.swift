/// An npm-style SemVer range: comparators joined by spaces (all must hold), alternatives joined
/// by `||`, and the shorthands `^1.4`, `~1.4.2`, `1.4.x`, `*`, `1.2.3 - 2.0.0`.
/// Pre-releases compare by SemVer precedence (`1.5.0-rc.1` satisfies `>=1.4.0 <2.0.0`), except
/// that an exclusive upper bound excludes its own pre-releases: `<2.0.0` does not admit
/// `2.0.0-rc.1`.
package struct VersionRange: Sendable, Hashable, CustomStringConvertible {
    package struct Comparator: Sendable, Hashable {
        package enum Operator: String, Sendable { case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", equal = "=" }
        package let op: Operator
        package let version: SemanticVersion

        func admits(_ candidate: SemanticVersion) -> Bool {
            switch op {
            case .less: candidate < version
            case .lessOrEqual: candidate <= version
            case .greater: candidate > version
            case .greaterOrEqual: candidate >= version
            case .equal: candidate == version
            }
        }
    }

    /// Alternatives; each is a list of comparators that must all hold (empty: any version).
    package let alternatives: [[Comparator]]
    package let description: String

    package struct SyntaxError: Error, CustomStringConvertible {
        package let description: String
    }

    package init(_ text: String) throws(SyntaxError) {
        description = text
        var alternatives: [[Comparator]] = []
        for alternative in text.components(separatedBy: "||") {
            let tokens = Self.tokens(alternative)
            if tokens.isEmpty {
                throw SyntaxError(description: "invalid range '\(text)': an empty alternative")
            }
            var comparators: [Comparator] = []
            var index = 0
            while index < tokens.count {
                if index + 2 < tokens.count, tokens[index + 1] == "-" {
                    comparators += try Self.hyphen(tokens[index], tokens[index + 2], in: text)
                    index += 3
                } else {
                    comparators += try Self.comparators(tokens[index], in: text)
                    index += 1
                }
            }
            alternatives.append(comparators)
        }
        self.alternatives = alternatives
    }

    package func contains(_ version: SemanticVersion) -> Bool {
        alternatives.contains { $0.allSatisfy { $0.admits(version) } }
    }

    /// Splits on whitespace, keeping an operator together with its version (`>= 1.4` → `>=1.4`).
    private static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) {
            if let last = tokens.last, ["<", "<=", ">", ">=", "=", "^", "~"].contains(last) {
                tokens[tokens.count - 1] = last + word
            } else {
                tokens.append(word)
            }
        }
        return tokens
    }

    /// A possibly partial version with wildcards: `1`, `1.4`, `1.4.x`, `*`, `1.4.2-rc.1`.
    private struct Partial {
        var major: Int?
        var minor: Int?
        var patch: Int?
        var prerelease: [SemanticVersion.Identifier] = []

        init(_ text: String, range: String) throws(SyntaxError) {
            var core = Substring(text)
            if core.first == "v" || core.first == "V" { core = core.dropFirst() }
            if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
            if let dash = core.firstIndex(of: "-") {
                guard let full = SemanticVersion(String(text.drop { $0 == "v" || $0 == "V" })) else {
                    throw SyntaxError(description: "invalid range '\(range)': '\(text)' is not a version")
                }
                prerelease = full.prerelease
                core = core[..<dash]
            }
            let parts = core.split(separator: ".", omittingEmptySubsequences: false)
            guard (1...3).contains(parts.count) else {
                throw SyntaxError(description: "invalid range '\(range)': '\(text)' is not a version")
            }
            var numbers: [Int?] = []
            var wildcardSeen = false
            for part in parts {
                if part == "x" || part == "X" || part == "*" {
                    wildcardSeen = true
                    numbers.append(nil)
                } else if let number = Int(part), number >= 0, !wildcardSeen, part.allSatisfy(\.isNumber) {
                    numbers.append(number)
                } else {
                    throw SyntaxError(description: "invalid range '\(range)': '\(text)' is not a version")
                }
            }
            while numbers.count < 3 { numbers.append(nil) }
            major = numbers[0]
            minor = numbers[1]
            patch = numbers[2]
            if !prerelease.isEmpty, patch == nil {
                throw SyntaxError(description: "invalid range '\(range)': a pre-release needs a full version in '\(text)'")
            }
        }

        var lowest: SemanticVersion { SemanticVersion(major ?? 0, minor ?? 0, patch ?? 0, prerelease: prerelease) }
    }

    /// The lowest pre-release of a version: everything in `[x.y.z-0, x.y.z)` sorts before `x.y.z`.
    private static func floor(_ major: Int, _ minor: Int, _ patch: Int) -> SemanticVersion {
        SemanticVersion(major, minor, patch, prerelease: [.numeric(0)])
    }

    private static func comparators(_ token: String, in range: String) throws(SyntaxError) -> [Comparator] {
        var op = ""
        var rest = Substring(token)
        for candidate in [">=", "<=", ">", "<", "=", "^", "~"] where rest.hasPrefix(candidate) {
            op = candidate
            rest = rest.dropFirst(candidate.count)
            break
        }
        if rest.hasPrefix(">") || rest.hasPrefix("<") || rest.hasPrefix("=") || rest.isEmpty {
            throw SyntaxError(description: "invalid range '\(range)': cannot read '\(token)'")
        }
        let partial = try Partial(String(rest), range: range)
        guard let major = partial.major else {
            // `*`, `x`: any version (and `<*` or `>*`: none).
            return op == "<" || op == ">" ? [Comparator(op: .less, version: SemanticVersion(0, 0, 0, prerelease: [.numeric(0)]))] : []
        }
        let minor = partial.minor, patch = partial.patch
        switch op {
        case "^":
            let lower = partial.lowest
            let upper: SemanticVersion
            if major > 0 || minor == nil {
                upper = floor(major + 1, 0, 0)
            } else if minor! > 0 || patch == nil {
                upper = floor(0, minor! + 1, 0)
            } else {
                upper = floor(0, 0, patch! + 1)
            }
            return [Comparator(op: .greaterOrEqual, version: lower), Comparator(op: .less, version: upper)]
        case "~":
            let upper = minor == nil ? floor(major + 1, 0, 0) : floor(major, minor! + 1, 0)
            return [Comparator(op: .greaterOrEqual, version: partial.lowest), Comparator(op: .less, version: upper)]
        case "", "=":
            guard let minor else {
                return [Comparator(op: .greaterOrEqual, version: partial.lowest), Comparator(op: .less, version: floor(major + 1, 0, 0))]
            }
            guard patch != nil else {
                return [Comparator(op: .greaterOrEqual, version: partial.lowest), Comparator(op: .less, version: floor(major, minor + 1, 0))]
            }
            return [Comparator(op: .equal, version: partial.lowest)]
        case ">":
            guard let minor else { return [Comparator(op: .greaterOrEqual, version: SemanticVersion(major + 1, 0, 0))] }
            guard patch != nil else { return [Comparator(op: .greaterOrEqual, version: SemanticVersion(major, minor + 1, 0))] }
            return [Comparator(op: .greater, version: partial.lowest)]
        case ">=":
            return [Comparator(op: .greaterOrEqual, version: partial.lowest)]
        case "<":
            // "Below 2.0.0" means below its pre-releases too.
            return [Comparator(op: .less, version: partial.prerelease.isEmpty ? floor(major, minor ?? 0, patch ?? 0) : partial.lowest)]
        case "<=":
            guard let minor else { return [Comparator(op: .less, version: floor(major + 1, 0, 0))] }
            guard patch != nil else { return [Comparator(op: .less, version: floor(major, minor + 1, 0))] }
            return [Comparator(op: .lessOrEqual, version: partial.lowest)]
        default:
            throw SyntaxError(description: "invalid range '\(range)': cannot read '\(token)'")
        }
    }

    private static func hyphen(_ low: String, _ high: String, in range: String) throws(SyntaxError) -> [Comparator] {
        let lower = try Partial(low, range: range)
        let upper = try Partial(high, range: range)
        var result = [Comparator(op: .greaterOrEqual, version: lower.lowest)]
        if let major = upper.major {
            if let minor = upper.minor {
                result.append(upper.patch == nil ? Comparator(op: .less, version: floor(major, minor + 1, 0))
                    : Comparator(op: .lessOrEqual, version: upper.lowest))
            } else {
                result.append(Comparator(op: .less, version: floor(major + 1, 0, 0)))
            }
        }
        return result
    }
}
