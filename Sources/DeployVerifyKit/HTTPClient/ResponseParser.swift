import Foundation
import InfoEndpoint

/// Incremental HTTP/1.x response parser for the client side: status line, headers, then a body
/// framed by `Content-Length`, chunked transfer coding, or the end of the connection. Lenient
/// where servers in the wild are sloppy (bare LF line ends), strict where it protects the
/// client (head and body size caps, malformed lengths).
struct ResponseParser {
    enum Framing {
        case none
        case length(Int)
        case chunked
        case untilClose
    }

    private enum Stage {
        case head
        case body
        case chunkSize
        case chunkData(Int)
        case chunkDataEnd
        case trailers
        case done
    }

    let maxHeadBytes: Int
    let maxBodyBytes: Int
    let isHeadRequest: Bool

    private(set) var status = 0
    private(set) var reason = ""
    private(set) var minorVersion = 1
    private(set) var headers: [(name: String, value: String)] = []
    private(set) var body: [UInt8] = []
    private(set) var framing = Framing.none
    private(set) var connectionClose = false
    private var stage = Stage.head
    private var pending: [UInt8] = []

    init(maxHeadBytes: Int = 64 * 1024, maxBodyBytes: Int, isHeadRequest: Bool) {
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
        self.isHeadRequest = isHeadRequest
    }

    var isComplete: Bool {
        if case .done = stage { return true }
        return false
    }

    /// The connection can carry another request once this response is complete.
    var allowsReuse: Bool {
        guard isComplete, !connectionClose, minorVersion == 1 else { return false }
        if case .untilClose = framing { return false }
        return true
    }

    /// Consumes bytes; returns true once the response is complete.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(ClientFailure) -> Bool {
        pending.append(contentsOf: bytes)
        var position = 0
        defer {
            if position > 0 { pending.removeFirst(min(position, pending.count)) }
        }
        while true {
            switch stage {
            case .done:
                return true
            case .head:
                // Something that is not HTTP is recognised from its first bytes, not at the timeout.
                let prefix = Array("HTTP/".utf8)
                let visible = min(prefix.count, pending.count - position)
                if visible > 0, !pending[position..<position + visible].elementsEqual(prefix[0..<visible]) {
                    throw .protocolError("not an HTTP response: '\(Self.printable(String(decoding: pending[position...].prefix(40), as: UTF8.self)))'")
                }
                guard let (headEnd, nextStart) = findHeadEnd(from: position) else {
                    if pending.count - position > maxHeadBytes {
                        throw .protocolError("response head larger than \(maxHeadBytes) bytes")
                    }
                    return false
                }
                try parseHead(pending[position..<headEnd])
                position = nextStart
                if (100...199).contains(status) && status != 101 {
                    headers = [] // an interim response: the real one follows
                    continue
                }
                try chooseFraming()
            case .body:
                switch framing {
                case .length(let remaining):
                    let take = min(remaining, pending.count - position)
                    body.append(contentsOf: pending[position..<position + take])
                    position += take
                    framing = .length(remaining - take)
                    if remaining - take == 0 { stage = .done } else { return false }
                case .untilClose:
                    let available = pending.count - position
                    guard body.count + available <= maxBodyBytes else { throw .tooLarge(limit: maxBodyBytes) }
                    body.append(contentsOf: pending[position...])
                    position = pending.count
                    return false
                default:
                    stage = .done
                }
            case .chunkSize:
                guard let (lineEnd, next) = findLineEnd(from: position) else {
                    if pending.count - position > 1024 { throw .protocolError("chunk size line too long") }
                    return false
                }
                let line = String(decoding: pending[position..<lineEnd], as: UTF8.self)
                let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmed } ?? ""
                guard !sizeText.isEmpty, sizeText.count <= 15, let size = Int(sizeText, radix: 16), size >= 0 else {
                    throw .protocolError("invalid chunk size '\(line.prefix(40))'")
                }
                position = next
                if size == 0 {
                    stage = .trailers
                } else {
                    guard body.count + size <= maxBodyBytes else { throw .tooLarge(limit: maxBodyBytes) }
                    stage = .chunkData(size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, pending.count - position)
                body.append(contentsOf: pending[position..<position + take])
                position += take
                if take == remaining { stage = .chunkDataEnd } else {
                    stage = .chunkData(remaining - take)
                    return false
                }
            case .chunkDataEnd:
                guard let (lineEnd, next) = findLineEnd(from: position) else { return false }
                guard lineEnd == position else { throw .protocolError("chunk data not followed by CRLF") }
                position = next
                stage = .chunkSize
            case .trailers:
                // Trailer fields, ignored, up to the blank line that ends the message.
                guard let (lineEnd, next) = findLineEnd(from: position) else { return false }
                let blank = lineEnd == position
                position = next
                if blank { stage = .done }
            }
        }
    }

    /// The connection ended. Completes a body framed by the end of the connection; anything
    /// else still incomplete means the response was cut short.
    mutating func finishAtEndOfStream() throws(ClientFailure) {
        if case .done = stage { return }
        if case .body = stage, case .untilClose = framing {
            stage = .done
            return
        }
        if case .head = stage, pending.isEmpty {
            throw .reset("the server closed the connection without a response")
        }
        throw .reset("the server closed the connection in the middle of the response")
    }

    // MARK: Head

    private mutating func parseHead(_ bytes: ArraySlice<UInt8>) throws(ClientFailure) {
        // Lines end in CRLF or a bare LF; read as bytes, decoded once per field.
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = bytes.startIndex
        for index in bytes.indices where bytes[index] == 10 {
            lines.append(Self.trimmedLine(bytes[lineStart..<index]))
            lineStart = index + 1
        }
        if lineStart < bytes.endIndex { lines.append(Self.trimmedLine(bytes[lineStart...])) }
        let statusLine = lines.first ?? []
        // "HTTP/1.x NNN reason"
        let prefix = Array("HTTP/1.".utf8)
        guard statusLine.count >= 12, statusLine.prefix(7).elementsEqual(prefix),
              let minor = Self.digit(statusLine[statusLine.startIndex + 7]), statusLine[statusLine.startIndex + 8] == 32,
              let hundreds = Self.digit(statusLine[statusLine.startIndex + 9]), hundreds >= 1,
              let tens = Self.digit(statusLine[statusLine.startIndex + 10]), let ones = Self.digit(statusLine[statusLine.startIndex + 11]),
              statusLine.count == 12 || statusLine[statusLine.startIndex + 12] == 32 else {
            throw .protocolError("not an HTTP/1.x response: '\(Self.printable(String(decoding: statusLine.prefix(60), as: UTF8.self)))'")
        }
        minorVersion = minor
        status = hundreds * 100 + tens * 10 + ones
        reason = statusLine.count > 13 ? String(decoding: statusLine[(statusLine.startIndex + 13)...], as: UTF8.self) : ""
        headers = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon != line.startIndex else {
                throw .protocolError("malformed response header line '\(Self.printable(String(decoding: line.prefix(60), as: UTF8.self)))'")
            }
            let name = String(decoding: Self.trimmedSpaces(line[..<colon]), as: UTF8.self)
            let value = String(decoding: Self.trimmedSpaces(line[(colon + 1)...]), as: UTF8.self)
            headers.append((name, value))
        }
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= 48 && byte <= 57 ? Int(byte - 48) : nil
    }

    /// Without a final CR.
    private static func trimmedLine(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.last == 13 ? line.dropLast() : line
    }

    /// Without leading and trailing spaces and tabs.
    private static func trimmedSpaces(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var field = field
        while let first = field.first, first == 32 || first == 9 { field = field.dropFirst() }
        while let last = field.last, last == 32 || last == 9 { field = field.dropLast() }
        return field
    }

    private mutating func chooseFraming() throws(ClientFailure) {
        connectionClose = headers.contains { $0.name.caseInsensitiveEquals("connection") && $0.value.lowercased().contains("close") }
        if isHeadRequest || status == 204 || status == 304 || (100...199).contains(status) {
            framing = .none
            stage = .done
            return
        }
        if let encoding = headers.last(where: { $0.name.caseInsensitiveEquals("transfer-encoding") })?.value,
           encoding.lowercased().split(separator: ",").last?.trimmed == "chunked" {
            framing = .chunked
            stage = .chunkSize
            return
        }
        let lengths = headers.filter { $0.name.caseInsensitiveEquals("content-length") }.map(\.value)
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), first.allSatisfy(\.isNumber), first.count <= 18,
                  let length = Int(first) else {
                throw .protocolError("invalid Content-Length '\(first.prefix(40))'")
            }
            guard length <= maxBodyBytes else { throw .tooLarge(limit: maxBodyBytes) }
            framing = .length(length)
            body.reserveCapacity(length)
            stage = length == 0 ? .done : .body
            return
        }
        framing = .untilClose
        stage = .body
    }

    // MARK: Lines

    /// End of the head (index of its blank line) and the index after it; CRLF or bare LF.
    private func findHeadEnd(from start: Int) -> (Int, Int)? {
        var index = start
        while index < pending.count {
            if pending[index] == 10 {
                // A blank line: LF LF or LF CR LF.
                if index + 1 < pending.count, pending[index + 1] == 10 { return (index, index + 2) }
                if index + 2 < pending.count, pending[index + 1] == 13, pending[index + 2] == 10 { return (index, index + 3) }
            }
            index += 1
        }
        return nil
    }

    /// End of a line (before CR LF or LF) and the index after it.
    private func findLineEnd(from start: Int) -> (Int, Int)? {
        var index = start
        while index < pending.count {
            if pending[index] == 10 {
                let end = index > start && pending[index - 1] == 13 ? index - 1 : index
                return (end, index + 1)
            }
            index += 1
        }
        return nil
    }

    private static func printable<S: StringProtocol>(_ text: S) -> String {
        String(text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}
