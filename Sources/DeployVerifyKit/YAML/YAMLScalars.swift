/// Scalars: plain (multi-line ones folded), single- and double-quoted, block (`|`, `>`), and
/// how a plain scalar resolves (YAML 1.2 core schema, numbers kept as written).
extension YAMLParser {
    // MARK: Plain scalars

    /// Scans plain text on the current line from `index`; stops before `: ` (or `:` at the end
    /// of the line), a comment, the line break, or (in a flow collection) a flow indicator.
    /// Returns where the text ends, trailing white space excluded.
    mutating func plainLineEnd(flow: Bool) -> Int {
        var end = index
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case Byte.newline:
                return end
            case Byte.space, Byte.tab:
                index += 1
                continue
            case Byte.colon:
                let next = self.byte(1)
                if Self.isBlank(next) || (flow && Self.isFlowIndicator(next)) { return end }
            case Byte.hash:
                if index > 0, Self.isSpace(bytes[index - 1]) { return end }
            case Byte.comma, Byte.leftBracket, Byte.rightBracket, Byte.leftBrace, Byte.rightBrace:
                if flow { return end }
            default:
                break
            }
            index += 1
            end = index
        }
        return end
    }

    /// A plain scalar from `index`, with the lines that continue it folded in (a line break
    /// becomes a space, each empty line a line break). In block context a continuation line
    /// must be indented more than `parent`; one that starts with `- ` or holds `key: value` is
    /// refused rather than read as text (it is almost always an indentation mistake).
    mutating func plainScalar(parent: Int, flow: Bool) throws(YAMLSyntaxError) -> (text: String, multiLine: Bool) {
        let start = index
        var end = plainLineEnd(flow: flow)
        var folded: [UInt8]?
        while current == Byte.newline {
            let savedIndex = index, savedLineStart = lineStart
            var breaks = 0
            var continues = false
            while true {
                index += 1
                lineStart = index
                breaks += 1
                while current == Byte.space { index += 1 }
                if current == Byte.tab {
                    let tab = index
                    skipInlineSpace()
                    if !flow, !atLineEnd { throw error("a tab character in the indentation: indent with spaces", at: tab) }
                }
                if current == Byte.newline { continue }
                if atEnd || current == Byte.hash || lineIndent < 0 { break }
                if flow {
                    if Self.isFlowIndicator(current) { break }
                    if current == Byte.colon, Self.isBlank(byte(1)) || Self.isFlowIndicator(byte(1)) { break }
                } else {
                    if column <= parent { break }
                    if isSequenceEntry {
                        throw error("a line starting with '- ' cannot continue the plain value that starts on line \(lineNumber(of: start)): a key or '-' with its value on the same line cannot also have entries below it (or quote the value)")
                    }
                }
                continues = true
                break
            }
            guard continues else {
                index = savedIndex
                lineStart = savedLineStart
                break
            }
            if folded == nil { folded = Array(bytes[start..<end]) }
            if breaks == 1 {
                folded?.append(Byte.space)
            } else {
                folded?.append(contentsOf: repeatElement(Byte.newline, count: breaks - 1))
            }
            let segment = index
            end = plainLineEnd(flow: flow)
            folded?.append(contentsOf: bytes[segment..<end])
            if !flow, current == Byte.colon {
                throw error("a 'key: value' line cannot continue the plain value that starts on line \(lineNumber(of: start)): check the indentation, or quote the value", at: segment)
            }
        }
        if let folded { return (String(decoding: folded, as: UTF8.self), true) }
        return (String(decoding: bytes[start..<end], as: UTF8.self), false)
    }

    // MARK: Quoted scalars

    /// A double-quoted scalar, from its opening quote to after the closing one.
    mutating func doubleQuoted() throws(YAMLSyntaxError) -> String {
        let open = index
        index += 1
        var text: [UInt8] = []
        var segment = index
        while index < bytes.count {
            switch bytes[index] {
            case Byte.doubleQuote:
                text.append(contentsOf: bytes[segment..<index])
                index += 1
                return String(decoding: text, as: UTF8.self)
            case Byte.backslash:
                text.append(contentsOf: bytes[segment..<index])
                try escape(into: &text, open: open)
                segment = index
            case Byte.newline:
                appendTrimmed(segment, into: &text)
                try foldQuotedLineBreak(into: &text, open: open, what: "double-quoted string")
                segment = index
            default:
                index += 1
            }
        }
        throw error("unterminated double-quoted string: this '\"' is never closed", at: open)
    }

    /// A single-quoted scalar (`''` is a quote), from its opening quote to after the closing one.
    mutating func singleQuoted() throws(YAMLSyntaxError) -> String {
        let open = index
        index += 1
        var text: [UInt8] = []
        var segment = index
        while index < bytes.count {
            switch bytes[index] {
            case Byte.singleQuote:
                text.append(contentsOf: bytes[segment..<index])
                index += 1
                if current != Byte.singleQuote { return String(decoding: text, as: UTF8.self) }
                segment = index
                index += 1
            case Byte.newline:
                appendTrimmed(segment, into: &text)
                try foldQuotedLineBreak(into: &text, open: open, what: "single-quoted string")
                segment = index
            default:
                index += 1
            }
        }
        throw error("unterminated single-quoted string: this \"'\" is never closed", at: open)
    }

    /// Appends the raw text from `segment` to the line break at `index`, without its trailing
    /// white space (escaped white space was appended before and stays).
    func appendTrimmed(_ segment: Int, into text: inout [UInt8]) {
        var end = index
        while end > segment, Self.isSpace(bytes[end - 1]) { end -= 1 }
        text.append(contentsOf: bytes[segment..<end])
    }

    /// At a line break inside a quoted scalar: skips it, the empty lines after it and the next
    /// line's leading white space, and appends a space (or one line break per empty line).
    mutating func foldQuotedLineBreak(into text: inout [UInt8], open: Int, what: String) throws(YAMLSyntaxError) {
        let breaks = try skipQuotedLineBreaks(open: open, what: what)
        if breaks == 1 {
            text.append(Byte.space)
        } else {
            text.append(contentsOf: repeatElement(Byte.newline, count: breaks - 1))
        }
    }

    /// Skips the line break at `index`, following empty lines and leading white space; returns
    /// the number of line breaks.
    mutating func skipQuotedLineBreaks(open: Int, what: String) throws(YAMLSyntaxError) -> Int {
        var breaks = 0
        while current == Byte.newline {
            index += 1
            lineStart = index
            breaks += 1
            if isDocumentMarker(at: index) {
                throw error("a document marker inside the \(what) opened at \(location(of: open))")
            }
            skipInlineSpace()
        }
        return breaks
    }

    /// An escape sequence in a double-quoted scalar, at its backslash.
    mutating func escape(into text: inout [UInt8], open: Int) throws(YAMLSyntaxError) {
        let start = index
        let code = byte(1)
        index += 2
        let simple: UInt8?
        switch code {
        case UInt8(ascii: "0"): simple = 0x00
        case UInt8(ascii: "a"): simple = 0x07
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "t"), Byte.tab: simple = 0x09
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "v"): simple = 0x0B
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "e"): simple = 0x1B
        case Byte.space, Byte.doubleQuote, Byte.slash, Byte.backslash: simple = code
        default: simple = nil
        }
        if let simple {
            text.append(simple)
            return
        }
        switch code {
        case UInt8(ascii: "N"): appendScalar(0x85, to: &text)
        case UInt8(ascii: "_"): appendScalar(0xA0, to: &text)
        case UInt8(ascii: "L"): appendScalar(0x2028, to: &text)
        case UInt8(ascii: "P"): appendScalar(0x2029, to: &text)
        case UInt8(ascii: "x"):
            appendScalar(try hexadecimal(digits: 2, escape: start), to: &text)
        case UInt8(ascii: "u"):
            var value = try hexadecimal(digits: 4, escape: start)
            if (0xD800...0xDBFF).contains(value) {
                // A UTF-16 surrogate pair written as two escapes, as JSON writes it.
                guard current == Byte.backslash, byte(1) == UInt8(ascii: "u") else {
                    throw error("\\u escape of a lone surrogate: write the character as \\U followed by 8 hexadecimal digits", at: start)
                }
                let second = index
                index += 2
                let low = try hexadecimal(digits: 4, escape: second)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("\\u escape of a lone surrogate: write the character as \\U followed by 8 hexadecimal digits", at: start)
                }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            guard !(0xDC00...0xDFFF).contains(value) else {
                throw error("\\u escape of a lone surrogate: write the character as \\U followed by 8 hexadecimal digits", at: start)
            }
            appendScalar(value, to: &text)
        case UInt8(ascii: "U"):
            let value = try hexadecimal(digits: 8, escape: start)
            guard value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
                throw error("\\U escape of something that is not a Unicode character", at: start)
            }
            appendScalar(value, to: &text)
        case Byte.newline:
            // An escaped line break: joined without a space; empty lines after it are kept.
            index = start + 1
            let breaks = try skipQuotedLineBreaks(open: open, what: "double-quoted string")
            text.append(contentsOf: repeatElement(Byte.newline, count: breaks - 1))
        case 0:
            throw error("unterminated double-quoted string: this '\"' is never closed", at: open)
        default:
            throw error("invalid escape '\\\(Character(Unicode.Scalar(code)))' in a double-quoted string", at: start)
        }
    }

    /// `digits` hexadecimal digits after an escape's letter.
    mutating func hexadecimal(digits: Int, escape: Int) throws(YAMLSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            let byte = current
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw error("the escape '\\\(Character(Unicode.Scalar(bytes[escape + 1])))' needs \(digits) hexadecimal digits", at: escape)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    func appendScalar(_ value: UInt32, to text: inout [UInt8]) {
        guard let scalar = Unicode.Scalar(value) else { return }
        UTF8.encode(scalar) { text.append($0) }
    }

    // MARK: Block scalars

    /// How a block scalar ends: `-` strips the final line breaks, `+` keeps them all, and by
    /// default one is kept.
    enum Chomping {
        case strip, clip, keep
    }

    /// A literal (`|`) or folded (`>`) block scalar, from its indicator; ends at the next
    /// content line. Its lines are indented more than `parent`: by the indentation indicator,
    /// or as much as its first non-empty line.
    mutating func blockScalar(parent: Int) throws(YAMLSyntaxError) -> String {
        let header = index
        let literal = current == Byte.pipe
        index += 1
        var chomping = Chomping.clip
        var chompingGiven = false
        var increment: Int?
        for _ in 0..<2 {
            let byte = current
            if !chompingGiven, byte == Byte.dash || byte == Byte.plus {
                chomping = byte == Byte.dash ? .strip : .keep
                chompingGiven = true
            } else if increment == nil, byte >= UInt8(ascii: "1"), byte <= UInt8(ascii: "9") {
                increment = Int(byte - UInt8(ascii: "0"))
            } else if byte == UInt8(ascii: "0") {
                throw error("the indentation indicator of a block scalar is a digit from 1 to 9")
            } else {
                break
            }
            index += 1
        }
        guard Self.isBlank(current) else {
            throw error("unexpected \(describe(current)) in a block scalar header: after '\(literal ? "|" : ">")' come only '-' or '+', an indentation digit and a comment")
        }
        try finishLine()
        if parent < 0, increment != nil {
            throw error("an indentation indicator on a top-level block scalar is not supported", at: header)
        }
        var indent = increment.map { parent + $0 }
        var text: [UInt8] = []
        var emptyLines = 0
        var hasContent = false
        var previousWasText = false
        var endsWithBreak = false
        var leadingSpaces = 0
        var leadingSpacesAt = 0
        while index < bytes.count {
            let begin = index
            if isDocumentMarker(at: begin) { break }
            var contentStart = begin
            while contentStart < bytes.count, bytes[contentStart] == Byte.space { contentStart += 1 }
            var end = contentStart
            while end < bytes.count, bytes[end] != Byte.newline { end += 1 }
            let spaces = contentStart - begin
            // Only a line of nothing but spaces is empty (a tab after them is content).
            let empty = contentStart == end
            let contentIndent: Int
            if let indent {
                contentIndent = indent
            } else {
                if empty {
                    if spaces > leadingSpaces { (leadingSpaces, leadingSpacesAt) = (spaces, begin) }
                    if end < bytes.count { emptyLines += 1 }
                    index = min(end + 1, bytes.count)
                    lineStart = index
                    continue
                }
                if spaces <= parent { break }
                if leadingSpaces > spaces {
                    throw error("an empty line at the start of this block scalar has more spaces (\(leadingSpaces)) than its first line (\(spaces)): remove them, or give an indentation indicator", at: leadingSpacesAt)
                }
                indent = spaces
                contentIndent = spaces
            }
            if empty, spaces <= contentIndent {
                if end < bytes.count { emptyLines += 1 }
                index = min(end + 1, bytes.count)
                lineStart = index
                continue
            }
            if spaces < contentIndent { break }
            let line = bytes[(begin + contentIndent)..<end]
            let isText = !line.isEmpty && !Self.isSpace(line[line.startIndex])
            if !hasContent {
                text.append(contentsOf: repeatElement(Byte.newline, count: emptyLines))
            } else if !literal, previousWasText, isText {
                if emptyLines == 0 {
                    text.append(Byte.space)
                } else {
                    text.append(contentsOf: repeatElement(Byte.newline, count: emptyLines))
                }
            } else {
                text.append(contentsOf: repeatElement(Byte.newline, count: emptyLines + 1))
            }
            text.append(contentsOf: line)
            hasContent = true
            previousWasText = isText
            emptyLines = 0
            endsWithBreak = end < bytes.count
            index = min(end + 1, bytes.count)
            lineStart = index
        }
        switch chomping {
        case .strip:
            break
        case .clip:
            if hasContent, endsWithBreak { text.append(Byte.newline) }
        case .keep:
            if hasContent, endsWithBreak { text.append(Byte.newline) }
            text.append(contentsOf: repeatElement(Byte.newline, count: emptyLines))
        }
        // The line that ended the scalar (if any) starts at `index`.
        lineStart = index
        try nextContentLine()
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: Resolution

    /// What a plain scalar means (YAML 1.2 core schema): null, a boolean, a number kept as
    /// written (a leading `+` dropped), or a string. Numbers JSON cannot write as they are
    /// (hexadecimal, octal, leading zeros, `.5`, infinity, NaN) are refused, not guessed at.
    func resolve(_ text: String, at start: Int) throws(YAMLSyntaxError) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        let utf8 = Array(text.utf8)
        guard let first = utf8.first, first == Byte.plus || first == Byte.dash || first == Byte.dot || Self.isDigit(first) else {
            return .string(text)
        }
        if Self.isJSONNumber(utf8) { return .number(first == Byte.plus ? String(text.dropFirst()) : text) }
        if let problem = Self.nonJSONNumber(utf8) {
            throw error("\(problem); quote the value if it is text", at: start)
        }
        return .string(text)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// A JSON number literal, optionally with a leading `+`.
    static func isJSONNumber(_ text: [UInt8]) -> Bool {
        var position = 0
        func digits() -> Int {
            let start = position
            while position < text.count, isDigit(text[position]) { position += 1 }
            return position - start
        }
        if position < text.count, text[position] == Byte.plus || text[position] == Byte.dash { position += 1 }
        guard position < text.count, isDigit(text[position]) else { return false }
        if text[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            _ = digits()
        }
        if position < text.count, text[position] == Byte.dot {
            position += 1
            guard digits() > 0 else { return false }
        }
        if position < text.count, text[position] == UInt8(ascii: "e") || text[position] == UInt8(ascii: "E") {
            position += 1
            if position < text.count, text[position] == Byte.plus || text[position] == Byte.dash { position += 1 }
            guard digits() > 0 else { return false }
        }
        return position == text.count
    }

    /// Why a plain scalar that the YAML 1.2 core schema reads as a number is not a JSON number
    /// literal; nil when it is not a core-schema number at all (it is then a string).
    static func nonJSONNumber(_ text: [UInt8]) -> String? {
        let string = String(decoding: text, as: UTF8.self)
        var body = text[...]
        if let first = body.first, first == Byte.plus || first == Byte.dash { body = body.dropFirst() }
        let bodyText = String(decoding: body, as: UTF8.self)
        if [".inf", ".Inf", ".INF"].contains(bodyText) {
            return "'\(string)' is infinity in YAML, which JSON cannot hold"
        }
        if [".nan", ".NaN", ".NAN"].contains(string) {
            return "'\(string)' is not-a-number in YAML, which JSON cannot hold"
        }
        if text.count > 2, text[0] == UInt8(ascii: "0") {
            let rest = text[2...]
            if text[1] == UInt8(ascii: "x"), rest.allSatisfy({ isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0 | 0x20) }) {
                return "hexadecimal numbers ('\(string)') are not supported (write the decimal value)"
            }
            if text[1] == UInt8(ascii: "o"), rest.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }) {
                return "octal numbers ('\(string)') are not supported (write the decimal value)"
            }
        }
        // [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        var position = body.startIndex
        var mantissaDigits = 0
        while position < body.endIndex, isDigit(body[position]) {
            position += 1
            mantissaDigits += 1
        }
        if position < body.endIndex, body[position] == Byte.dot {
            position += 1
            while position < body.endIndex, isDigit(body[position]) {
                position += 1
                mantissaDigits += 1
            }
        }
        guard mantissaDigits > 0 else { return nil }
        if position < body.endIndex, body[position] == UInt8(ascii: "e") || body[position] == UInt8(ascii: "E") {
            position += 1
            if position < body.endIndex, body[position] == Byte.plus || body[position] == Byte.dash { position += 1 }
            guard position < body.endIndex, isDigit(body[position]) else { return nil }
            while position < body.endIndex, isDigit(body[position]) { position += 1 }
        }
        guard position == body.endIndex else { return nil }
        return "'\(string)' is a number in YAML but not written as JSON writes numbers (no leading zeros, digits on both sides of '.')"
    }
}
