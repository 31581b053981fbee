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
            headers.append((Self.text(bytes, lineStart, colonIndex), Self.text(bytes, valueStart, valueEnd)))
        }
        guard headLength - start <= maxHeadBytes else { return tooLarge }

        var head = RequestHead(method: Self.text(bytes, start, methodEnd), path: "/", query: nil, headers: headers,
                               minorVersion: Int(minor - 48), keepAlive: minor == 49, contentLength: 0,
                               hasTransferEncoding: false, expectsContinue: false, length: headLength)
        if let problem = Self.splitTarget(Self.text(bytes, targetStart, targetEnd), into: &head) {
            return .invalid(status: 400, reason: problem)
        }
        if let problem = Self.interpretHeaders(&head) {
            return .invalid(status: 400, reason: problem)
        }
        return .head(head)
    }

    /// Origin form (`/info?x`), absolute form (`http://host/info`) or asterisk form (`*`).
    private static func splitTarget(_ target: String, into head: inout RequestHead) -> String? {
        var rest = Substring(target)
        if !rest.hasPrefix("/") && rest != "*" {
            let lowered = rest.prefix(8).lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else { return "invalid request target" }
            rest = rest[rest.index(rest.startIndex, offsetBy: lowered.hasPrefix("http://") ? 7 : 8)...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[slash...]
            } else {
                rest = "/"
            }
            if rest.hasPrefix("?") { rest = "/" + rest }
        }
        if let question = rest.firstIndex(of: "?") {
            head.path = String(rest[..<question])
            head.query = String(rest[rest.index(after: question)...])
        } else {
            head.path = String(rest)
        }
        return nil
    }

    private static func interpretHeaders(_ head: inout RequestHead) -> String? {
        var hosts = 0
        var contentLength: Int?
        var closeRequested = false, keepAliveRequested = false
        for (name, value) in head.headers {
            switch name.count {
            case 4 where name.caseInsensitiveEquals("host"):
                hosts += 1
            case 10 where name.caseInsensitiveEquals("connection"):
                for token in value.split(separator: ",") {
                    let option = token.trimmingSpaces
                    if option.caseInsensitiveEquals("close") { closeRequested = true }
                    if option.caseInsensitiveEquals("keep-alive") { keepAliveRequested = true }
                }
            case 14 where name.caseInsensitiveEquals("content-length"):
                // A list of identical values is allowed (RFC 9110 §8.6); anything else is an error.
                for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let digits = item.trimmingSpaces
                    guard !digits.isEmpty, digits.utf8.count <= 15, digits.utf8.allSatisfy({ (48...57).contains($0) }),
                          let length = Int(digits) else { return "invalid Content-Length" }
                    if let contentLength, contentLength != length { return "conflicting Content-Length values" }
                    contentLength = length
                }
            case 17 where name.caseInsensitiveEquals("transfer-encoding"):
                head.hasTransferEncoding = true
            case 6 where name.caseInsensitiveEquals("expect"):
                head.expectsContinue = value.trimmingSpaces.caseInsensitiveEquals("100-continue")
            default:
                break
            }
        }
        if head.hasTransferEncoding && contentLength != nil { return "both Transfer-Encoding and Content-Length" }
        if head.hasTransferEncoding && head.minorVersion == 0 { return "Transfer-Encoding in an HTTP/1.0 request" }
        if head.minorVersion == 1 && hosts != 1 {
            return hosts == 0 ? "missing Host header (required in HTTP/1.1)" : "more than one Host header"
        }
        head.contentLength = contentLength ?? 0
        head.keepAlive = head.minorVersion == 1 ? !closeRequested : keepAliveRequested && !closeRequested
        return nil
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

extension StringProtocol {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
