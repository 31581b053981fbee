import Foundation
import InfoEndpoint

/// A service on 127.0.0.1 whose `/info` version a test changes between cycles (a deployment, a
/// rollback), or takes down (answers 503). Records the headers of the last request.
public final class VersionedService: @unchecked Sendable {
    private let lock = NSLock()
    private var currentVersion: String
    private var currentRevision: String?
    private var isDown = false
    private var headers: [(name: String, value: String)] = []
    private let server: HTTPServer
    private let handler = Handler()

    public init(version: String, revision: String? = nil) throws {
        currentVersion = version
        currentRevision = revision
        server = HTTPServer(configuration: InfoServer.Configuration(host: "127.0.0.1", port: 0), handler: handler)
        handler.owner = self
        try server.start()
    }

    public var port: Int { server.port }
    public var url: String { "http://127.0.0.1:\(port)/info" }

    public var version: String {
        get { lock.withLock { currentVersion } }
        set { lock.withLock { currentVersion = newValue } }
    }

    public var revision: String? {
        get { lock.withLock { currentRevision } }
        set { lock.withLock { currentRevision = newValue } }
    }

    /// Answers 503 while true.
    public var down: Bool {
        get { lock.withLock { isDown } }
        set { lock.withLock { isDown = newValue } }
    }

    /// A header of the last request.
    public func lastHeader(_ name: String) -> String? {
        lock.withLock { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    public func stop() async { await server.stop(gracePeriod: .milliseconds(100)) }

    fileprivate func answer(_ request: HTTPRequest) -> InfoResponse {
        lock.withLock {
            headers = request.headers
            if isDown { return InfoResponse(status: 503, contentType: "text/plain", body: "down for maintenance\n") }
            var body = #"{"name":"checkout","version":"\#(currentVersion)""#
            if let currentRevision { body += #","revision":"\#(currentRevision)""# }
            return InfoResponse(status: 200, contentType: "application/json", body: body + "}")
        }
    }

    private final class Handler: HTTPHandler, @unchecked Sendable {
        weak var owner: VersionedService?
        func respondImmediately(to request: HTTPRequest) -> InfoResponse? {
            owner?.answer(request) ?? InfoResponse(status: 503)
        }
        func respond(to request: HTTPRequest) async -> InfoResponse { respondImmediately(to: request)! }
    }
}
