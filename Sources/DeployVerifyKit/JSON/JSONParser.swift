/// Where and why a JSON text is invalid. `line` and `column` count from 1.
package struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    package let message: String
    package let offset: Int
    package let line: Int
    package let column: Int

    package var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 parser. Numbers keep their literal text; nesting is capped (a hostile body
/// cannot exhaust the stack); a duplicate key is an error when `rejectDuplicateKeys` is set (for
/// configuration files), and otherwise the last one wins.
package struct JSONParser {
    package var maxDepth = 512
    package var rejectDuplicateKeys = false

    package init(rejectDuplicateKeys: Bool = false) {
        self.rejectDuplicateKeys = rejectDuplicateKeys
    }

    package func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    package func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var reader = Reader(bytes: bytes, parser: self)
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        let parser: JSONParser
        var index = 0
        var depth = 0

        mutating func document() throws(JSONSyntaxError) -> JSONValue {
            // A UTF-8 byte order mark is tolerated.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            skipWhitespace()
            guard index < bytes.count else { throw error("empty document: expected a JSON value") }
            let value = try self.value()
            skipWhitespace()
            guard index == bytes.count else { throw error("unexpected text after the JSON value") }
            return value
        }

        mutating func value() throws(JSONSyntaxError) -> JSONValue {
            guard index < bytes.count else { throw error("unexpected end of document: expected a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character \(describe(bytes[index])): expected a value")
            }
        }

        mutating func object() throws(JSONSyntaxError) -> JSONValue {
            try enter()
            index += 1
            var object = JSONObject()
            skipWhitespace()
            if peek(UInt8(ascii: "}")) {
                index += 1
                depth -= 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of document inside an object") }
                guard peek(UInt8(ascii: "\"")) else { throw error("expected a string key in double quotes") }
                let keyStart = index
                let key = try string()
                if parser.rejectDuplicateKeys, object[key] != nil {
                    index = keyStart
                    throw error("duplicate key \"\(key)\"")
                }
                skipWhitespace()
                guard peek(UInt8(ascii: ":")) else { throw error("expected ':' after the key \"\(key)\"") }
                index += 1
                skipWhitespace()
                object[key] = try value()
                skipWhitespace()
                if peek(UInt8(ascii: ",")) {
                    index += 1
                    skipWhitespace()
                    if peek(UInt8(ascii: "}")) { throw error("trailing comma before '}'") }
                    continue
                }
                if peek(UInt8(ascii: "}")) {
                    index += 1
                    depth -= 1
                    return .object(object)
                }
                throw error(index < bytes.count ? "expected ',' or '}' in an object" : "unexpected end of document inside an object")
            }
        }

        mutating func array() throws(JSONSyntaxError) -> JSONValue {
            try enter()
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if peek(UInt8(ascii: "]")) {
                index += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value())
                skipWhitespace()
                if peek(UInt8(ascii: ",")) {
                    index += 1
                    skipWhitespace()
                    if peek(UInt8(ascii: "]")) { throw error("trailing comma before ']'") }
                    continue
                }
                if peek(UInt8(ascii: "]")) {
                    index += 1
                    depth -= 1
                    return .array(elements)
                }
                throw error(index < bytes.count ? "expected ',' or ']' in an array" : "unexpected end of document inside an array")
            }
        }

        mutating func string() throws(JSONSyntaxError) -> String {
            index += 1 // opening quote
            let start = index
            // Most strings have no escape: one scan, one decode.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw error("control character \(describe(byte)) inside a string (escape it)") }
                index += 1
            }
            var buffer = Array(bytes[start..<index])
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: buffer, as: UTF8.self)
                }
                if byte < 0x20 { throw error("control character \(describe(byte)) inside a string (escape it)") }
                index += 1
                if byte != UInt8(ascii: "\\") {
                    buffer.append(byte)
                    continue
                }
                guard index < bytes.count else { throw error("unterminated escape sequence") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escape)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    buffer.append(contentsOf: UTF8.encode(Unicode.Scalar(code)!)!)
                default:
                    index -= 1
                    throw error("invalid escape \\\(describe(escape))")
                }
            }
        }

        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("incomplete \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw error("invalid hexadecimal digit \(describe(byte)) in \\u escape")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }

        mutating func number() throws(JSONSyntaxError) -> JSONValue {
            let start = index
            if peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw error("invalid number: leading zero") }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if peek(UInt8(ascii: ".")) {
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit after '.'") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
                index += 1
                if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit in the exponent") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func literal(_ word: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw error("invalid literal: expected \(word)")
            }
            index += expected.count
            return value
        }

        mutating func enter() throws(JSONSyntaxError) {
            depth += 1
            guard depth <= parser.maxDepth else { throw error("nested more than \(parser.maxDepth) levels deep") }
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        func peek(_ byte: UInt8) -> Bool {
            index < bytes.count && bytes[index] == byte
        }

        func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        func describe(_ byte: UInt8) -> String {
            byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16, uppercase: true)
        }

        func error(_ message: String) -> JSONSyntaxError {
            var line = 1, column = 1
            var position = 0
            let end = min(index, bytes.count)
            while position < end {
                if bytes[position] == 0x0A {
                    line += 1
                    column = 1
                } else if bytes[position] & 0xC0 != 0x80 {
                    column += 1
                }
                position += 1
            }
            return JSONSyntaxError(message: message, offset: index, line: line, column: column)
        }
    }
}
