/// Writes compact JSON with a fixed key order (stable output that diffs and caches well).
/// Only what the endpoints need: objects, arrays, strings, numbers, booleans and null.
package struct JSONText {
    package private(set) var text = ""
    private var needsComma = [false]

    package init() {}

    package mutating func object(_ body: (inout JSONText) -> Void) {
        value { $0.text += "{" }
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text += "}"
    }

    package mutating func array(_ body: (inout JSONText) -> Void) {
        value { $0.text += "[" }
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text += "]"
    }

    /// Starts a member of the enclosing object; follow it with exactly one value.
    package mutating func key(_ name: String) {
        separate()
        Self.appendQuoted(name, to: &text)
        text += ":"
        pendingKey = true
    }

    package mutating func string(_ value: String?) {
        guard let value else { return null() }
        self.value { Self.appendQuoted(value, to: &$0.text) }
    }

    package mutating func number(_ value: Int) {
        self.value { $0.text += String(value) }
    }

    package mutating func number(_ value: Double) {
        self.value {
            if value.isFinite {
                $0.text += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            } else {
                $0.text += "null"
            }
        }
    }

    package mutating func bool(_ value: Bool) {
        self.value { $0.text += value ? "true" : "false" }
    }

    package mutating func null() {
        value { $0.text += "null" }
    }

    /// A value that is already JSON text (a nested document rendered elsewhere).
    package mutating func raw(_ json: String) {
        value { $0.text += json }
    }

    /// Convenience: `key` then a string (or null).
    package mutating func member(_ name: String, _ value: String?) {
        key(name)
        string(value)
    }

    private var pendingKey = false

    private mutating func value(_ write: (inout JSONText) -> Void) {
        if pendingKey {
            pendingKey = false
        } else {
            separate()
        }
        write(&self)
        needsComma[needsComma.count - 1] = true
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { text += "," }
    }

    package static func appendQuoted(_ string: String, to text: inout String) {
        text += "\""
        // Most strings need no escape: append them whole. (0xE2 leads U+2028 and U+2029.)
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != 0xE2 }) {
            text += string
            text += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{2028}": text += "\\u2028"
            case "\u{2029}": text += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
