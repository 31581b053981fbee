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
            for (index, member) in object.members.enumerated() {
                if index > 0 { text += "," }
                JSONText.appendQuoted(member.key, to: &text)
                text += ":"
                member.value.serialize(into: &text)
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

/// A JSON object: members in document order, looked up by key. Small objects (most of them)
/// are searched in order; an index is built once an object grows past 12 members.
package struct JSONObject: Sendable, Equatable {
    private var storage: [(key: String, value: JSONValue)] = []
    private var index: [String: Int]?
    private static let indexThreshold = 12

    package init() {}

    package init(_ members: [(String, JSONValue)]) {
        for (key, value) in members { self[key] = value }
    }

    package var keys: [String] { storage.map(\.key) }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return storage.firstIndex { $0.key == key }
    }

    package subscript(key: String) -> JSONValue? {
        get { position(of: key).map { storage[$0].value } }
        set {
            if let newValue {
                if let position = position(of: key) {
                    storage[position].value = newValue
                } else {
                    storage.append((key, newValue))
                    if index != nil {
                        index![key] = storage.count - 1
                    } else if storage.count > Self.indexThreshold {
                        index = Dictionary(storage.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { _, last in last })
                    }
                }
            } else if let position = position(of: key) {
                storage.remove(at: position)
                if index != nil {
                    index = Dictionary(storage.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { _, last in last })
                }
            }
        }
    }

    package var members: [(key: String, value: JSONValue)] { storage }

    package var isEmpty: Bool { storage.isEmpty }

    package var count: Int { storage.count }

    /// Equal when they have the same members, in any order (as JSON objects are).
    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.storage.count == rhs.storage.count else { return false }
        return lhs.storage.allSatisfy { rhs[$0.key] == $0.value }
    }
}
