import CShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's single thread: accepts, reads, parses, answers and times out connections using
/// level-triggered readiness (epoll/kqueue). It sleeps in the poller until a socket is ready, a
/// task posts a response, or the earliest connection deadline; an idle server takes no CPU.
///
/// Everything here is confined to the loop thread except ``post(_:)``/``requestStop(grace:)``
/// (a locked mailbox plus a poller wake-up), hence `@unchecked Sendable`.
/// Counters for tests and diagnostics.
package struct ServerStatistics: Sendable {
    /// Times the loop woke up (events, posted responses, deadlines).
    package var wakeUps = 0
    package var accepted = 0
    /// Connections turned away with 503 at the connection cap.
    package var refused = 0
    package var open = 0
}

final class EventLoop: @unchecked Sendable {
    struct Limits {
        var maxConnections: Int
        var maxHeadBytes: Int
        var maxHeaderCount: Int
        var maxBodyBytes: Int
        /// Milliseconds for a whole request (head and body) to arrive once it has started.
        var requestTimeout: UInt64
        /// Milliseconds a keep-alive connection may sit between requests.
        var idleTimeout: UInt64
        /// Milliseconds a response may wait for the client to read it.
        var writeTimeout: UInt64
        /// Milliseconds to keep reading (and discarding) after a closing response, so that
        /// unread request bytes do not turn the close into a reset that destroys the response.
        var lingerTimeout: UInt64 = 2000
    }

    private struct Completion {
        let fd: Int32
        let id: UInt64
        let response: InfoResponse
    }

    private struct Mailbox {
        var completions: [Completion] = []
        var stopGrace: UInt64?
    }

    let statistics = Locked(ServerStatistics())
    private let poller: Poller
    private var listeners: [Int32]
    private let handler: any HTTPHandler
    private let limits: Limits
    private let parser: RequestParser
    private var encoder = ResponseEncoder()
    private var connections: [Connection?] = []
    private var connectionCount = 0
    private var nextConnectionID: UInt64 = 1
    private let readBuffer: UnsafeMutableRawBufferPointer
    /// Responses produced while handling one event, sent with one system call.
    private var scratch: [UInt8] = []
    private let mailbox = Locked(Mailbox())
    private var now: UInt64 = 0
    private var epochSecond = 0
    private var nextSweep: UInt64 = .max
    private var acceptPausedUntil: UInt64?
    private var stopDeadline: UInt64?
    private let onExit: @Sendable () -> Void

    init(listeners: [Int32], handler: any HTTPHandler, limits: Limits, onExit: @escaping @Sendable () -> Void) throws {
        self.poller = try Poller()
        self.listeners = listeners
        self.handler = handler
        self.limits = limits
        self.parser = RequestParser(maxHeadBytes: limits.maxHeadBytes, maxHeaderCount: limits.maxHeaderCount)
        self.onExit = onExit
        self.readBuffer = .allocate(byteCount: 32 * 1024, alignment: 16)
        scratch.reserveCapacity(16 * 1024)
        for fd in listeners {
            try poller.add(fd, read: true, write: false)
        }
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: Cross-thread entry points

    /// Hands a finished async response back to the loop.
    private func post(_ completion: Completion) {
        mailbox.withLock { $0.completions.append(completion) }
        poller.wake()
    }

    /// Stops accepting, closes idle connections, lets requests in progress finish for `grace`
    /// milliseconds, then closes everything and ends the thread.
    func requestStop(grace: UInt64) {
        mailbox.withLock { mailbox in
            mailbox.stopGrace = min(mailbox.stopGrace ?? .max, grace)
        }
        poller.wake()
    }

    // MARK: The loop

    func run() {
        now = Self.monotonicMilliseconds()
        epochSecond = time(nil)
        while true {
            if let stopDeadline, connectionCount == 0 || now >= stopDeadline { break }
            let count = poller.wait(timeoutMilliseconds: timeout())
            now = Self.monotonicMilliseconds()
            epochSecond = time(nil)
            statistics.withLock { $0.wakeUps += 1 }
            for index in 0..<count {
                let event = poller.event(at: index)
                if event.isWakeUp {
                    drainMailbox()
                } else if listeners.contains(event.fd) {
                    acceptConnections(from: event.fd)
                } else if let connection = connection(event.fd) {
                    if event.readable { handleReadable(connection) }
                    if event.writable, isOpen(connection) { handleWritable(connection) }
                    if event.hangup, isOpen(connection) { closeConnection(connection) }
                }
            }
            if now >= nextSweep || (acceptPausedUntil.map { now >= $0 } ?? false) { sweep() }
        }
        for case let connection? in connections { closeConnection(connection) }
        closeListeners()
        statistics.withLock { $0.open = 0 }
        onExit()
    }

    private func timeout() -> Int32 {
        var wake = nextSweep
        if let acceptPausedUntil { wake = min(wake, acceptPausedUntil) }
        if let stopDeadline { wake = min(wake, stopDeadline) }
        if wake == .max { return -1 }
        if wake <= now { return 0 }
        return Int32(min(wake - now, UInt64(Int32.max)))
    }

    // MARK: Accepting

    private func acceptConnections(from listener: Int32) {
        while true {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { cshims_accept(listener, $0, &peerLength) }
            }
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: stop accepting briefly instead of spinning on a ready listener.
                    pauseAccepting()
                    return
                default: return // EAGAIN: the backlog is empty.
                }
            }
            if connectionCount >= limits.maxConnections && !evictIdleConnection() {
                refuse(fd)
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            do {
                try poller.add(fd, read: true, write: false)
            } catch {
                close(fd)
                continue
            }
            let connection = Connection(fd: fd, id: nextConnectionID, now: now, clientAddress: Listener.host(peer))
            nextConnectionID += 1
            if Int(fd) >= connections.count {
                connections.append(contentsOf: repeatElement(nil, count: max(Int(fd) + 1 - connections.count, 64)))
            }
            connections[Int(fd)] = connection
            connectionCount += 1
            statistics.withLock {
                $0.accepted += 1
                $0.open = connectionCount
            }
            updateDeadline(connection)
        }
    }

    /// At the connection cap, the longest-idle keep-alive connection makes room for a new one,
    /// so idle clients cannot lock out live ones.
    private func evictIdleConnection() -> Bool {
        var oldest: Connection?
        for case let connection? in connections where connection.isIdle {
            if oldest == nil || connection.lastActivity < oldest!.lastActivity { oldest = connection }
        }
        guard let oldest else { return false }
        closeConnection(oldest)
        return true
    }

    private func refuse(_ fd: Int32) {
        // Counted first: a client that has its 503 finds it in the statistics.
        statistics.withLock { $0.refused += 1 }
        var bytes: [UInt8] = []
        encoder.encodeError(status: 503, reason: "too many connections (limit \(limits.maxConnections))",
                            epochSecond: epochSecond, into: &bytes)
        _ = bytes.withUnsafeBytes { cshims_send(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private func pauseAccepting() {
        guard acceptPausedUntil == nil else { return }
        acceptPausedUntil = now + 100
        for fd in listeners { poller.update(fd, read: false, write: false, wasRead: true, wasWrite: false) }
    }

    private func resumeAccepting() {
        acceptPausedUntil = nil
        for fd in listeners { poller.update(fd, read: true, write: false, wasRead: false, wasWrite: false) }
    }

    private func closeListeners() {
        for fd in listeners {
            poller.remove(fd, wasRead: acceptPausedUntil == nil, wasWrite: false)
            close(fd)
        }
        listeners = []
    }

    // MARK: Reading and parsing

    private func handleReadable(_ connection: Connection) {
        let count = read(connection.fd, readBuffer.baseAddress, readBuffer.count)
        if count < 0 {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            closeConnection(connection)
            return
        }
        if count == 0 {
            // The client finished sending. Answer what it asked for, then close.
            if connection.lingering || (!connection.awaitingResponse && !connection.hasPendingOutput) {
                closeConnection(connection)
            } else {
                connection.closeAfterWrite = true
                connection.input = []
                updateInterest(connection)
                updateDeadline(connection)
            }
            return
        }
        connection.lastActivity = now
        if connection.lingering { return }
        let fresh = UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])
        if connection.input.isEmpty {
            let consumed = process(connection, fresh)
            if consumed < count, !connection.closeAfterWrite {
                connection.input.append(contentsOf: fresh[consumed...])
            }
        } else {
            let previousCount = connection.input.count
            connection.input.append(contentsOf: fresh)
            // Re-parsing a long partial head on every small read would be quadratic (a slowloris
            // amplifier): parse again only when the new bytes can end the head or break a rule.
            if !connection.headIncomplete || connection.input.count >= limits.maxHeadBytes
                || Self.mayEndHead(connection.input, newFrom: previousCount) {
                consumeInput(connection)
            }
        }
        finish(connection)
    }

    /// True when the bytes from `newFrom` on contain a CRLFCRLF or a bare LF.
    static func mayEndHead(_ input: [UInt8], newFrom: Int) -> Bool {
        var index = max(newFrom, 0)
        while index < input.count {
            if input[index] == 10 {
                if index == 0 || input[index - 1] != 13 { return true }
                if index >= 3, input[index - 2] == 10, input[index - 3] == 13 { return true }
            }
            index += 1
        }
        return false
    }

    /// Parses what is buffered on the connection (after an async response, or more bytes).
    private func consumeInput(_ connection: Connection) {
        guard !connection.input.isEmpty, !connection.awaitingResponse else { return }
        let input = connection.input
        let consumed = input.withUnsafeBytes { process(connection, $0) }
        if connection.closeAfterWrite {
            connection.input = []
        } else if consumed > 0 {
            connection.input.removeFirst(consumed)
        }
    }

    /// Answers every complete request in `bytes`, in order, until one must wait for the
    /// handler's async path or the connection is to close. Returns the bytes consumed.
    private func process(_ connection: Connection, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count, !connection.awaitingResponse, !connection.closeAfterWrite {
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch parser.parse(remaining) {
            case .incomplete:
                if connection.requestStartedAt == nil { connection.requestStartedAt = now }
                connection.headIncomplete = true
                return offset
            case .invalid(let status, let reason):
                reject(connection, status: status, reason: reason)
                return bytes.count
            case .head(let head):
                connection.headIncomplete = false
                if head.hasTransferEncoding {
                    // Only Content-Length bodies are read; chunked uploads have no use here.
                    reject(connection, status: limits.maxBodyBytes == 0 ? 413 : 411,
                           reason: limits.maxBodyBytes == 0 ? "request bodies are not accepted"
                               : "send the body with a Content-Length, not Transfer-Encoding")
                    return bytes.count
                }
                if head.contentLength > limits.maxBodyBytes {
                    reject(connection, status: 413, reason: limits.maxBodyBytes == 0 ? "request bodies are not accepted"
                        : "the body exceeds \(limits.maxBodyBytes) bytes")
                    return bytes.count
                }
                let total = head.length + head.contentLength
                guard remaining.count >= total else {
                    if connection.requestStartedAt == nil { connection.requestStartedAt = now }
                    if head.expectsContinue, !connection.sentContinue {
                        scratch.append(contentsOf: ResponseEncoder.continueLine)
                        connection.sentContinue = true
                    }
                    return offset
                }
                let body = head.contentLength > 0 ? [UInt8](remaining[head.length..<total]) : []
                offset += total
                connection.requestStartedAt = nil
                connection.sentContinue = false
                answer(connection, head: head, body: body)
            }
        }
        return offset
    }

    private func answer(_ connection: Connection, head: RequestHead, body: [UInt8]) {
        let request = HTTPRequest(method: head.method, path: head.path, query: head.query, headers: head.headers, body: body,
                                  clientAddress: connection.clientAddress)
        let keepAlive = head.keepAlive && stopDeadline == nil
        let isHead = head.method == "HEAD"
        if let response = handler.respondImmediately(to: request) {
            encoder.encode(response, head: isHead, keepAlive: keepAlive, http10: head.minorVersion == 0,
                           epochSecond: epochSecond, into: &scratch)
            if !keepAlive { connection.closeAfterWrite = true }
            return
        }
        connection.awaitingResponse = true
        connection.pendingIsHead = isHead
        connection.pendingKeepAlive = keepAlive && head.minorVersion == 1
        let handler = self.handler, fd = connection.fd, id = connection.id
        Task {
            let response = await handler.respond(to: request)
            self.post(Completion(fd: fd, id: id, response: response))
        }
    }

    private func reject(_ connection: Connection, status: Int, reason: String) {
        encoder.encodeError(status: status, reason: reason, epochSecond: epochSecond, into: &scratch)
        connection.closeAfterWrite = true
        connection.requestStartedAt = nil
    }

    private func drainMailbox() {
        let mail = mailbox.withLock { mailbox in
            defer { mailbox = Mailbox() }
            return mailbox
        }
        if let grace = mail.stopGrace, stopDeadline == nil { beginStop(grace: grace) }
        for completion in mail.completions {
            guard let connection = connection(completion.fd), connection.id == completion.id,
                  connection.awaitingResponse else { continue }
            connection.awaitingResponse = false
            let keepAlive = connection.pendingKeepAlive && stopDeadline == nil && !connection.closeAfterWrite
            encoder.encode(completion.response, head: connection.pendingIsHead, keepAlive: keepAlive, http10: false,
                           epochSecond: epochSecond, into: &scratch)
            if !keepAlive { connection.closeAfterWrite = true }
            consumeInput(connection)
            finish(connection)
        }
    }

    // MARK: Writing

    /// Sends what `process` produced, then sets interest and deadline for what comes next.
    private func finish(_ connection: Connection) {
        if !scratch.isEmpty {
            if connection.hasPendingOutput {
                connection.output.append(contentsOf: scratch)
            } else {
                let sent = scratch.withUnsafeBytes { cshims_send(connection.fd, $0.baseAddress, $0.count) }
                if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                    scratch.removeAll(keepingCapacity: true)
                    closeConnection(connection)
                    return
                }
                let written = max(0, sent)
                if written < scratch.count {
                    connection.output = Array(scratch[written...])
                    connection.outputSent = 0
                }
            }
            if scratch.capacity > 1 << 20 {
                scratch = []
                scratch.reserveCapacity(16 * 1024)
            } else {
                scratch.removeAll(keepingCapacity: true)
            }
        }
        if !connection.hasPendingOutput, connection.closeAfterWrite, !connection.awaitingResponse, !connection.lingering {
            beginLingeringClose(connection)
        }
        updateInterest(connection)
        updateDeadline(connection)
    }

    private func handleWritable(_ connection: Connection) {
        while connection.hasPendingOutput {
            let sent = connection.output.withUnsafeBytes {
                cshims_send(connection.fd, $0.baseAddress! + connection.outputSent, $0.count - connection.outputSent)
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                closeConnection(connection)
                return
            }
            connection.outputSent += sent
            connection.lastActivity = now
        }
        if !connection.hasPendingOutput {
            connection.output = []
            connection.outputSent = 0
            // Requests that arrived while the client was not reading are answered now.
            consumeInput(connection)
        }
        finish(connection)
    }

    /// Half-closes and drains, so the client reads the final response instead of a reset.
    private func beginLingeringClose(_ connection: Connection) {
        shutdown(connection.fd, Int32(SHUT_WR))
        connection.lingering = true
        connection.input = []
        connection.lastActivity = now
    }

    // MARK: Interest, deadlines, closing

    private func updateInterest(_ connection: Connection) {
        guard isOpen(connection) else { return }
        let read = connection.lingering
            || (!connection.awaitingResponse && !connection.hasPendingOutput && !connection.closeAfterWrite)
        let write = connection.hasPendingOutput
        poller.update(connection.fd, read: read, write: write,
                      wasRead: connection.readRegistered, wasWrite: connection.writeRegistered)
        connection.readRegistered = read
        connection.writeRegistered = write
    }

    private func updateDeadline(_ connection: Connection) {
        guard isOpen(connection) else { return }
        let deadline: UInt64
        if connection.lingering {
            deadline = connection.lastActivity + limits.lingerTimeout
        } else if connection.hasPendingOutput {
            deadline = connection.lastActivity + limits.writeTimeout
        } else if connection.awaitingResponse {
            deadline = .max // The handler bounds its own work (health checks have timeouts).
        } else if let started = connection.requestStartedAt {
            deadline = started + limits.requestTimeout
        } else {
            deadline = connection.lastActivity + limits.idleTimeout
        }
        connection.deadline = deadline
        if deadline < nextSweep { nextSweep = deadline }
    }

    private func sweep() {
        if let acceptPausedUntil, now >= acceptPausedUntil, stopDeadline == nil { resumeAccepting() }
        nextSweep = .max
        for case let connection? in connections {
            if connection.deadline <= now { expire(connection) }
            if isOpen(connection), connection.deadline < nextSweep { nextSweep = connection.deadline }
        }
    }

    private func expire(_ connection: Connection) {
        if connection.lingering || connection.hasPendingOutput || connection.requestStartedAt == nil {
            closeConnection(connection) // linger over, client not reading, or idle too long
            return
        }
        connection.input = []
        reject(connection, status: 408, reason: "the request did not arrive within \(limits.requestTimeout)ms")
        finish(connection)
    }

    private func beginStop(grace: UInt64) {
        stopDeadline = now + grace
        closeListeners()
        for case let connection? in connections where connection.isIdle {
            closeConnection(connection)
        }
    }

    private func connection(_ fd: Int32) -> Connection? {
        Int(fd) < connections.count ? connections[Int(fd)] : nil
    }

    private func isOpen(_ connection: Connection) -> Bool {
        Int(connection.fd) < connections.count && connections[Int(connection.fd)] === connection
    }

    private func closeConnection(_ connection: Connection) {
        guard isOpen(connection) else { return }
        poller.remove(connection.fd, wasRead: connection.readRegistered, wasWrite: connection.writeRegistered)
        close(connection.fd)
        connections[Int(connection.fd)] = nil
        connectionCount -= 1
        statistics.withLock { $0.open = connectionCount }
    }

    static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
