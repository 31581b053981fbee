/// The head of one HTTP/1.x request, parsed from the connection's bytes.
struct RequestHead {
    var method: String
    var path: String
    var query: String?
    var headers: [(name: String, value: String)]
    var minorVersion: Int
    /// Whether the connection stays open after the response (HTTP/1.1 default, `Connection` header).
    var keepAlive: Bool
    var contentLength: Int
    /// A `Transfer-Encoding` was sent (the body length is unknown up front).
    var hasTransferEncoding: Bool
    var expectsContinue: Bool
    /// Bytes from the start of the buffer to the end of the blank line.
    var length: Int
}

enum ParseResult {
    /// More bytes are needed; nothing invalid seen so far.
    case incomplete
    case head(RequestHead)
    /// The request cannot be served: answer with `status` and close the connection.
    case invalid(status: Int, reason: String)
}

/// A strict HTTP/1.1 request-head parser (RFC 9112). It rejects what a lenient parser would
/// have to guess about (bare LF, obsolete line folding, a space before a colon, conflicting
/// lengths), since guessing is how request smuggling starts, and it reports garbage as soon as
/// the bytes show it rather than when the read timeout expires.
struct RequestParser {
    /// Request line plus headers, in bytes; longer heads get 431.
    var maxHeadBytes: Int
    var maxHeaderCount: Int

    private static let cr: UInt8 = 13, lf: UInt8 = 10, space: UInt8 = 32, tab: UInt8 = 9, colon: UInt8 = 58

    func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        let count = bytes.count
        var index = 0
        // RFC 9112 §2.2: ignore empty lines before the request line.
        while index < count, bytes[index] == Self.cr || bytes[index] == Self.lf {
            if bytes[index] == Self.lf { index += 1; continue }
            guard index + 1 < count else { return .incomplete }
            guard bytes[index + 1] == Self.lf else { return .invalid(status: 400, reason: "bare CR in the request") }
            index += 2
        }
        let start = index
        let tooLarge = ParseResult.invalid(status: 431, reason: "request line and headers exceed \(maxHeadBytes) bytes")
        func needMore() -> ParseResult { count - start >= maxHeadBytes ? tooLarge : .incomplete }

        // Method: a token, then one space.
        while index < count, bytes[index] != Self.space {
            guard Self.isTokenByte(bytes[index]) else { return .invalid(status: 400, reason: "malformed request line") }
            index += 1
            if index - start > 32 { return .invalid(status: 400, reason: "malformed request line: method too long") }
        }
        guard index < count else { return needMore() }
        guard index > start else { return .invalid(status: 400, reason: "malformed request line: no method") }
        let methodEnd = index
        index += 1

        // Request target: visible ASCII, then one space.
        let targetStart = index
        while index < count, bytes[index] != Self.space {
            guard bytes[index] > 0x20, bytes[index] < 0x7F else {
                return .invalid(status: 400, reason: "malformed request line: invalid byte in the request target")
            }
            index += 1
        }
        guard index < count else { return needMore() }
        guard index > targetStart else { return .invalid(status: 400, reason: "malformed request line: no request target") }
        let targetEnd = index
        index += 1

        // Version: HTTP/1.x then CRLF.
        let version: [UInt8] = Array("HTTP/".utf8)
        for offset in 0..<version.count {
            guard index + offset < count else { return needMore() }
            guard bytes[index + offset] == version[offset] else {
                return .invalid(status: 400, reason: "malformed request line: expected HTTP/1.1")
            }
        }
        index += version.count
        guard index + 4 < count else {
            // Validate what has arrived so that garbage fails now.
            for offset in 0..<(count - index) {
                let byte = bytes[index + offset]
                let valid = offset == 1 ? byte == 46 : offset == 3 ? byte == Self.cr : (48...57).contains(byte)
                guard valid else { return .invalid(status: 400, reason: "malformed request line: bad HTTP version") }
            }
            return needMore()
        }
        let major = bytes[index], dot = bytes[index + 1], minor = bytes[index + 2]
        guard (48...57).contains(major), dot == 46, (48...57).contains(minor) else {
            return .invalid(status: 400, reason: "malformed request line: bad HTTP version")
        }
        guard major == 49 else { return .invalid(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported") }
        guard bytes[index + 3] == Self.cr, bytes[index + 4] == Self.lf else {
            return .invalid(status: 400, reason: "request line does not end with CRLF")
        }
        index += 5

        // Header fields until the empty line.
        var headers: [(name: String, value: String)] = []
        var fields = FieldSummary()
        var headLength = 0
        while true {
            guard index < count else { return needMore() }
            let lineStart = index
            var lineFeed = index
            while lineFeed < count, bytes[lineFeed] != Self.lf { lineFeed += 1 }
            guard lineFeed < count else {
                if bytes[lineStart] == Self.space || bytes[lineStart] == Self.tab {
                    return .invalid(status: 400, reason: "obsolete header line folding is not accepted")
                }
                return needMore()
            }
            guard lineFeed > lineStart, bytes[lineFeed - 1] == Self.cr else {
                return .invalid(status: 400, reason: "header line does not end with CRLF")
            }
            let lineEnd = lineFeed - 1
            index = lineFeed + 1
            if lineEnd == lineStart {
                headLength = index
                break
            }
            if bytes[lineStart] == Self.space || bytes[lineStart] == Self.tab {
                return .invalid(status: 400, reason: "obsolete header line folding is not accepted")
            }
            var colonIndex = lineStart
            while colonIndex < lineEnd, bytes[colonIndex] != Self.colon {
                guard Self.isTokenByte(bytes[colonIndex]) else {
                    return .invalid(status: 400, reason: bytes[colonIndex] == Self.space || bytes[colonIndex] == Self.tab
                        ? "whitespace in a header name" : "header line without a colon")
                }
                colonIndex += 1
            }
            guard colonIndex < lineEnd else { return .invalid(status: 400, reason: "header line without a colon") }
            guard colonIndex > lineStart else { return .invalid(status: 400, reason: "empty header name") }
            var valueStart = colonIndex + 1, valueEnd = lineEnd
            while valueStart < valueEnd, bytes[valueStart] == Self.space || bytes[valueStart] == Self.tab { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == Self.space || bytes[valueEnd - 1] == Self.tab { valueEnd -= 1 }
            for position in valueStart..<valueEnd {
                let byte = bytes[position]
                guard byte >= 0x20 || byte == Self.tab, byte != 0x7F else {
                    return .invalid(status: 400, reason: "control character in a header value")
                }
            }
            guard headers.count < maxHeaderCount else {
                return .invalid(status: 431, reason: "more than \(maxHeaderCount) header fields")
            }
            if let problem = fields.note(name: lineStart..<colonIndex, value: valueStart..<valueEnd, in: bytes) {
                return .invalid(status: 400, reason: problem)
            }
            headers.append((Self.text(bytes, lineStart, colonIndex), Self.text(bytes, valueStart, valueEnd)))
        }
        guard headLength - start <= maxHeadBytes else { return tooLarge }

        let minorVersion = Int(minor - 48)
        if fields.hasTransferEncoding && fields.contentLength != nil { return .invalid(status: 400, reason: "both Transfer-Encoding and Content-Length") }
        if fields.hasTransferEncoding && minorVersion == 0 { return .invalid(status: 400, reason: "Transfer-Encoding in an HTTP/1.0 request") }
        if minorVersion == 1 && fields.hosts != 1 {
            return .invalid(status: 400, reason: fields.hosts == 0 ? "missing Host header (required in HTTP/1.1)" : "more than one Host header")
        }
        guard let (path, query) = Self.splitTarget(bytes, targetStart, targetEnd) else {
            return .invalid(status: 400, reason: "invalid request target")
        }
        return .head(RequestHead(
            method: Self.text(bytes, start, methodEnd), path: path, query: query, headers: headers,
            minorVersion: minorVersion,
            keepAlive: minorVersion == 1 ? !fields.closeRequested : fields.keepAliveRequested && !fields.closeRequested,
            contentLength: fields.contentLength ?? 0, hasTransferEncoding: fields.hasTransferEncoding,
            expectsContinue: fields.expectsContinue, length: headLength))
    }

    /// Path and query of the origin form (`/info?x`), absolute form (`http://host/info`) or
    /// asterisk form (`*`); nil for anything else.
    private static func splitTarget(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (String, String?)? {
        var pathStart = start
        if bytes[start] != 47 { // not "/"
            if end - start == 1 && bytes[start] == 42 { return ("*", nil) }
            let target = text(bytes, start, end)
            let lowered = target.prefix(8).lowercased()
            let scheme = lowered.hasPrefix("http://") ? 7 : lowered.hasPrefix("https://") ? 8 : 0
            guard scheme > 0 else { return nil }
            pathStart = start + scheme
            while pathStart < end, bytes[pathStart] != 47, bytes[pathStart] != 63 { pathStart += 1 }
            if pathStart == end { return ("/", nil) }
            if bytes[pathStart] == 63 { return ("/", text(bytes, pathStart + 1, end)) }
        }
        var question = pathStart
        while question < end, bytes[question] != 63 { question += 1 }
        return (text(bytes, pathStart, question), question < end ? text(bytes, question + 1, end) : nil)
    }

    private static func text(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// RFC 9110 `tchar`.
    private static let tokenBytes: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in UInt8(48)...57 { table[Int(byte)] = true }
        for byte in UInt8(65)...90 { table[Int(byte)] = true }
        for byte in UInt8(97)...122 { table[Int(byte)] = true }
        for scalar in "!#$%&'*+-.^_`|~".utf8 { table[Int(scalar)] = true }
        return table
    }()

    static func isTokenByte(_ byte: UInt8) -> Bool {
        tokenBytes[Int(byte)]
    }
}

/// What the parser needs to know of the header fields, gathered from the bytes as they are parsed.
private struct FieldSummary {
    var hosts = 0
    var contentLength: Int?
    var hasTransferEncoding = false
    var expectsContinue = false
    var closeRequested = false
    var keepAliveRequested = false

    /// Notes one field; returns a problem that makes the request invalid.
    mutating func note(name: Range<Int>, value: Range<Int>, in bytes: UnsafeRawBufferPointer) -> String? {
        switch name.count {
        case 4 where Self.matches(bytes, name, "host"):
            hosts += 1
        case 10 where Self.matches(bytes, name, "connection"):
            for token in Self.items(bytes, value) {
                if Self.matches(bytes, token, "close") { closeRequested = true }
                if Self.matches(bytes, token, "keep-alive") { keepAliveRequested = true }
            }
        case 14 where Self.matches(bytes, name, "content-length"):
            // A list of identical values is allowed (RFC 9110 §8.6); anything else is an error.
            for item in Self.items(bytes, value, keepEmpty: true) {
                guard !item.isEmpty, item.count <= 15 else { return "invalid Content-Length" }
                var length = 0
                for index in item {
                    let digit = bytes[index]
                    guard digit >= 48, digit <= 57 else { return "invalid Content-Length" }
                    length = length * 10 + Int(digit - 48)
                }
                if let contentLength, contentLength != length { return "conflicting Content-Length values" }
                contentLength = length
            }
        case 17 where Self.matches(bytes, name, "transfer-encoding"):
            hasTransferEncoding = true
        case 6 where Self.matches(bytes, name, "expect"):
            expectsContinue = Self.matches(bytes, value, "100-continue")
        default:
            break
        }
        return nil
    }

    /// ASCII case-insensitive comparison of `bytes[range]` with a lowercase literal.
    private static func matches(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let literal = lowercase.utf8Start
        for offset in 0..<range.count {
            var byte = bytes[range.lowerBound + offset]
            if byte >= 65 && byte <= 90 { byte |= 0x20 }
            if byte != literal[offset] { return false }
        }
        return true
    }

    /// The comma-separated items of a field value, each trimmed of spaces and tabs.
    private static func items(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, keepEmpty: Bool = false) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound, bytes[end] != 44 { end += 1 }
            var low = start, high = end
            while low < high, bytes[low] == 32 || bytes[low] == 9 { low += 1 }
            while high > low, bytes[high - 1] == 32 || bytes[high - 1] == 9 { high -= 1 }
            if keepEmpty || low < high { result.append(low..<high) }
            start = end + 1
        }
        return result
    }
}
