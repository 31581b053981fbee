/// A problem in a JSON file a tool reads (a checks file, a watch manifest): the file, where in
/// it (a JSON path such as `services[2].urls[0]`, or `line 3, column 8` for a syntax error) and
/// what is wrong. The tools exit 2 with it.
package struct JSONFileError: Error, CustomStringConvertible, Sendable {
    package var file: String
    package var location: String?
    package var message: String

    package init(file: String, location: String?, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    package var description: String {
        [file, location, message].compactMap { $0 }.joined(separator: ": ")
    }

    /// Parses the file's bytes; a syntax error names the line and column.
    package static func parse(_ bytes: [UInt8], file: String) throws(JSONFileError) -> JSONValue {
        do {
            return try JSONParser(rejectDuplicateKeys: true).parse(bytes)
        } catch {
            throw JSONFileError(file: file, location: "line \(error.line), column \(error.column)", message: error.message)
        }
    }

    /// Parses the file's bytes as YAML (`YAMLReader`); a syntax error, or something the reader
    /// refuses, names the line and column.
    package static func parseYAML(_ bytes: [UInt8], file: String) throws(JSONFileError) -> JSONValue {
        do {
            return try YAMLReader.parse(bytes)
        } catch {
            throw JSONFileError(file: file, location: "line \(error.line), column \(error.column)", message: error.message)
        }
    }
}

/// Typed reads out of a parsed JSON file, each error naming the JSON path. A file format's
/// reader conforms and walks its document with these.
package protocol JSONFileReading {
    var file: String { get }
}

extension JSONFileReading {
    package func error(_ path: String, _ message: String) -> JSONFileError {
        JSONFileError(file: file, location: path.isEmpty ? nil : path, message: message)
    }

    /// An object whose keys are all in `allowed` (a typo gets a suggestion).
    package func object(_ value: JSONValue, _ path: String, allowed: [String]) throws(JSONFileError) -> JSONObject {
        guard case .object(let object) = value else { throw error(path, "expected an object, found \(article(value))") }
        for key in object.keys where !allowed.contains(key) {
            var message = "unknown key '\(key)'"
            if let suggestion = ArgumentList.nearest(key, in: allowed) { message += " (did you mean '\(suggestion)'?)" }
            throw error(join(path, key), message + "; allowed: \(allowed.filter { $0 != "$schema" }.joined(separator: ", "))")
        }
        return object
    }

    /// A string (a number counts as its text); nil is reported as missing.
    package func string(_ value: JSONValue?, _ path: String) throws(JSONFileError) -> String {
        switch value {
        case .string(let text)?: return text
        case .number(let literal)?: return literal
        case nil: throw error(path, "missing")
        case let value?: throw error(path, "expected a string, found \(article(value))")
        }
    }

    package func bool(_ value: JSONValue, _ path: String) throws(JSONFileError) -> Bool {
        guard case .bool(let flag) = value else { throw error(path, "expected true or false, found \(article(value))") }
        return flag
    }

    /// A duration of more than zero: `500ms`, `5s`, `1m30s`.
    package func duration(_ value: JSONValue, _ path: String) throws(JSONFileError) -> Duration {
        let text = try string(value, path)
        let parsed: Duration
        do {
            parsed = try DurationText.parse(text)
        } catch {
            throw self.error(path, error.description)
        }
        guard parsed > .zero else { throw error(path, "the duration must be more than zero") }
        return parsed
    }

    package func integer(_ value: JSONValue, _ path: String, _ range: ClosedRange<Int>) throws(JSONFileError) -> Int {
        guard case .number(let literal) = value, let number = Int(literal), range.contains(number) else {
            throw error(path, "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(article(value))")
        }
        return number
    }

    /// An object of strings (headers, environment variables), in file order.
    package func stringMap(_ value: JSONValue, _ path: String) throws(JSONFileError) -> [(name: String, value: String)] {
        guard case .object(let object) = value else { throw error(path, "expected an object of strings, found \(article(value))") }
        var result: [(name: String, value: String)] = []
        for (key, item) in object.members {
            result.append((key, try string(item, join(path, key))))
        }
        return result
    }

    /// `path.key`, or `path["odd key"]`.
    package func join(_ path: String, _ key: String) -> String {
        let plain = key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "$" }
        if path.isEmpty { return plain ? key : "[\"\(key)\"]" }
        return plain ? "\(path).\(key)" : "\(path)[\"\(key)\"]"
    }

    /// `the string "abc"`, `an array`: what was found instead.
    package func article(_ value: JSONValue) -> String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string(let text): "the string \"\(text.prefix(40))\""
        case .number(let literal): "the number \(literal)"
        case .bool(let flag): flag ? "true" : "false"
        case .null: "null"
        }
    }
}
