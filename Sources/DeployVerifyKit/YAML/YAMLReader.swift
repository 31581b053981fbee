/// Reads one YAML document into a `JSONValue`, for configuration files written in YAML rather
/// than JSON (watch manifests). Object keys keep their order; numbers keep their literal text.
///
/// What it reads is the part of YAML 1.2 that configuration files use: block mappings and
/// sequences (compact forms included), flow collections, plain, quoted and block scalars,
/// comments, one document with optional `---` and `...`. Plain scalars resolve by the YAML 1.2
/// core schema (`yes`, `no`, `on`, `off` stay text). Everything else is refused with a line and
/// column rather than read some way the author may not have meant: anchors, aliases, tags, merge
/// keys, complex keys, directives, several documents, duplicate keys, tabs in indentation, and
/// numbers JSON cannot write as they are written (`0x1F`, `007`, `.inf`).
package enum YAMLReader {
    /// Collections nested deeper than this are refused (the reader recurses once per level).
    package static let maxDepth = 512

    package static func parse(_ text: String) throws(YAMLSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    package static func parse(_ bytes: [UInt8]) throws(YAMLSyntaxError) -> JSONValue {
        var parser = try YAMLParser(bytes)
        return try parser.document()
    }
}

/// Where and why a YAML text is invalid or uses something the reader does not support.
/// `line` and `column` count from 1 (the column in characters).
package struct YAMLSyntaxError: Error, Equatable, CustomStringConvertible, Sendable {
    package let line: Int
    package let column: Int
    package let message: String

    package init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String { "line \(line), column \(column): \(message)" }
}

/// The reader's state: the text (line breaks normalized to LF, byte order mark removed) and a
/// position in it. Block structure is read line by line: every block-level function returns
/// positioned at the first character of the next line with content (or at the end).
struct YAMLParser {
    let bytes: [UInt8]
    var index = 0
    /// Where the line `index` is on starts; updated whenever a line break is consumed.
    var lineStart = 0
    var depth = 0
    /// The indentation of the block collection that last returned, for indentation messages.
    var lastBlockIndent: Int?

    init(_ input: [UInt8]) throws(YAMLSyntaxError) {
        bytes = Self.normalized(input)
        try validateCharacters()
    }

    // MARK: Document

    mutating func document() throws(YAMLSyntaxError) -> JSONValue {
        try nextContentLine()
        if column == 0, current == Byte.percent {
            throw error("directives (%YAML, %TAG) are not supported: remove the line")
        }
        let value: JSONValue
        var rootIndent = 0
        if isDocumentMarker(Byte.dash) {
            index += 3
            skipInlineSpace()
            if atLineEnd {
                try finishLine()
                try nextContentLine()
                rootIndent = column
                value = try rootNode()
            } else {
                value = try inlineNode(parent: -1, owner: "'---'")
            }
        } else {
            rootIndent = column
            value = try rootNode()
        }
        if atEnd { return value }
        if isDocumentMarker(Byte.dot) {
            index += 3
            try finishLine()
            try nextContentLine()
            if atEnd { return value }
            if isDocumentMarker(Byte.dash) || (column == 0 && current == Byte.percent) {
                throw error("a second document: only one document per file is supported")
            }
            throw error("content after the end of the document ('...')")
        }
        if isDocumentMarker(Byte.dash) {
            throw error("a second document ('---' after content): only one document per file is supported")
        }
        if column < rootIndent {
            throw error("bad indentation: this line is less indented than the start of the document (\(rootIndent) spaces)")
        }
        if column > rootIndent, let child = lastBlockIndent, column < child {
            throw error("bad indentation: this line is indented \(column) spaces, which matches no level above (\(rootIndent) or \(child))")
        }
        throw error("unexpected content: the document's top-level value is already complete")
    }

    /// The top-level node, at the current content line (or nothing: null).
    mutating func rootNode() throws(YAMLSyntaxError) -> JSONValue {
        if lineIndent < 0 { return .null }
        return try blockNode(parent: -1)
    }

    // MARK: Block structure

    /// A node that starts at the current position, at the start of its line's content or after
    /// `- `: a block sequence, a block mapping, or a scalar or flow collection. `parent` is the
    /// indentation of the enclosing block (-1 at the top).
    mutating func blockNode(parent: Int) throws(YAMLSyntaxError) -> JSONValue {
        if isSequenceEntry { return .array(try blockSequence(indent: column, compact: false)) }
        if startsMappingEntry() { return .object(try blockMapping(indent: column)) }
        return try scalarOrFlowNode(parent: parent)
    }

    /// The value on the same line as its key (or `---`): anything but a block collection.
    mutating func inlineNode(parent: Int, owner: @autoclosure () -> String) throws(YAMLSyntaxError) -> JSONValue {
        if isSequenceEntry {
            throw error("a block sequence cannot start on the same line as \(owner()): put the '- ' entries on the lines below, indented")
        }
        return try scalarOrFlowNode(parent: parent)
    }

    /// `- ` entries at `indent`. `compact`: the sequence is the value of a key at the same
    /// indentation (`key:` then `- a` below it, not indented), so a line at `indent` that is
    /// not an entry belongs to that mapping.
    mutating func blockSequence(indent: Int, compact: Bool) throws(YAMLSyntaxError) -> [JSONValue] {
        try enter()
        defer { depth -= 1 }
        var items: [JSONValue] = []
        while true {
            let entryStart = index
            index += 1
            skipInlineSpace()
            lastBlockIndent = nil
            if atLineEnd {
                try finishLine()
                try nextContentLine()
                items.append(lineIndent > indent ? try blockNode(parent: indent) : .null)
            } else {
                items.append(try blockNode(parent: indent))
            }
            let next = lineIndent
            if next == indent, isSequenceEntry { continue }
            if next < indent || (next == indent && compact) {
                lastBlockIndent = indent
                return items
            }
            if next == indent {
                throw error("expected '- ': this line lines up with the entries of the sequence above (a sequence and a mapping cannot share an indentation)")
            }
            throw misindented(level: indent, of: "the '-' entries of the sequence above", valueStart: entryStart)
        }
    }

    /// `key: value` lines at `indent`.
    mutating func blockMapping(indent: Int) throws(YAMLSyntaxError) -> JSONObject {
        try enter()
        defer { depth -= 1 }
        var object = JSONObject()
        while true {
            if isSequenceEntry {
                throw error("expected a key: this '- ' entry lines up with the keys of the mapping above")
            }
            let keyStart = index
            let key = try blockKey()
            if object[key] != nil { throw error("duplicate key '\(key)'", at: keyStart) }
            skipInlineSpace()
            lastBlockIndent = nil
            let value: JSONValue
            if atLineEnd {
                try finishLine()
                try nextContentLine()
                let next = lineIndent
                if next > indent {
                    value = try blockNode(parent: indent)
                } else if next == indent, isSequenceEntry {
                    value = .array(try blockSequence(indent: indent, compact: true))
                } else {
                    value = .null
                }
            } else {
                value = try inlineNode(parent: indent, owner: "its key '\(key)'")
            }
            object[key] = value
            let next = lineIndent
            if next == indent { continue }
            if next < indent {
                lastBlockIndent = indent
                return object
            }
            throw misindented(level: indent, of: "the keys of the mapping above", valueStart: keyStart)
        }
    }

    /// The key of a block mapping entry, up to and including its `:`.
    mutating func blockKey() throws(YAMLSyntaxError) -> String {
        let start = index
        let key: String
        switch current {
        case Byte.doubleQuote, Byte.singleQuote:
            let line = lineStart
            key = current == Byte.doubleQuote ? try doubleQuoted() : try singleQuoted()
            if lineStart != line { throw error("a key must be on a single line", at: start) }
            skipInlineSpace()
        case Byte.leftBracket, Byte.leftBrace:
            throw error("a flow collection cannot be a key: keys must be strings")
        default:
            try checkNodeStart(flow: false)
            let end = plainLineEnd(flow: false)
            key = try plainKey(bytes[start..<end], at: start)
        }
        guard current == Byte.colon, Self.isBlank(byte(1)) else {
            if current == Byte.colon { throw error("expected a space after ':'", at: index + 1) }
            throw error("expected ':' after the key '\(key)' (each line of a mapping is 'key: value')", at: start)
        }
        index += 1
        return key
    }

    /// A plain scalar used as a key: its text, unless YAML would read it as null or as
    /// something JSON cannot hold.
    func plainKey(_ text: ArraySlice<UInt8>, at start: Int) throws(YAMLSyntaxError) -> String {
        let key = String(decoding: text, as: UTF8.self)
        if key == "<<" { throw error("merge keys ('<<') are not supported: write the keys out", at: start) }
        if try resolve(key, at: start) == .null {
            throw error(key.isEmpty ? "a key is missing before ':'" : "a null key ('\(key)') is not supported: keys must be strings (quote it)", at: start)
        }
        return key
    }

    /// A scalar or flow collection, not a block collection; ends at the next content line.
    mutating func scalarOrFlowNode(parent: Int) throws(YAMLSyntaxError) -> JSONValue {
        let start = index
        switch current {
        case Byte.pipe, Byte.greater:
            return .string(try blockScalar(parent: parent))
        case Byte.doubleQuote, Byte.singleQuote:
            let text = current == Byte.doubleQuote ? try doubleQuoted() : try singleQuoted()
            try finishLine()
            try nextContentLine()
            return .string(text)
        case Byte.leftBracket, Byte.leftBrace:
            let value = current == Byte.leftBracket ? try flowSequence() : try flowMapping()
            try finishLine(colon: "a flow collection cannot be a key: keys must be strings")
            try nextContentLine()
            return value
        default:
            try checkNodeStart(flow: false)
            let text = try plainScalar(parent: parent, flow: false).text
            let value = try resolve(text, at: start)
            try finishLine()
            try nextContentLine()
            return value
        }
    }

    /// Refuses what cannot start a scalar here: the features this reader does not support and
    /// indicators that YAML reserves.
    func checkNodeStart(flow: Bool) throws(YAMLSyntaxError) {
        let next = byte(1)
        let nextEndsPlain = Self.isBlank(next) || (flow && Self.isFlowIndicator(next))
        switch current {
        case Byte.ampersand: throw error("anchors ('&name') are not supported: repeat the value instead")
        case Byte.asterisk: throw error("aliases ('*name') are not supported: repeat the value instead")
        case Byte.exclamation: throw error("tags ('!tag') are not supported: remove the tag (quote the value for a string)")
        case Byte.percent, Byte.at, Byte.backtick, Byte.comma, Byte.rightBracket, Byte.rightBrace, Byte.hash:
            throw error("\(describe(current)) cannot start a plain value: quote the value")
        case Byte.pipe where flow, Byte.greater where flow:
            throw error("block scalars ('|', '>') cannot be used inside a flow collection")
        case Byte.question where nextEndsPlain:
            throw error("complex keys ('? ') are not supported: write 'key: value'")
        case Byte.colon where nextEndsPlain:
            throw error("a key is missing before ':'")
        case Byte.dash where nextEndsPlain:
            throw error(flow ? "a block sequence entry ('- ') cannot be used inside a flow collection" : "'-' cannot start a plain value here: quote the value")
        default:
            break
        }
    }

    /// The indentation error for a line more indented than the `level` of the block that just
    /// read a complete entry (starting at `valueStart`).
    func misindented(level: Int, of what: String, valueStart: Int) -> YAMLSyntaxError {
        if let child = lastBlockIndent, column < child {
            return error("bad indentation: this line is indented \(column) spaces, which matches neither \(what) (\(level)) nor the block nested in it (\(child))")
        }
        return error("bad indentation: this line is more indented than \(what), but the entry on line \(lineNumber(of: valueStart)) already has its value; a key or '-' with its value on the same line cannot also have indented content below it")
    }

    // MARK: Lines

    /// From the start of a line: skips blank and comment-only lines and stops at the first
    /// character of the next line with content (or at the end). A tab in the indentation of a
    /// content line is refused.
    mutating func nextContentLine() throws(YAMLSyntaxError) {
        while index < bytes.count {
            var position = index
            while position < bytes.count, bytes[position] == Byte.space { position += 1 }
            var first = position < bytes.count ? bytes[position] : 0
            if first == Byte.tab {
                let tab = position
                while position < bytes.count, bytes[position] == Byte.space || bytes[position] == Byte.tab { position += 1 }
                first = position < bytes.count ? bytes[position] : 0
                if first != Byte.newline, first != 0, first != Byte.hash {
                    throw error("a tab character in the indentation: indent with spaces", at: tab)
                }
            }
            if first == Byte.hash {
                while position < bytes.count, bytes[position] != Byte.newline { position += 1 }
                first = position < bytes.count ? Byte.newline : 0
            }
            if first == Byte.newline {
                index = position + 1
                lineStart = index
                continue
            }
            index = position
            return
        }
    }

    /// After a value on its line: only white space and a comment may follow, then the line break.
    mutating func finishLine(colon: String? = nil) throws(YAMLSyntaxError) {
        skipInlineSpace()
        switch current {
        case 0:
            return
        case Byte.newline:
            index += 1
            lineStart = index
        case Byte.hash:
            guard index > lineStart, Self.isSpace(bytes[index - 1]) else {
                throw error("a comment needs white space before '#'")
            }
            while index < bytes.count, bytes[index] != Byte.newline { index += 1 }
            if index < bytes.count {
                index += 1
                lineStart = index
            }
        case Byte.colon:
            throw error(colon ?? "unexpected ':': a nested mapping must start on its own line (quote the value if ': ' is part of the text)")
        default:
            throw error("unexpected \(describe(current)) after the value: only a comment may follow it on this line")
        }
    }

    /// The indentation of the current content line; -1 at the end or at a document marker
    /// (which closes every block).
    var lineIndent: Int {
        if atEnd || (column == 0 && isDocumentMarker(at: index)) { return -1 }
        return column
    }

    var isSequenceEntry: Bool { current == Byte.dash && Self.isBlank(byte(1)) }

    /// Whether the current line is a `key: value` entry (the key is a quoted or plain scalar
    /// on this line, at most 1024 characters as YAML allows, followed by `: `).
    func startsMappingEntry() -> Bool {
        let limit = min(bytes.count, index + 4096)
        var position = index
        switch current {
        case Byte.doubleQuote, Byte.singleQuote:
            let quote = current
            position += 1
            while position < limit {
                let byte = bytes[position]
                if byte == Byte.newline { return false }
                if byte == quote {
                    if quote == Byte.singleQuote, position + 1 < limit, bytes[position + 1] == quote {
                        position += 2
                        continue
                    }
                    break
                }
                position += byte == Byte.backslash && quote == Byte.doubleQuote && position + 1 < limit && bytes[position + 1] != Byte.newline ? 2 : 1
            }
            guard position < limit else { return false }
            position += 1
            while position < bytes.count, Self.isSpace(bytes[position]) { position += 1 }
            return position < bytes.count && bytes[position] == Byte.colon && Self.isBlank(position + 1 < bytes.count ? bytes[position + 1] : 0)
        case Byte.leftBracket, Byte.leftBrace, Byte.ampersand, Byte.asterisk, Byte.exclamation, Byte.pipe, Byte.greater:
            return false
        default:
            while position < limit {
                let byte = bytes[position]
                if byte == Byte.newline { return false }
                if byte == Byte.colon, Self.isBlank(position + 1 < bytes.count ? bytes[position + 1] : 0) { return true }
                if byte == Byte.hash, position > index, Self.isSpace(bytes[position - 1]) { return false }
                position += 1
            }
            return false
        }
    }

    // MARK: Position helpers

    /// The current byte; 0 at the end (a NUL in the text is refused up front).
    var current: UInt8 { index < bytes.count ? bytes[index] : 0 }

    func byte(_ offset: Int) -> UInt8 {
        let position = index + offset
        return position < bytes.count ? bytes[position] : 0
    }

    var atEnd: Bool { index >= bytes.count }

    /// The column in bytes from the start of the line: the indentation, at a line's content.
    var column: Int { index - lineStart }

    /// At a line break, the end, or a comment.
    var atLineEnd: Bool { current == Byte.newline || current == 0 || current == Byte.hash }

    mutating func skipInlineSpace() {
        while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
    }

    /// `---` (with `marker` `-`) or `...` at the current position, at the start of a line.
    func isDocumentMarker(_ marker: UInt8) -> Bool {
        column == 0 && current == marker && isDocumentMarker(at: index)
    }

    /// `---` or `...` at `position`, followed by white space or the end.
    func isDocumentMarker(at position: Int) -> Bool {
        guard position + 2 < bytes.count else { return false }
        let first = bytes[position]
        guard first == Byte.dash || first == Byte.dot, bytes[position + 1] == first, bytes[position + 2] == first else { return false }
        return Self.isBlank(position + 3 < bytes.count ? bytes[position + 3] : 0)
    }

    mutating func enter() throws(YAMLSyntaxError) {
        depth += 1
        guard depth <= YAMLReader.maxDepth else { throw error("nested more than \(YAMLReader.maxDepth) levels deep") }
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == Byte.space || byte == Byte.tab }

    /// White space, a line break or the end.
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == Byte.space || byte == Byte.tab || byte == Byte.newline || byte == 0
    }

    static func isFlowIndicator(_ byte: UInt8) -> Bool {
        byte == Byte.comma || byte == Byte.leftBracket || byte == Byte.rightBracket || byte == Byte.leftBrace || byte == Byte.rightBrace
    }

    // MARK: Errors

    func error(_ message: String, at offset: Int? = nil) -> YAMLSyntaxError {
        let position = min(offset ?? index, bytes.count)
        var line = 1, start = 0
        for index in 0..<position where bytes[index] == Byte.newline {
            line += 1
            start = index + 1
        }
        var column = 1
        for index in start..<position where bytes[index] & 0xC0 != 0x80 { column += 1 }
        return YAMLSyntaxError(line: line, column: column, message: message)
    }

    func lineNumber(of offset: Int) -> Int { error("", at: offset).line }

    /// `line 3, column 7`, for messages that point at a second place.
    func location(of offset: Int) -> String {
        let place = error("", at: offset)
        return "line \(place.line), column \(place.column)"
    }

    func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16, uppercase: true)
    }

    // MARK: Input

    /// Without a byte order mark, with CRLF and lone CR line breaks turned into LF (which keeps
    /// line and column numbers as an editor shows them).
    static func normalized(_ input: [UInt8]) -> [UInt8] {
        let hasMark = input.starts(with: [0xEF, 0xBB, 0xBF])
        guard hasMark || input.contains(Byte.carriageReturn) else { return input }
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var position = hasMark ? 3 : 0
        while position < input.count {
            let byte = input[position]
            if byte == Byte.carriageReturn {
                output.append(Byte.newline)
                if position + 1 < input.count, input[position + 1] == Byte.newline { position += 1 }
            } else {
                output.append(byte)
            }
            position += 1
        }
        return output
    }

    /// Refuses invalid UTF-8 and control characters YAML does not allow in a text (they can be
    /// written as escapes in double-quoted strings).
    func validateCharacters() throws(YAMLSyntaxError) {
        var position = 0
        while position < bytes.count {
            let lead = bytes[position]
            if lead < 0x80 {
                if (lead < 0x20 && lead != Byte.tab && lead != Byte.newline) || lead == 0x7F {
                    throw error("control character \(describe(lead)) is not allowed (write it as an escape in a double-quoted string)", at: position)
                }
                position += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            switch lead {
            case 0xC2...0xDF: (length, scalar) = (2, UInt32(lead & 0x1F))
            case 0xE0...0xEF: (length, scalar) = (3, UInt32(lead & 0x0F))
            case 0xF0...0xF4: (length, scalar) = (4, UInt32(lead & 0x07))
            default: throw error("invalid UTF-8", at: position)
            }
            guard position + length <= bytes.count else { throw error("invalid UTF-8", at: position) }
            for offset in 1..<length {
                let continuation = bytes[position + offset]
                guard continuation & 0xC0 == 0x80 else { throw error("invalid UTF-8", at: position) }
                scalar = scalar << 6 | UInt32(continuation & 0x3F)
            }
            let smallest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            guard scalar >= smallest, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
                throw error("invalid UTF-8", at: position)
            }
            if (0x80...0x9F).contains(scalar), scalar != 0x85 {
                throw error("control character U+00\(String(scalar, radix: 16, uppercase: true)) is not allowed (write it as an escape in a double-quoted string)", at: position)
            }
            position += length
        }
    }
}

extension YAMLParser {
    /// The ASCII bytes the reader looks for.
    enum Byte {
        static let tab = UInt8(ascii: "\t")
        static let newline = UInt8(ascii: "\n")
        static let carriageReturn = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " ")
        static let exclamation = UInt8(ascii: "!")
        static let doubleQuote = UInt8(ascii: "\"")
        static let hash = UInt8(ascii: "#")
        static let percent = UInt8(ascii: "%")
        static let ampersand = UInt8(ascii: "&")
        static let singleQuote = UInt8(ascii: "'")
        static let asterisk = UInt8(ascii: "*")
        static let plus = UInt8(ascii: "+")
        static let comma = UInt8(ascii: ",")
        static let dash = UInt8(ascii: "-")
        static let dot = UInt8(ascii: ".")
        static let slash = UInt8(ascii: "/")
        static let colon = UInt8(ascii: ":")
        static let greater = UInt8(ascii: ">")
        static let question = UInt8(ascii: "?")
        static let at = UInt8(ascii: "@")
        static let leftBracket = UInt8(ascii: "[")
        static let backslash = UInt8(ascii: "\\")
        static let rightBracket = UInt8(ascii: "]")
        static let backtick = UInt8(ascii: "`")
        static let leftBrace = UInt8(ascii: "{")
        static let pipe = UInt8(ascii: "|")
        static let rightBrace = UInt8(ascii: "}")
    }
}
