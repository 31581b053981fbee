import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The demo's load balancer: an HTTP proxy on 127.0.0.1 that sends every request to the one
/// backend it is switched to, as a blue/green cut-over does.
final class DemoRouter: HTTPHandler, Sendable {
    private let backend: Locked<(name: String, port: Int)>
    private let client: HTTPClient

    init(name: String, port: Int) throws {
        backend = Locked((name, port))
        client = try HTTPClient(userAgent: "demo-router")
    }

    var current: String { backend.current.name }

    func route(to name: String, port: Int) {
        backend.withLock { $0 = (name, port) }
    }

    func respond(to request: HTTPRequest) async -> InfoResponse {
        let (_, port) = backend.current
        let target = request.path + (request.query.map { "?\($0)" } ?? "")
        let forwarded = request.headers.filter { !["host", "connection", "content-length"].contains($0.name.lowercased()) }
        let outcome = await client.execute(ClientRequest(host: "127.0.0.1", port: port, method: request.method, target: target,
                                                         headers: forwarded, body: request.body))
        switch outcome {
        case .success(let response):
            let headers = response.headers.filter {
                !["connection", "content-length", "transfer-encoding", "keep-alive"].contains($0.name.lowercased())
            }
            return InfoResponse(status: response.status, headers: headers, body: response.body)
        case .failure(let failure):
            return InfoResponse(status: 502, contentType: "text/plain", body: "router: the backend did not answer: \(failure)\n")
        }
    }
}

/// The demo's alert receiver: records what versioncheck's webhook channel posts.
final class AlertInbox: HTTPHandler, Sendable {
    private let received = Locked<[[UInt8]]>([])

    var alerts: [JSONValue] { received.current.compactMap { try? JSONParser().parse($0) } }

    func respond(to request: HTTPRequest) async -> InfoResponse {
        guard request.method == "POST" else { return InfoResponse(status: 405) }
        received.withLock { $0.append(request.body) }
        return InfoResponse(status: 202, contentType: "text/plain", body: "accepted\n")
    }
}
