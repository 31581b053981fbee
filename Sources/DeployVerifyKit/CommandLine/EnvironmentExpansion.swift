/// `${NAME}` expansion in command-line values and configuration files. An undefined name is
/// an error, never an empty string: a missing token must not turn into a request without one.
package enum EnvironmentExpansion {
    package struct UndefinedVariable: Error, CustomStringConvertible, Equatable {
        package let name: String
        package var description: String { "${\(name)} is not defined" }
    }

    /// Expands `${NAME}`; `$${` writes a literal `${`. Returns the text and the names used.
    package static func expand(_ text: String, lookup: (String) -> String?) throws(UndefinedVariable) -> (text: String, names: [String]) {
        if !text.utf8.contains(UInt8(ascii: "$")) { return (text, []) }
        var result = ""
        var names: [String] = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[dollar...]
            if after.hasPrefix("$${") {
                result += "${"
                rest = after.dropFirst(3)
                continue
            }
            guard after.hasPrefix("${"), let close = after.firstIndex(of: "}") else {
                result += "$"
                rest = after.dropFirst()
                continue
            }
            let name = String(after[after.index(after.startIndex, offsetBy: 2)..<close])
            guard let value = lookup(name) else { throw UndefinedVariable(name: name) }
            result += value
            names.append(name)
            rest = after[after.index(after: close)...]
        }
        result += rest
        return (result, names)
    }
}
