import Foundation
import InfoEndpoint

/// A stand-in for the Lambda Runtime API (version 2018-06-01) on 127.0.0.1, on the project's
/// own HTTP server: `next` is held until a test queues an event, responses and errors are
/// recorded per request id and answered 202 (or with a status the test scripts), and a test
/// can await them. It stops when the test calls `stop()`, and by itself after `lifetime`.
public final class LambdaRuntimeAPIServer: HTTPHandler, @unchecked Sendable {
    /// One answer to `next`.
    public struct Event: Sendable {
        /// `Lambda-Runtime-Aws-Request-Id`; nil leaves the header out (a malformed answer).
        public var requestID: String?
        public var body: [UInt8]
        /// `Lambda-Runtime-Deadline-Ms` as sent; nil leaves the header out.
        public var deadlineHeader: String?
        public var traceID: String?
        public var functionARN: String?
        public var clientContext: String?
        /// The status of the answer (an event is 200; anything else is sent with Lambda's error
        /// document as the body).
        public var status = 200

        public init(requestID: String?, body: String, deadline: Date = Date().addingTimeInterval(60), traceID: String? = nil,
                    functionARN: String? = "arn:aws:lambda:us-east-1:123456789012:function:deployverify-test") {
            self.requestID = requestID
            self.body = Array(body.utf8)
            self.deadlineHeader = String(Int64((deadline.timeIntervalSince1970 * 1000).rounded(.down)))
            self.traceID = traceID
            self.functionARN = functionARN
        }
    }

    /// A response, invocation error or init error as the runtime posted it.
    public struct Post: Sendable {
        public enum Kind: String, Sendable { case response, error, initError }
        public var kind: Kind
        /// The request id from the path (percent-decoded); nil for an init error.
        public var requestID: String?
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        /// The status it was answered with.
        public var status: Int
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    private let lock = NSLock()
    private var queue: [Event] = []
    private var heldNext: [CheckedContinuation<Event?, Never>] = []
    private var handedOut: Set<String> = []
    private var recorded: [Post] = []
    private var nextCount = 0
    private var scriptedStatus: [String: Int] = [:]
    private var stopped = false
    /// Suspended `wait…` calls, resumed on every change so that they look again.
    private var watchers: [CheckedContinuation<Void, Never>] = []
    private let forwarder = LambdaForwarder()
    private let realServer: HTTPServer
    private var lifetimeTask: Task<Void, Never>?

    /// - Parameter lifetime: the server stops by itself after this long, so that a test that
    ///   fails before `stop()` cannot leave it (and a runtime held in `next`) behind.
    public init(lifetime: Duration = .seconds(60)) throws {
        var configuration = InfoServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maxBodyBytes = 8 << 20      // Lambda takes responses up to 6 MB
        configuration.requestTimeout = .seconds(120)
        configuration.idleTimeout = .seconds(600)  // the runtime's connection waits between invocations
        realServer = HTTPServer(configuration: configuration, handler: forwarder)
        forwarder.target = self
        try realServer.start()
        lifetimeTask = Task { [weak self] in
            try? await Task.sleep(for: lifetime)
            guard !Task.isCancelled else { return }
            await self?.stop()
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    public var endpoint: String { "127.0.0.1:\(realServer.port)" }
    public var environment: [String: String] { ["AWS_LAMBDA_RUNTIME_API": endpoint] }

    /// Everything posted so far, in order of arrival.
    public var posts: [Post] { lock.withLock { recorded } }
    /// `next` requests received so far (including one being held).
    public var nextRequests: Int { lock.withLock { nextCount } }

    /// Queues an event; a `next` being held gets it at once.
    public func enqueue(_ event: Event) {
        let waiter = lock.withLock { () -> CheckedContinuation<Event?, Never>? in
            if heldNext.isEmpty {
                queue.append(event)
                return nil
            }
            if let id = event.requestID { handedOut.insert(id) }
            return heldNext.removeFirst()
        }
        waiter?.resume(returning: event)
    }

    /// Answers the response or error posted for `requestID` with `status` instead of 202.
    public func answerPosts(for requestID: String, with status: Int) {
        lock.withLock { scriptedStatus[requestID] = status }
    }

    /// The response or error posted for `requestID`; nil if the server stops first.
    public func waitForPost(_ requestID: String) async -> Post? {
        await waitUntil { $0.recorded.first { $0.requestID == requestID && $0.kind != .initError } }
    }

    /// The first init error posted; nil if the server stops first.
    public func waitForInitError() async -> Post? {
        await waitUntil { $0.recorded.first { $0.kind == .initError } }
    }

    /// Returns true once `count` `next` requests have arrived; false if the server stops first.
    public func waitForNextRequests(_ count: Int) async -> Bool {
        await waitUntil { $0.nextCount >= count ? true : nil } ?? false
    }

    /// Stops listening, closes every connection (a held `next` sees its connection closed
    /// without an answer), and wakes every waiter. Safe to call more than once.
    public func stop() async {
        let task = lock.withLock { () -> Task<Void, Never>? in
            stopped = true
            defer { lifetimeTask = nil }
            return lifetimeTask
        }
        task?.cancel()
        await realServer.stop(gracePeriod: .milliseconds(50))
        let (held, waiting) = lock.withLock { () -> ([CheckedContinuation<Event?, Never>], [CheckedContinuation<Void, Never>]) in
            defer {
                heldNext = []
                watchers = []
            }
            return (heldNext, watchers)
        }
        for continuation in held { continuation.resume(returning: nil) }
        for watcher in waiting { watcher.resume() }
    }

    // MARK: Serving

    package func respond(to request: HTTPRequest) async -> InfoResponse {
        let prefix = "/2018-06-01/runtime/"
        guard request.path.hasPrefix(prefix) else { return Self.error(404, "UnknownPath", "no such path") }
        let parts = request.path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch (request.method, parts.count, parts.first, parts.last) {
        case ("GET", 2, "invocation", "next"):
            return await next()
        case ("POST", 3, "invocation", "response"), ("POST", 3, "invocation", "error"):
            let id = parts[1].removingPercentEncoding ?? parts[1]
            return record(Post(kind: parts[2] == "response" ? .response : .error, requestID: id,
                               headers: request.headers, body: request.body, status: 0))
        case ("POST", 2, "init", "error"):
            return record(Post(kind: .initError, requestID: nil, headers: request.headers, body: request.body, status: 0))
        default:
            return Self.error(404, "UnknownPath", "no such path")
        }
    }

    private func next() async -> InfoResponse {
        let event = await withCheckedContinuation { (continuation: CheckedContinuation<Event?, Never>) in
            let (ready, watching) = lock.withLock { () -> (Event??, [CheckedContinuation<Void, Never>]) in
                nextCount += 1
                defer { watchers = [] }
                if stopped { return (.some(nil), watchers) }
                if !queue.isEmpty {
                    let event = queue.removeFirst()
                    if let id = event.requestID { handedOut.insert(id) }
                    return (.some(event), watchers)
                }
                heldNext.append(continuation)
                return (nil, watchers)
            }
            for watcher in watching { watcher.resume() }
            if let ready { continuation.resume(returning: ready) }
        }
        guard let event else { return Self.error(500, "Runtime.Stopping", "the Runtime API is stopping") }
        guard event.status == 200 else { return Self.error(event.status, "Scripted", "scripted status \(event.status)") }
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let id = event.requestID { headers.append(("Lambda-Runtime-Aws-Request-Id", id)) }
        if let deadline = event.deadlineHeader { headers.append(("Lambda-Runtime-Deadline-Ms", deadline)) }
        if let arn = event.functionARN { headers.append(("Lambda-Runtime-Invoked-Function-Arn", arn)) }
        if let trace = event.traceID { headers.append(("Lambda-Runtime-Trace-Id", trace)) }
        if let context = event.clientContext { headers.append(("Lambda-Runtime-Client-Context", context)) }
        return InfoResponse(status: 200, headers: headers, body: event.body)
    }

    private func record(_ post: Post) -> InfoResponse {
        var post = post
        let watching = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            if let id = post.requestID {
                post.status = scriptedStatus[id] ?? (handedOut.contains(id) ? 202 : 400)
            } else {
                post.status = 202
            }
            recorded.append(post)
            defer { watchers = [] }
            return watchers
        }
        for watcher in watching { watcher.resume() }
        switch post.status {
        case 202: return InfoResponse(status: 202, contentType: "application/json", body: #"{"status":"OK"}"#)
        case 400: return Self.error(400, "InvalidRequestID", "unknown request id")
        case 413: return Self.error(413, "RequestEntityTooLarge", "Exceeded maximum allowed payload size (6291556 bytes).")
        default: return Self.error(post.status, "Scripted", "scripted status \(post.status)")
        }
    }

    private static func error(_ status: Int, _ type: String, _ message: String) -> InfoResponse {
        InfoResponse(status: status, contentType: "application/json",
                     body: #"{"errorMessage":"\#(message)","errorType":"\#(type)"}"#)
    }

    // MARK: Waiting

    private struct Snapshot {
        var recorded: [Post]
        var nextCount: Int
    }

    /// Looks at the state after every change until `found` returns a value, or the server stops.
    private func waitUntil<T: Sendable>(_ found: @escaping (Snapshot) -> T?) async -> T? {
        while true {
            let (value, isStopped) = lock.withLock { (found(Snapshot(recorded: recorded, nextCount: nextCount)), stopped) }
            if let value { return value }
            if isStopped { return nil }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let lookAgain = lock.withLock { () -> Bool in
                    // Something may have changed between the look above and now.
                    if stopped || found(Snapshot(recorded: recorded, nextCount: nextCount)) != nil { return true }
                    watchers.append(continuation)
                    return false
                }
                if lookAgain { continuation.resume() }
            }
        }
    }
}

/// Lets the server be created before it is the HTTP server's handler.
private final class LambdaForwarder: HTTPHandler, @unchecked Sendable {
    weak var target: LambdaRuntimeAPIServer?
    func respond(to request: HTTPRequest) async -> InfoResponse {
        await target?.respond(to: request) ?? InfoResponse(status: 503)
    }
}
