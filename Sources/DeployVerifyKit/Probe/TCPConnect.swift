import CShims
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// Whether something accepts TCP connections at host:port, and how fast.
package enum TCPConnect {
    /// Connects (trying each address the host resolves to) and closes again. Returns the time
    /// to connect, or why it failed, within `timeout`; a cancelled caller gets `.cancelled` at once.
    package static func attempt(host: String, port: Int, timeout: Duration) async -> Result<Duration, ProbeFailure> {
        let outcome = Locked<CheckedContinuation<Result<Duration, ProbeFailure>, Never>?>(nil)
        @Sendable func finish(_ result: Result<Duration, ProbeFailure>) {
            outcome.withLock { slot in
                slot?.resume(returning: result)
                slot = nil
            }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                outcome.withLock { $0 = continuation }
                Thread.detachNewThread { finish(connect(host: host, port: port, timeout: timeout)) }
            }
        } onCancel: {
            finish(.failure(.cancelled))
        }
    }

    private static func connect(host: String, port: Int, timeout: Duration) -> Result<Duration, ProbeFailure> {
        let started = ContinuousClock.now
        let deadline = started + timeout
        var hints = addrinfo()
        hints.ai_socktype = streamSocket
        hints.ai_flags = AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        let status = getaddrinfo(name, String(port), &hints, &results)
        guard status == 0, let first = results else {
            return .failure(.dns("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(first) }
        var failure = ProbeFailure.connectFailed("no address to connect to")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            let fd = socket(entry.pointee.ai_family, streamSocket, 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            var code: Int32 = 0
            if Glibc_connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else {
                    failure = classify(errno, host: host, port: port, timeout: timeout)
                    continue
                }
                var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                while true {
                    let remaining = deadline - .now
                    guard remaining > .zero else { return .failure(.timeout("no connection within \(DurationText.format(timeout))")) }
                    let ready = poll(&descriptor, 1, Int32(min(remaining.milliseconds, 60_000)))
                    if ready < 0, errno == EINTR { continue }
                    if ready == 0 { return .failure(.timeout("no connection within \(DurationText.format(timeout))")) }
                    break
                }
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            }
            if code == 0 { return .success(ContinuousClock.now - started) }
            failure = classify(code, host: host, port: port, timeout: timeout)
        }
        return .failure(failure)
    }

    private static func classify(_ code: Int32, host: String, port: Int, timeout: Duration) -> ProbeFailure {
        switch code {
        case ECONNREFUSED: .refused("connection refused by \(host):\(port)")
        case ETIMEDOUT: .timeout("no connection within \(DurationText.format(timeout))")
        default: .connectFailed("cannot connect to \(host):\(port): \(String(cString: strerror(code)))")
        }
    }
}

private func Glibc_connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
