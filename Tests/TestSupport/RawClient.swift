#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif
import Foundation

/// One HTTP response as read off the wire.
public struct RawResponse: Sendable {
    public var status: Int
    public var statusLine: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// A deliberately dumb TCP client: sends exactly the bytes a test gives it and reads what comes
/// back, so malformed requests reach the server untouched. Reads run on a thread of their own.
public final class RawClient: @unchecked Sendable {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: Int, host: String = "127.0.0.1", receiveTimeout: Double = 15) throws {
        var hints = addrinfo()
        hints.ai_socktype = streamSocket
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let address = result else {
            throw TestFailure("cannot resolve \(host)")
        }
        defer { freeaddrinfo(address) }
        fd = socket(address.pointee.ai_family, streamSocket, 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval()
        timeout.tv_sec = .init(receiveTimeout.rounded(.down))
        timeout.tv_usec = .init((receiveTimeout - receiveTimeout.rounded(.down)) * 1_000_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let message = String(cString: strerror(errno))
            Self.closeDescriptor(fd)
            throw TestFailure("connect to \(host):\(port): \(message)")
        }
    }

    private var closed = false

    deinit { close() }

    /// Closes the socket (also done when the client is released).
    public func close() {
        guard !closed else { return }
        closed = true
        Self.closeDescriptor(fd)
    }

    private static func closeDescriptor(_ fd: Int32) {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }

    /// Sends all of `bytes`; throws if the server closed the connection.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            #else
            let sent = bytes.withUnsafeBytes { Darwin.send(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
            #endif
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { throw TestFailure("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    public func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// `GET path` with a Host header, then its response.
    public func get(_ path: String, method: String = "GET", headers: [String] = []) async throws -> RawResponse {
        try send("\(method) \(path) HTTP/1.1\r\nHost: test\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        return try await response(forHead: method == "HEAD")
    }

    /// A request with a body, then its response.
    public func request(_ method: String, _ path: String, body: String, headers: [String] = []) async throws -> RawResponse {
        try send("\(method) \(path) HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "\r\n" + body)
        return try await response()
    }

    /// Reads one response (Content-Length framed; for HEAD, no body).
    public func response(forHead: Bool = false) async throws -> RawResponse {
        try await blocking { try self.readResponse(forHead: forHead) }
    }

    /// Reads `count` pipelined responses in one go.
    public func responses(_ count: Int) async throws -> [RawResponse] {
        try await blocking { try (0..<count).map { _ in try self.readResponse(forHead: false) } }
    }

    /// Everything until the server closes the connection (throws on timeout).
    public func readUntilClose() async throws -> [UInt8] {
        try await blocking {
            while try self.fill() {}
            defer { self.buffer = [] }
            return self.buffer
        }
    }

    /// True when the server has closed the connection (a read returns end of file or a reset).
    public func isClosedByServer() async throws -> Bool {
        try await blocking {
            var byte: UInt8 = 0
            var count = recv(self.fd, &byte, 1, 0)
            while count < 0, errno == EINTR { count = recv(self.fd, &byte, 1, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
            self.buffer.append(byte)
            return false
        }
    }

    private func readResponse(forHead: Bool) throws -> RawResponse {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let range = Self.find(terminator, in: buffer) {
                headEnd = range
            } else if try !fill() {
                throw TestFailure("connection closed before a complete response head (got \(buffer.count) bytes: \(String(decoding: buffer, as: UTF8.self).prefix(200)))")
            }
        }
        let headText = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw TestFailure("bad status line: \(statusLine)")
        }
        let headers = lines.map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        buffer.removeFirst(headEnd! + 4)
        var response = RawResponse(status: status, statusLine: statusLine, headers: headers, body: [])
        let length = forHead || status == 100 ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        while buffer.count < length {
            guard try fill() else { throw TestFailure("connection closed inside a response body") }
        }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    /// Reads more bytes into the buffer; false at end of file.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        var count = recv(fd, &chunk, chunk.count, 0)
        while count < 0, errno == EINTR { count = recv(fd, &chunk, chunk.count, 0) }
        if count == 0 { return false }
        if count < 0 {
            if errno == ECONNRESET { return false }
            throw TestFailure("recv: \(String(cString: strerror(errno)))")
        }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<start + needle.count]) == needle { return start }
        }
        return nil
    }
}
