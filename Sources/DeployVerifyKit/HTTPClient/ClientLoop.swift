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

/// The caller's side of one exchange: its continuation, resumed exactly once, and whether it
/// was cancelled (which the loop checks whenever it looks at the exchange).
final class ExchangeTicket: @unchecked Sendable {
    let id: UInt64
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>?
    private var cancelledFlag = false

    init(id: UInt64) {
        self.id = id
    }

    func attach(_ continuation: CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>) {
        lock.withLock { self.continuation = continuation }
    }

    var isCancelled: Bool { lock.withLock { cancelledFlag } }

    func cancel() {
        lock.withLock { cancelledFlag = true }
    }

    func resume(_ result: Result<ClientResponse, ClientFailure>) {
        let continuation = lock.withLock { () -> CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(returning: result)
    }
}

/// A resolved socket address.
struct SocketAddress: @unchecked Sendable {
    var storage: sockaddr_storage
    var length: socklen_t
    var family: Int32
}

/// The client's single thread: connects, writes, reads and times out every exchange of one
/// ``HTTPClient`` with level-triggered readiness, keeping idle keep-alive connections per host.
/// State is confined to the loop thread; other threads talk to it through the mailbox.
final class ClientLoop: @unchecked Sendable {
    private struct HostKey: Hashable {
        let host: String
        let port: Int
    }

    private enum Phase: String {
        case resolving = "resolving the host name"
        case connecting = "connecting"
        case sending = "sending the request"
        case waiting = "waiting for the response"
        case receiving = "reading the response"
    }

    private final class Exchange {
        let ticket: ExchangeTicket
        let request: ClientRequest
        let key: HostKey
        let started: ContinuousClock.Instant
        let connectDeadline: UInt64
        let deadline: UInt64
        var phase = Phase.resolving
        var addresses: [SocketAddress] = []
        var nextAddress = 0
        var connection: Connection?
        var parser: ResponseParser
        var requestBytes: [UInt8] = []
        var sent = 0
        var connected: Duration?
        var firstByte: Duration?
        var reused = false
        var retriedStaleConnection = false

        init(ticket: ExchangeTicket, request: ClientRequest, started: ContinuousClock.Instant, now: UInt64) {
            self.ticket = ticket
            self.request = request
            self.key = HostKey(host: request.host, port: request.port)
            self.started = started
            self.connectDeadline = now + request.connectTimeout.milliseconds
            self.deadline = now + request.timeout.milliseconds
            self.parser = ResponseParser(maxBodyBytes: request.maxBodyBytes, isHeadRequest: request.method == "HEAD")
        }

        var elapsed: Duration { ContinuousClock.now - started }
    }

    private final class Connection {
        let fd: Int32
        let key: HostKey
        var exchange: Exchange?
        var readRegistered = false
        var writeRegistered = false
        var idleSince: UInt64 = 0
        var established = false

        init(fd: Int32, key: HostKey) {
            self.fd = fd
            self.key = key
        }
    }

    private struct Mailbox {
        var submissions: [(ExchangeTicket, ClientRequest, ContinuousClock.Instant)] = []
        var cancelled: [ExchangeTicket] = []
        var resolved: [(HostKey, Result<[SocketAddress], ClientFailure>)] = []
        var shutdown = false
    }

    private let poller: Poller
    private let mailbox = Locked(Mailbox())
    private let idleTimeout: UInt64
    private var exchanges: [UInt64: Exchange] = [:]
    private var connections: [Int32: Connection] = [:]
    private var idle: [HostKey: [Connection]] = [:]
    private var waitingForAddresses: [HostKey: [Exchange]] = [:]
    private var addressCache: [HostKey: (addresses: [SocketAddress], expires: UInt64)] = [:]
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    private var now: UInt64 = 0
    private var nextSweep: UInt64 = .max
    private let userAgent: String

    init(idleTimeout: Duration, userAgent: String) throws {
        self.poller = try Poller()
        self.idleTimeout = idleTimeout.milliseconds
        self.userAgent = userAgent
        let thread = Thread { [self] in run() }
        thread.name = "HTTPClient"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: Cross-thread entry points

    func submit(_ ticket: ExchangeTicket, _ request: ClientRequest, started: ContinuousClock.Instant) {
        mailbox.withLock { $0.submissions.append((ticket, request, started)) }
        poller.wake()
    }

    func cancel(_ ticket: ExchangeTicket) {
        ticket.cancel()
        mailbox.withLock { $0.cancelled.append(ticket) }
        poller.wake()
    }

    func shutdown() {
        mailbox.withLock { $0.shutdown = true }
        poller.wake()
    }

    // MARK: The loop

    private func run() {
        while true {
            now = Self.monotonicMilliseconds()
            let timeout: Int32 = nextSweep == .max ? -1 : nextSweep <= now ? 0 : Int32(min(nextSweep - now, 60_000))
            let count = poller.wait(timeoutMilliseconds: timeout)
            now = Self.monotonicMilliseconds()
            var stop = false
            for index in 0..<count {
                let event = poller.event(at: index)
                if event.isWakeUp {
                    stop = drainMailbox() || stop
                    continue
                }
                guard let connection = connections[event.fd] else { continue }
                if event.writable { handleWritable(connection) }
                if (event.readable || event.hangup), connections[event.fd] === connection { handleReadable(connection) }
            }
            if stop { break }
            if now >= nextSweep { sweep() }
        }
        for exchange in exchanges.values { finish(exchange, .failure(.cancelled)) }
        for connection in connections.values { closeConnection(connection) }
    }

    /// Returns true when the loop must end.
    private func drainMailbox() -> Bool {
        let mail = mailbox.withLock { mailbox in
            defer { mailbox = Mailbox() }
            return mailbox
        }
        for (key, result) in mail.resolved { addressesResolved(key, result) }
        for (ticket, request, started) in mail.submissions { start(ticket, request, started: started) }
        for ticket in mail.cancelled {
            if let exchange = exchanges[ticket.id] { fail(exchange, .cancelled) }
        }
        return mail.shutdown
    }

    // MARK: Starting an exchange

    private func start(_ ticket: ExchangeTicket, _ request: ClientRequest, started: ContinuousClock.Instant) {
        let exchange = Exchange(ticket: ticket, request: request, started: started, now: now)
        if ticket.isCancelled {
            ticket.resume(.failure(.cancelled))
            return
        }
        exchanges[ticket.id] = exchange
        schedule(exchange.deadline)
        exchange.requestBytes = encode(request)
        if !request.freshConnection, let connection = takeIdleConnection(for: exchange.key) {
            exchange.reused = true
            attach(exchange, to: connection)
            send(exchange)
            return
        }
        resolveAndConnect(exchange)
    }

    private func resolveAndConnect(_ exchange: Exchange) {
        if let literal = Self.literalAddress(exchange.request.host, port: exchange.request.port) {
            exchange.addresses = [literal]
            connect(exchange)
            return
        }
        if let cached = addressCache[exchange.key], cached.expires > now {
            exchange.addresses = cached.addresses
            connect(exchange)
            return
        }
        exchange.phase = .resolving
        schedule(exchange.connectDeadline)
        let key = exchange.key
        if waitingForAddresses[key] == nil {
            waitingForAddresses[key] = [exchange]
            // getaddrinfo blocks: it runs on a thread of its own, and the exchange's deadline
            // still applies if it never returns.
            Thread.detachNewThread { [self] in
                let result = Self.resolve(key.host, port: key.port)
                mailbox.withLock { $0.resolved.append((key, result)) }
                poller.wake()
            }
        } else {
            waitingForAddresses[key]!.append(exchange)
        }
    }

    private func addressesResolved(_ key: HostKey, _ result: Result<[SocketAddress], ClientFailure>) {
        let waiting = waitingForAddresses.removeValue(forKey: key) ?? []
        switch result {
        case .success(let addresses):
            addressCache[key] = (addresses, now + 30_000)
            for exchange in waiting where exchanges[exchange.ticket.id] === exchange {
                exchange.addresses = addresses
                connect(exchange)
            }
        case .failure(let failure):
            for exchange in waiting where exchanges[exchange.ticket.id] === exchange { fail(exchange, failure) }
        }
    }

    /// Connects to the next address; a refused or unreachable address moves on to the next one.
    private func connect(_ exchange: Exchange) {
        exchange.phase = .connecting
        schedule(exchange.connectDeadline)
        var lastFailure = ClientFailure.connectFailed("no address to connect to")
        while exchange.nextAddress < exchange.addresses.count {
            var address = exchange.addresses[exchange.nextAddress]
            exchange.nextAddress += 1
            let fd = socket(address.family, streamSocket, 0)
            guard fd >= 0 else {
                lastFailure = .connectFailed("socket: \(Self.describeErrno(errno))")
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            #if canImport(Darwin)
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let result = withUnsafePointer(to: &address.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc_connect(fd, $0, address.length) }
            }
            let code = errno
            if result == 0 || code == EINPROGRESS {
                let connection = Connection(fd: fd, key: exchange.key)
                connections[fd] = connection
                do {
                    try poller.add(fd, read: false, write: true)
                    connection.writeRegistered = true
                } catch {
                    connections[fd] = nil
                    close(fd)
                    lastFailure = .connectFailed("cannot watch the socket")
                    continue
                }
                attach(exchange, to: connection)
                if result == 0 { connectionEstablished(connection) }
                return
            }
            close(fd)
            lastFailure = Self.connectFailure(code, exchange)
        }
        fail(exchange, lastFailure)
    }

    private func connectionEstablished(_ connection: Connection) {
        connection.established = true
        guard let exchange = connection.exchange else { return }
        exchange.connected = exchange.elapsed
        send(exchange)
    }

    private func attach(_ exchange: Exchange, to connection: Connection) {
        exchange.connection = connection
        connection.exchange = exchange
    }

    // MARK: Writing

    private func send(_ exchange: Exchange) {
        guard let connection = exchange.connection else { return }
        exchange.phase = .sending
        while exchange.sent < exchange.requestBytes.count {
            let sent = exchange.requestBytes.withUnsafeBytes {
                cshims_send(connection.fd, $0.baseAddress! + exchange.sent, $0.count - exchange.sent)
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                connectionLost(exchange, "sending the request failed: \(Self.describeErrno(errno))")
                return
            }
            exchange.sent += sent
        }
        if exchange.sent == exchange.requestBytes.count {
            exchange.phase = .waiting
            setInterest(connection, read: true, write: false)
        } else {
            setInterest(connection, read: false, write: true)
        }
    }

    private func handleWritable(_ connection: Connection) {
        guard let exchange = connection.exchange else { return }
        if !connection.established {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 {
                let failure = Self.connectFailure(code, exchange)
                detach(connection)
                closeConnection(connection)
                exchange.connection = nil
                if exchange.nextAddress < exchange.addresses.count {
                    connect(exchange)
                } else {
                    fail(exchange, failure)
                }
                return
            }
            connectionEstablished(connection)
            return
        }
        send(exchange)
    }

    // MARK: Reading

    private func handleReadable(_ connection: Connection) {
        let count = read(connection.fd, readBuffer.baseAddress, readBuffer.count)
        guard let exchange = connection.exchange else {
            // An idle keep-alive connection that the server closed (or wrote to): drop it.
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            removeIdle(connection)
            closeConnection(connection)
            return
        }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            connectionLost(exchange, errno == ECONNRESET ? "the connection was reset by the server" : Self.describeErrno(errno))
            return
        }
        if count == 0 {
            do {
                try exchange.parser.finishAtEndOfStream()
                complete(exchange)
            } catch {
                connectionLost(exchange, nil, failure: error)
            }
            return
        }
        if exchange.firstByte == nil { exchange.firstByte = exchange.elapsed }
        exchange.phase = .receiving
        do {
            if try exchange.parser.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count])) {
                complete(exchange)
            }
        } catch {
            fail(exchange, error)
        }
    }

    /// The connection died under an exchange. A reused keep-alive connection that dies before
    /// any byte of the response arrived was most likely closed by the server while idle:
    /// an idempotent request is retried once on a new connection.
    private func connectionLost(_ exchange: Exchange, _ message: String?, failure: ClientFailure? = nil) {
        let idempotent = ["GET", "HEAD", "OPTIONS"].contains(exchange.request.method)
        if exchange.reused, exchange.firstByte == nil, !exchange.retriedStaleConnection, idempotent,
           let connection = exchange.connection {
            detach(connection)
            closeConnection(connection)
            exchange.connection = nil
            exchange.retriedStaleConnection = true
            exchange.reused = false
            exchange.sent = 0
            exchange.parser = ResponseParser(maxBodyBytes: exchange.request.maxBodyBytes,
                                             isHeadRequest: exchange.request.method == "HEAD")
            resolveAndConnect(exchange)
            return
        }
        fail(exchange, failure ?? .reset(message ?? "the connection was lost"))
    }

    // MARK: Finishing

    private func complete(_ exchange: Exchange) {
        let parser = exchange.parser
        let response = ClientResponse(status: parser.status, reason: parser.reason, headers: parser.headers, body: parser.body,
                                      connected: exchange.connected, firstByte: exchange.firstByte ?? exchange.elapsed,
                                      total: exchange.elapsed, reusedConnection: exchange.reused)
        if let connection = exchange.connection {
            detach(connection)
            if parser.allowsReuse, !exchange.request.freshConnection {
                connection.idleSince = now
                setInterest(connection, read: true, write: false)
                idle[connection.key, default: []].append(connection)
                schedule(now + idleTimeout)
            } else {
                closeConnection(connection)
            }
        }
        finish(exchange, .success(response))
    }

    private func fail(_ exchange: Exchange, _ failure: ClientFailure) {
        if let connection = exchange.connection {
            detach(connection)
            closeConnection(connection)
        }
        finish(exchange, .failure(failure))
    }

    private func finish(_ exchange: Exchange, _ result: Result<ClientResponse, ClientFailure>) {
        exchange.connection = nil
        exchanges[exchange.ticket.id] = nil
        exchange.ticket.resume(result)
    }

    private func detach(_ connection: Connection) {
        connection.exchange?.connection = nil
        connection.exchange = nil
    }

    // MARK: Connections

    private func takeIdleConnection(for key: HostKey) -> Connection? {
        guard var pool = idle[key], !pool.isEmpty else { return nil }
        let connection = pool.removeLast()
        idle[key] = pool.isEmpty ? nil : pool
        return connection
    }

    private func removeIdle(_ connection: Connection) {
        idle[connection.key]?.removeAll { $0 === connection }
        if idle[connection.key]?.isEmpty == true { idle[connection.key] = nil }
    }

    private func setInterest(_ connection: Connection, read: Bool, write: Bool) {
        poller.update(connection.fd, read: read, write: write,
                      wasRead: connection.readRegistered, wasWrite: connection.writeRegistered)
        connection.readRegistered = read
        connection.writeRegistered = write
    }

    private func closeConnection(_ connection: Connection) {
        guard connections[connection.fd] === connection else { return }
        poller.remove(connection.fd, wasRead: connection.readRegistered, wasWrite: connection.writeRegistered)
        close(connection.fd)
        connections[connection.fd] = nil
    }

    // MARK: Deadlines

    private func schedule(_ deadline: UInt64) {
        if deadline < nextSweep { nextSweep = deadline }
    }

    private func sweep() {
        nextSweep = .max
        for exchange in Array(exchanges.values) {
            let connecting = exchange.phase == .resolving || exchange.phase == .connecting
            if now >= exchange.deadline {
                fail(exchange, .timeout(phase: exchange.phase.rawValue, after: exchange.request.timeout))
            } else if connecting, now >= exchange.connectDeadline {
                fail(exchange, .timeout(phase: exchange.phase.rawValue, after: exchange.request.connectTimeout))
            } else {
                schedule(connecting ? min(exchange.deadline, exchange.connectDeadline) : exchange.deadline)
            }
        }
        for (key, pool) in idle {
            var kept: [Connection] = []
            for connection in pool {
                if now >= connection.idleSince + idleTimeout {
                    closeConnection(connection)
                } else {
                    kept.append(connection)
                    schedule(connection.idleSince + idleTimeout)
                }
            }
            idle[key] = kept.isEmpty ? nil : kept
        }
    }

    // MARK: Helpers

    private func encode(_ request: ClientRequest) -> [UInt8] {
        var head = "\(request.method) \(request.target) HTTP/1.1\r\n"
        let has = { (name: String) in request.headers.contains { $0.name.caseInsensitiveEquals(name) } }
        if !has("Host") {
            let host = request.host.contains(":") ? "[\(request.host)]" : request.host
            head += "Host: \(host)\(request.port == 80 ? "" : ":\(request.port)")\r\n"
        }
        if !has("User-Agent") { head += "User-Agent: \(userAgent)\r\n" }
        for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method), !has("Content-Length") {
            head += "Content-Length: \(request.body.count)\r\n"
        }
        if request.freshConnection, !has("Connection") { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + request.body
    }

    private static func connectFailure(_ code: Int32, _ exchange: Exchange) -> ClientFailure {
        let target = "\(exchange.request.host):\(exchange.request.port)"
        switch code {
        case ECONNREFUSED: return .refused("connection refused by \(target)")
        case ETIMEDOUT: return .timeout(phase: Phase.connecting.rawValue, after: exchange.request.connectTimeout)
        default: return .connectFailed("cannot connect to \(target): \(describeErrno(code))")
        }
    }

    private static func literalAddress(_ host: String, port: Int) -> SocketAddress? {
        var storage = sockaddr_storage()
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    address.pointee.sin_family = sa_family_t(AF_INET)
                    address.pointee.sin_port = UInt16(port).bigEndian
                    address.pointee.sin_addr = v4
                }
                return SocketAddress(storage: pointer.pointee, length: socklen_t(MemoryLayout<sockaddr_in>.size), family: AF_INET)
            }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    address.pointee.sin6_family = sa_family_t(AF_INET6)
                    address.pointee.sin6_port = UInt16(port).bigEndian
                    address.pointee.sin6_addr = v6
                }
                return SocketAddress(storage: pointer.pointee, length: socklen_t(MemoryLayout<sockaddr_in6>.size), family: AF_INET6)
            }
        }
        return nil
    }

    private static func resolve(_ host: String, port: Int) -> Result<[SocketAddress], ClientFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            let reason = status == EAI_SYSTEM ? describeErrno(errno) : String(cString: gai_strerror(status))
            return .failure(.dns("cannot resolve '\(host)': \(reason)"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr, entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) {
                    $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(entry.pointee.ai_addrlen)))
                }
                addresses.append(SocketAddress(storage: storage, length: entry.pointee.ai_addrlen, family: entry.pointee.ai_family))
            }
            cursor = entry.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(.dns("'\(host)' has no IPv4 or IPv6 address")) : .success(addresses)
    }

    static func describeErrno(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}

/// `connect` is shadowed inside `ClientLoop` by its method of the same name.
private func Glibc_connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
