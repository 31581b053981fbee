import InfoEndpoint

/// A JSON document as written: object keys keep their order, numbers keep their literal text
/// (`1.10` stays `1.10`, which matters when a version is a number).
package indirect enum JSONValue: Sendable, Equatable {
    case object(JSONObject)
    case array([JSONValue])
    case string(String)
    /// The number exactly as written in the document.
    case number(String)
    case bool(Bool)
    case null

    /// The value as text, for strings and numbers (a number's literal); nil for anything else.
    package var scalarText: String? {
        switch self {
        case .string(let text), .number(let text): text
        default: nil
        }
    }

    /// `object`, `array`, `string`, `number`, `boolean` or `null`, for messages.
    package var kindName: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        }
    }

    package subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    package var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    package var arrayValue: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// Compact JSON text for this value.
    package var serialized: String {
        var text = ""
        serialize(into: &text)
        return text
    }

    private func serialize(into text: inout String) {
        switch self {
        case .object(let object):
            text += "{"
            for (index, key) in object.keys.enumerated() {
                if index > 0 { text += "," }
                JSONText.appendQuoted(key, to: &text)
                text += ":"
                object[key]!.serialize(into: &text)
            }
            text += "}"
        case .array(let array):
            text += "["
            for (index, element) in array.enumerated() {
                if index > 0 { text += "," }
                element.serialize(into: &text)
            }
            text += "]"
        case .string(let string):
            JSONText.appendQuoted(string, to: &text)
        case .number(let literal):
            text += literal
        case .bool(let value):
            text += value ? "true" : "false"
        case .null:
            text += "null"
        }
    }
}

/// A JSON object: members in document order, looked up by key.
package struct JSONObject: Sendable, Equatable {
    package private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    package init() {}

    package init(_ members: [(String, JSONValue)]) {
        for (key, value) in members { self[key] = value }
    }

    package subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    package var members: [(key: String, value: JSONValue)] {
        keys.map { ($0, values[$0]!) }
    }

    package var isEmpty: Bool { keys.isEmpty }
}
