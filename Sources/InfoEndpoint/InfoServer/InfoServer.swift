import Foundation

/// A standalone HTTP/1.1 server for an admin port, answering `/info`, `/health`,
/// `/health/live`, `/health/ready` and `/metrics`, so a service with no HTTP stack (a worker, a
/// consumer) gets them in two lines:
///
/// ```swift
/// let server = InfoServer(info: ServiceInfo(name: "billing-worker"), port: 9090)
/// try server.start()
/// ```
///
/// It runs on one thread of its own (epoll on Linux, kqueue on Darwin), sleeps when nothing
/// happens, and protects itself: heads are capped (431), bodies refused (413), slow or idle
/// clients timed out, connections capped. It keeps serving until ``stop(gracePeriod:)``,
/// even when the last reference to it is dropped.
public final class InfoServer: Sendable {
    /// Where to listen and the protective limits. The defaults suit an admin port.
    public struct Configuration: Sendable {
        /// An IPv4 or IPv6 address or a host name; `0.0.0.0` (the default) listens on every IPv4
        /// interface, `::` on every interface with IPv4 too, `127.0.0.1` on loopback only.
        public var host: String
        /// 0 asks the kernel for a free port; read it from ``InfoServer/port`` after start.
        public var port: Int
        /// Kernel queue of connections not yet accepted (capped by `net.core.somaxconn`).
        public var backlog: Int32 = 4096
        /// Open connections at most; at the cap, the longest-idle one is closed for a newcomer,
        /// and if none is idle the newcomer gets 503.
        public var maxConnections = 1024
        /// Request line plus headers, in bytes (431 beyond).
        public var maxHeaderBytes = 16 * 1024
        /// Header fields per request (431 beyond).
        public var maxHeaderCount = 100
        /// Time for a request to arrive once its first byte has (408 after).
        public var requestTimeout: Duration = .seconds(10)
        /// Time a keep-alive connection may wait for its next request before it is closed.
        public var idleTimeout: Duration = .seconds(30)
        /// Time a response may wait for a client that does not read.
        public var writeTimeout: Duration = .seconds(10)
        /// Request bodies accepted (bytes). The info endpoints take none: 0 answers 413.
        package var maxBodyBytes = 0

        public init(host: String = "0.0.0.0", port: Int) {
            self.host = host
            self.port = port
        }

        func limits() throws -> EventLoop.Limits {
            guard maxConnections > 0 else { throw InfoServerError.invalidConfiguration("maxConnections must be positive") }
            guard maxHeaderBytes >= 256 else { throw InfoServerError.invalidConfiguration("maxHeaderBytes must be at least 256") }
            guard maxHeaderCount > 0 else { throw InfoServerError.invalidConfiguration("maxHeaderCount must be positive") }
            guard backlog > 0 else { throw InfoServerError.invalidConfiguration("backlog must be positive") }
            for (name, value) in [("requestTimeout", requestTimeout), ("idleTimeout", idleTimeout), ("writeTimeout", writeTimeout)]
            where value <= .zero {
                throw InfoServerError.invalidConfiguration("\(name) must be positive")
            }
            return EventLoop.Limits(maxConnections: maxConnections, maxHeadBytes: maxHeaderBytes,
                                    maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes,
                                    requestTimeout: requestTimeout.milliseconds, idleTimeout: idleTimeout.milliseconds,
                                    writeTimeout: writeTimeout.milliseconds)
        }
    }

    /// Answers the requests; register health checks on it.
    public let responder: InfoResponder
    public var configuration: Configuration { server.configuration }
    private let server: HTTPServer

    public init(responder: InfoResponder, configuration: Configuration) {
        self.responder = responder
        self.server = HTTPServer(configuration: configuration, handler: responder)
    }

    /// - Parameter bearerToken: when set, every endpoint requires `Authorization: Bearer <token>`.
    public convenience init(info: ServiceInfo, host: String = "0.0.0.0", port: Int, bearerToken: String? = nil) {
        self.init(responder: InfoResponder(info: info, bearerToken: bearerToken),
                  configuration: Configuration(host: host, port: port))
    }

    /// Binds and starts serving on a thread of its own. Throws ``InfoServerError`` (the port is
    /// taken, the host does not resolve …). When it returns, the server accepts connections.
    public func start() throws {
        try server.start()
    }

    /// The port listened on (the kernel's pick when configured as 0); 0 before ``start()``.
    public var port: Int { server.port }

    /// `host:port` of each listening socket (`127.0.0.1:8080`, `[::1]:8080`).
    public var addresses: [String] { server.addresses }

    /// Stops accepting, lets requests in progress finish within `gracePeriod`, closes all
    /// connections, and returns when the server thread has ended.
    public func stop(gracePeriod: Duration = .seconds(5)) async {
        await server.stop(gracePeriod: gracePeriod)
    }

    /// Starts (unless started) and suspends until the server stops; cancelling the calling task
    /// stops it gracefully.
    public func run() async throws {
        do {
            try server.start()
        } catch InfoServerError.alreadyStarted {}
        await withTaskCancellationHandler {
            await server.waitUntilStopped()
        } onCancel: {
            Task { await self.server.stop() }
        }
    }

    package var statistics: ServerStatistics? { server.statistics }
}
