/// A path into a JSON document: `version`, `build.version`, `items[0].v`, `["key.with.dots"]`,
/// optionally starting with `$` or `$.` as Argo Rollouts and JSONPath users write it.
package struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    package enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    package let components: [Component]
    /// The path as the user wrote it.
    package let description: String

    package struct SyntaxError: Error, CustomStringConvertible {
        package let description: String
    }

    package init(_ text: String) throws(SyntaxError) {
        description = text
        var components: [Component] = []
        let characters = Array(text)
        var index = 0
        func fail(_ message: String) -> SyntaxError {
            SyntaxError(description: "invalid path '\(text)': \(message)")
        }
        if characters.first == "$" {
            index = 1
            if index < characters.count, characters[index] == "." { index += 1 }
        }
        guard index < characters.count else { throw fail("it is empty") }
        var expectKey = true
        while index < characters.count {
            let character = characters[index]
            if character == "[" {
                index += 1
                guard index < characters.count else { throw fail("'[' is not closed") }
                if characters[index] == "\"" || characters[index] == "'" {
                    let quote = characters[index]
                    index += 1
                    var key = ""
                    while index < characters.count, characters[index] != quote {
                        if characters[index] == "\\", index + 1 < characters.count { index += 1 }
                        key.append(characters[index])
                        index += 1
                    }
                    guard index + 1 < characters.count, characters[index + 1] == "]" else { throw fail("a quoted key must end with \(quote)]") }
                    index += 2
                    components.append(.key(key))
                } else {
                    var digits = ""
                    while index < characters.count, characters[index].isNumber, characters[index].isASCII {
                        digits.append(characters[index])
                        index += 1
                    }
                    guard !digits.isEmpty, index < characters.count, characters[index] == "]", let number = Int(digits) else {
                        throw fail("use [N] for an array index or [\"key\"] for a key")
                    }
                    index += 1
                    components.append(.index(number))
                }
                expectKey = false
            } else if character == "." {
                guard !components.isEmpty, !expectKey else { throw fail("unexpected '.'") }
                index += 1
                expectKey = true
                guard index < characters.count else { throw fail("it ends with '.'") }
            } else {
                guard expectKey || components.isEmpty else { throw fail("expected '.' or '[' before '\(character)'") }
                var key = ""
                while index < characters.count, characters[index] != ".", characters[index] != "[" {
                    if characters[index] == "]" { throw fail("unexpected ']'") }
                    key.append(characters[index])
                    index += 1
                }
                components.append(.key(key))
                expectKey = false
            }
        }
        self.components = components
    }

    /// The value at this path, or nil when any step is missing or of the wrong kind.
    package func value(in document: JSONValue) -> JSONValue? {
        var current = document
        for component in components {
            switch (component, current) {
            case (.key(let key), .object(let object)):
                guard let next = object[key] else { return nil }
                current = next
            case (.index(let index), .array(let array)):
                guard index < array.count else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }
}
