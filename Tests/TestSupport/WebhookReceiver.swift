import Foundation
import InfoEndpoint

/// An alert receiver on 127.0.0.1 that records what it gets and answers as a test scripts it:
/// a list of statuses for the first requests (then 200), optional `Retry-After`, or holding a
/// request unanswered until `release()` (a watcher killed while sending).
public final class WebhookReceiver: HTTPHandler, @unchecked Sendable {
    public struct Request: Sendable {
        public var path: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    private let lock = NSLock()
    private var recorded: [Request] = []
    private var script: [Int]
    private let retryAfter: String?
    private var holding = false
    private let echoPath: Bool
    private var held: [CheckedContinuation<Void, Never>] = []
    private var arrivals: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private let forwarder = Forwarder()
    private let realServer: HTTPServer

    /// - Parameters:
    ///   - statuses: the answers to the first requests, in order (then 200).
    ///   - holdFirst: leave the first request unanswered until `release()`.
    ///   - echoPath: error answers carry the request path in their body, as many servers' error
    ///     pages do (a webhook URL's path is its secret).
    public init(statuses: [Int] = [], retryAfter: String? = nil, holdFirst: Bool = false, echoPath: Bool = false) throws {
        script = statuses
        self.echoPath = echoPath
        self.retryAfter = retryAfter
        holding = holdFirst
        var configuration = InfoServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maxBodyBytes = 1 << 20
        configuration.requestTimeout = .seconds(120)
        realServer = HTTPServer(configuration: configuration, handler: forwarder)
        forwarder.target = self
        try realServer.start()
    }

    public var port: Int { realServer.port }
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    public var requests: [Request] { lock.withLock { recorded } }

    /// Answers the held request(s).
    public func release() {
        let waiters = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            holding = false
            defer { held = [] }
            return held
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `count` requests have arrived.
    public func waitForRequests(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = lock.withLock { () -> Bool in
                if recorded.count >= count { return true }
                arrivals.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    public func stop() async {
        release()
        await realServer.stop(gracePeriod: .milliseconds(200))
    }

    package func respond(to request: HTTPRequest) async -> InfoResponse {
        let (status, hold, ready) = lock.withLock { () -> (Int, Bool, [CheckedContinuation<Void, Never>]) in
            recorded.append(Request(path: request.path, headers: request.headers, body: request.body))
            let status = script.isEmpty ? 200 : script.removeFirst()
            let hold = holding
            var ready: [CheckedContinuation<Void, Never>] = []
            arrivals.removeAll { waiter in
                guard recorded.count >= waiter.count else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return (status, hold, ready)
        }
        for waiter in ready { waiter.resume() }
        if hold {
            await withCheckedContinuation { continuation in
                let stillHolding = lock.withLock { () -> Bool in
                    if holding { held.append(continuation) }
                    return holding
                }
                if !stillHolding { continuation.resume() }
            }
        }
        var headers: [(name: String, value: String)] = []
        if status == 429 || status == 503, let retryAfter { headers.append(("Retry-After", retryAfter)) }
        let body = status < 300 ? "ok" : echoPath ? "no route for POST \(request.path) (status \(status))" : "status \(status)"
        return InfoResponse(status: status, contentType: "text/plain", body: body, headers: headers)
    }
}

/// Lets the receiver be created before it is the server's handler.
private final class Forwarder: HTTPHandler, @unchecked Sendable {
    weak var target: WebhookReceiver?
    func respond(to request: HTTPRequest) async -> InfoResponse {
        await target?.respond(to: request) ?? InfoResponse(status: 503)
    }
}
