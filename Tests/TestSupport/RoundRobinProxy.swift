#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif
import Foundation
import InfoEndpoint

/// A TCP load balancer on 127.0.0.1 for tests: each new connection goes to the next backend in
/// turn; `route(to:)` switches the backends for new connections (a blue/green cut-over), while
/// open connections keep their backend, as with a real load balancer.
public final class RoundRobinProxy: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var backends: [Int]
    private var next = 0
    private var sockets: Set<Int32> = []
    private var stopped = false

    public init(backends: [Int]) throws {
        self.backends = backends
        (listener, port) = try listenOnLoopback()
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// New connections go to these backends from now on.
    public func route(to backends: [Int]) {
        lock.withLock {
            self.backends = backends
            next = 0
        }
    }

    public func stop() {
        let open = lock.withLock { () -> Set<Int32>? in
            guard !stopped else { return nil }
            stopped = true
            return sockets
        }
        guard let open else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let backend = lock.withLock { () -> Int? in
                guard !stopped, !backends.isEmpty else { return nil }
                defer { next += 1 }
                return backends[next % backends.count]
            }
            guard let backend, let upstream = Self.connect(port: backend) else {
                close(client)
                continue
            }
            lock.withLock {
                sockets.insert(client)
                sockets.insert(upstream)
            }
            let finished = Locked(0)
            for (from, to) in [(client, upstream), (upstream, client)] {
                Thread.detachNewThread { [self] in
                    relay(from: from, to: to)
                    let both = finished.withLock { count -> Bool in
                        count += 1
                        return count == 2
                    }
                    if both {
                        lock.withLock {
                            sockets.remove(client)
                            sockets.remove(upstream)
                        }
                        close(client)
                        close(upstream)
                    }
                }
            }
        }
    }

    private func relay(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            var count = recv(source, &buffer, buffer.count, 0)
            while count < 0, errno == EINTR { count = recv(source, &buffer, buffer.count, 0) }
            if count <= 0 { break }
            var offset = 0
            while offset < count {
                #if canImport(Glibc)
                let sent = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                #else
                let sent = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + offset, count - offset, 0) }
                #endif
                if sent < 0, errno == EINTR { continue }
                if sent <= 0 { break }
                offset += sent
            }
            if offset < count { break }
        }
        shutdown(destination, Int32(SHUT_WR))
    }

    private static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, streamSocket, 0)
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                #if canImport(Glibc)
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                Darwin.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        guard result == 0 else {
            close(fd)
            return nil
        }
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        return fd
    }
}
