/// A bad command line: the message names the flag and what is wrong. CLIs exit 2 with it.
package struct UsageError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Hand-written command-line parsing (Foundation only): `--name value`, `--name=value`, flags,
/// repeatable options, positional arguments, and `--` to end options.
package struct ArgumentList {
    /// How the options of one command are declared.
    package struct Spec {
        /// Options without a value (`--quiet`), with their short aliases (`-q`).
        package var flags: [String: [String]] = [:]
        /// Options taking a value (`--wait 5m`), with short aliases.
        package var options: [String: [String]] = [:]
        /// Options that may be given more than once (`--header`).
        package var repeatable: Set<String> = []
        /// Describes the value each option takes, for "needs a value" messages.
        package var valueHints: [String: String] = [:]

        package init() {}

        package mutating func flag(_ name: String, _ aliases: String...) { flags[name] = aliases }

        package mutating func option(_ name: String, _ aliases: String..., hint: String, repeatable: Bool = false) {
            options[name] = aliases
            valueHints[name] = hint
            if repeatable { self.repeatable.insert(name) }
        }
    }

    package private(set) var positional: [String] = []
    private var flagsSeen: Set<String> = []
    private var values: [String: [String]] = [:]

    package init(_ arguments: some Sequence<String>, spec: Spec) throws(UsageError) {
        var aliasTable: [String: String] = [:]
        for (name, aliases) in spec.flags.merging(spec.options, uniquingKeysWith: { a, _ in a }) {
            aliasTable[name] = name
            for alias in aliases { aliasTable[alias] = name }
        }
        var iterator = Array(arguments).makeIterator()
        var optionsEnded = false
        while let argument = iterator.next() {
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                positional.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            var name = argument
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            guard let canonical = aliasTable[name] else {
                var message = "unknown option \(name)"
                if let suggestion = Self.nearest(name, in: Array(aliasTable.keys).filter { $0.hasPrefix("--") }) {
                    message += " (did you mean \(suggestion)?)"
                }
                throw UsageError(message)
            }
            if spec.flags[canonical] != nil {
                if inline != nil { throw UsageError("\(canonical) takes no value") }
                flagsSeen.insert(canonical)
                continue
            }
            let hint = spec.valueHints[canonical].map { " (\($0))" } ?? ""
            let value: String
            if let inline {
                value = inline
            } else {
                guard let next = iterator.next(), !(next.hasPrefix("--") && next.count > 2) else {
                    throw UsageError("\(canonical) needs a value\(hint)")
                }
                value = next
            }
            if values[canonical] != nil, !spec.repeatable.contains(canonical) {
                throw UsageError("\(canonical) is given more than once")
            }
            values[canonical, default: []].append(value)
        }
    }

    package func has(_ flag: String) -> Bool { flagsSeen.contains(flag) }

    package func value(_ option: String) -> String? { values[option]?.last }

    package func values(_ option: String) -> [String] { values[option] ?? [] }

    /// A typed value; `parse` throws a message about the value, which gets the option's name.
    package func value<T>(_ option: String, _ parse: (String) throws -> T) throws(UsageError) -> T? {
        guard let text = value(option) else { return nil }
        do {
            return try parse(text)
        } catch {
            throw UsageError("\(option): \(error)")
        }
    }

    /// The closest name by edit distance, if it is close enough to be a likely typo.
    package static func nearest(_ name: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(name, $0)) }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        guard let (candidate, score) = scored, score <= max(2, name.count / 3) else { return nil }
        return candidate
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Messages from parsers that `ArgumentList.value(_:_:)` prefixes with the option name.
package struct ValueError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
