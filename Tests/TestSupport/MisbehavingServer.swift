#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif
import Foundation

/// A deliberately badly behaved HTTP server on 127.0.0.1, one thread per connection, for
/// testing what clients do with it. Paths:
///
/// | path | behaviour |
/// | --- | --- |
/// | `/version/V` | 200 `{"version":"V"}`, keep-alive |
/// | `/json/TEXT` | 200 with TEXT (percent-decoded) as an `application/json` body |
/// | `/never` | reads the request, never answers (until `stop()`) |
/// | `/reset` | reads the request, then resets the connection (RST) |
/// | `/close` | reads the request, then closes without answering |
/// | `/garbage` | answers bytes that are not HTTP |
/// | `/status/N` | status N with a small JSON body |
/// | `/html` | 200 `text/html` |
/// | `/huge` | 200 with `Content-Length` 50 MB, streamed |
/// | `/huge-chunked` | 200 chunked, 50 MB, streamed |
/// | `/stall-body` | headers promising 100 bytes, then 10, then silence |
/// | `/loop-a`, `/loop-b` | 302 to each other |
/// | `/hop/N` | 302 to `/hop/N-1`; `/hop/0` answers `{"version":"hop"}` |
/// | `/chunked/V` | 200 chunked `{"version":"V"}` (with a chunk extension) |
/// | `/chunked-trailer` | 200 chunked `abcd` followed by a trailer field |
/// | `/http10/V` | HTTP/1.0 response without length, body ends at close |
public final class MisbehavingServer: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var clients: Set<Int32> = []
    private var stopped = false
    private var open = 0
    /// The most connections that were open at the same time.
    public private(set) var peakConnections = 0
    /// Requests received, by path (for asserting what clients sent).
    public private(set) var requests: [(path: String, head: String)] = []

    public init() throws {
        (listener, port) = try listenOnLoopback()
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    public func stop() {
        let (wasStopped, open) = lock.withLock { () -> (Bool, Set<Int32>) in
            defer { stopped = true; clients = [] }
            return (stopped, clients)
        }
        guard !wasStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = lock.withLock { () -> Bool in
                if stopped { return false }
                clients.insert(fd)
                open += 1
                peakConnections = max(peakConnections, open)
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            #if canImport(Darwin)
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            Thread.detachNewThread { [self] in serve(fd) }
        }
    }

    private func forget(_ fd: Int32) {
        lock.withLock {
            _ = clients.remove(fd)
            open -= 1
        }
        close(fd)
    }

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        defer { forget(fd) }
        while true {
            guard let head = readHead(fd, &buffer) else { return }
            let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
            let parts = requestLine.split(separator: " ")
            var path = parts.count > 1 ? String(parts[1]) : "/"
            if let question = path.firstIndex(of: "?") { path = String(path[..<question]) }
            lock.withLock { requests.append((path, head)) }
            guard respond(fd, path: path) else { return }
        }
    }

    /// Answers one request; false when the connection must end.
    private func respond(_ fd: Int32, path: String) -> Bool {
        func json(_ status: Int, _ body: String, extra: String = "") -> Bool {
            write(fd, "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)")
        }
        if path.hasPrefix("/version/") {
            return json(200, #"{"version":"\#(path.dropFirst(9))"}"#)
        }
        if path.hasPrefix("/json/") {
            return json(200, String(path.dropFirst(6)).removingPercentEncoding ?? "")
        }
        if path.hasPrefix("/status/"), let status = Int(path.dropFirst(8)) {
            return json(status, #"{"version":"1.4.2","error":"status \#(status)"}"#)
        }
        if path.hasPrefix("/chunked/") {
            let body = #"{"version":"\#(path.dropFirst(9))"}"#
            let half = body.utf8.count / 2
            let first = String(body.prefix(half)), second = String(body.dropFirst(half))
            return write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(first.utf8.count, radix: 16) + "\r\n" + first + "\r\n"
                + String(second.utf8.count, radix: 16) + ";ext=1\r\n" + second + "\r\n0\r\n\r\n")
        }
        if path == "/chunked-plain" {
            return write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
        }
        if path == "/chunked-extension" {
            return write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nabcd\r\n0\r\n\r\n")
        }
        if path == "/chunked-trailer" {
            return write(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\nX-Trailer: y\r\n\r\n")
        }
        if path.hasPrefix("/http10/") {
            _ = write(fd, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + #"{"version":"\#(path.dropFirst(8))"}"#)
            return false
        }
        if path.hasPrefix("/hop/"), let hops = Int(path.dropFirst(5)) {
            if hops == 0 { return json(200, #"{"version":"hop"}"#) }
            return write(fd, "HTTP/1.1 302 Found\r\nLocation: /hop/\(hops - 1)\r\nContent-Length: 0\r\n\r\n")
        }
        switch path {
        case "/never":
            var byte: UInt8 = 0
            while recv(fd, &byte, 1, 0) < 0 && errno == EINTR {} // blocks until the client goes away or stop()
            return false
        case "/reset":
            var reset = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
            return false
        case "/close":
            return false
        case "/garbage":
            _ = write(fd, "SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n")
            return false
        case "/html":
            return write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 45\r\n\r\n<html><body><h1>Welcome</h1></body></html>\r\n\r\n")
        case "/huge", "/huge-chunked":
            let chunked = path == "/huge-chunked"
            let total = 50 * 1024 * 1024
            guard write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: \(total)\r\n\r\n")) else { return false }
            let block = [UInt8](repeating: UInt8(ascii: " "), count: 64 * 1024)
            let chunkHead = Array((String(block.count, radix: 16) + "\r\n").utf8)
            var sent = 0
            while sent < total {
                if chunked, !write(fd, chunkHead) { return false }
                guard write(fd, block) else { return false }
                if chunked, !write(fd, Array("\r\n".utf8)) { return false }
                sent += block.count
            }
            if chunked { _ = write(fd, "0\r\n\r\n") }
            return false
        case "/stall-body":
            _ = write(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"version\":")
            var byte: UInt8 = 0
            while recv(fd, &byte, 1, 0) < 0 && errno == EINTR {}
            return false
        case "/loop-a":
            return write(fd, "HTTP/1.1 302 Found\r\nLocation: /loop-b\r\nContent-Length: 0\r\n\r\n")
        case "/loop-b":
            return write(fd, "HTTP/1.1 302 Found\r\nLocation: \(url("/loop-a"))\r\nContent-Length: 0\r\n\r\n")
        default:
            return json(404, #"{"error":"no such path"}"#)
        }
    }

    private func readHead(_ fd: Int32, _ buffer: inout [UInt8]) -> String? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = Self.headEnd(buffer) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                return head
            }
            var count = recv(fd, &chunk, chunk.count, 0)
            while count < 0, errno == EINTR { count = recv(fd, &chunk, chunk.count, 0) }
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    private static func headEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func write(_ fd: Int32, _ text: String) -> Bool {
        write(fd, Array(text.utf8))
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            #else
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
            #endif
            if sent < 0, errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }
}
