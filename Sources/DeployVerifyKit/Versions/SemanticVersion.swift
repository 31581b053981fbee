/// A Semantic Versioning 2.0.0 version. Parsing accepts a leading `v` (`v1.4.2`), as tags
/// usually carry one.
package struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    package enum Identifier: Sendable, Hashable, Comparable {
        case numeric(Int)
        case alphanumeric(String)

        /// SemVer §11: numeric identifiers sort below alphanumeric ones, numerically among
        /// themselves; alphanumeric ones sort in ASCII order.
        package static func < (lhs: Identifier, rhs: Identifier) -> Bool {
            switch (lhs, rhs) {
            case (.numeric(let a), .numeric(let b)): a < b
            case (.numeric, .alphanumeric): true
            case (.alphanumeric, .numeric): false
            case (.alphanumeric(let a), .alphanumeric(let b)): Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
            }
        }
    }

    package var major: Int
    package var minor: Int
    package var patch: Int
    package var prerelease: [Identifier]
    /// Build metadata (`+build.5`): kept, but ignored by comparison (SemVer §10).
    package var build: String?

    package init(_ major: Int, _ minor: Int, _ patch: Int, prerelease: [Identifier] = [], build: String? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    /// Parses `1.4.2`, `v1.4.2`, `1.4.2-rc.1`, `1.4.2+build.5`; nil for anything else.
    package init?(_ text: String) {
        var rest = Substring(text)
        if rest.first == "v" || rest.first == "V" { rest = rest.dropFirst() }
        var build: String?
        if let plus = rest.firstIndex(of: "+") {
            build = String(rest[rest.index(after: plus)...])
            guard let build, Self.validIdentifiers(build, numericLeadingZerosAllowed: true) else { return nil }
            rest = rest[..<plus]
        }
        var prerelease: [Identifier] = []
        if let dash = rest.firstIndex(of: "-") {
            let text = String(rest[rest.index(after: dash)...])
            guard Self.validIdentifiers(text, numericLeadingZerosAllowed: false) else { return nil }
            prerelease = text.split(separator: ".").map { part in
                Int(part).map(Identifier.numeric) ?? .alphanumeric(String(part))
            }
            rest = rest[..<dash]
        }
        let numbers = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3, let major = Self.number(numbers[0]), let minor = Self.number(numbers[1]),
              let patch = Self.number(numbers[2]) else { return nil }
        self.init(major, minor, patch, prerelease: prerelease, build: build)
    }

    package static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        if lhs.major != rhs.major { return lhs.major < rhs.major }
        if lhs.minor != rhs.minor { return lhs.minor < rhs.minor }
        if lhs.patch != rhs.patch { return lhs.patch < rhs.patch }
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, true): return false
        case (true, false): return false // a release outranks its pre-releases
        case (false, true): return true
        case (false, false): return lhs.prerelease.lexicographicallyPrecedes(rhs.prerelease)
        }
    }

    /// Equality by precedence: build metadata is ignored.
    package static func == (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        lhs.major == rhs.major && lhs.minor == rhs.minor && lhs.patch == rhs.patch && lhs.prerelease == rhs.prerelease
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    package var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty {
            text += "-" + prerelease.map { identifier in
                switch identifier {
                case .numeric(let number): String(number)
                case .alphanumeric(let text): text
                }
            }.joined(separator: ".")
        }
        if let build { text += "+" + build }
        return text
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 18, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              text == "0" || text.first != "0" else { return nil }
        return Int(text)
    }

    private static func validIdentifiers(_ text: String, numericLeadingZerosAllowed: Bool) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { part in
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { return false }
            if !numericLeadingZerosAllowed, part.allSatisfy(\.isNumber), part.count > 1, part.first == "0" { return false }
            return true
        }
    }
}
