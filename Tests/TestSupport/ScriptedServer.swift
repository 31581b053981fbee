import Foundation
import InfoEndpoint

/// An HTTP server on 127.0.0.1 (kernel-chosen port) that answers each request with what the
/// test's closure returns, and records every request it got: a stand-in for metadata
/// endpoints and APIs. Stop it with `stop()`.
package final class ScriptedServer: Sendable {
    private let handler: Handler
    private let server: HTTPServer

    /// - Parameter respond: called for each request, with how many came before it.
    package init(_ respond: @escaping @Sendable (_ request: HTTPRequest, _ index: Int) async -> InfoResponse) throws {
        handler = Handler(respond: respond)
        var configuration = InfoServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.requestTimeout = .seconds(60)
        configuration.maxBodyBytes = 16 << 20
        server = HTTPServer(configuration: configuration, handler: handler)
        try server.start()
    }

    package var port: Int { server.port }
    package func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The requests received so far, in order of arrival.
    package var requests: [HTTPRequest] { handler.recorded.current }

    /// A JSON answer.
    package static func json(_ text: String, status: Int = 200) -> InfoResponse {
        InfoResponse(status: status, contentType: "application/json", body: text)
    }

    /// A plain-text answer.
    package static func text(_ text: String, status: Int = 200) -> InfoResponse {
        InfoResponse(status: status, contentType: "text/plain", body: text)
    }

    package func stop() async {
        await server.stop(gracePeriod: .milliseconds(200))
    }

    private final class Handler: HTTPHandler {
        let respond: @Sendable (HTTPRequest, Int) async -> InfoResponse
        let recorded = Locked<[HTTPRequest]>([])

        init(respond: @escaping @Sendable (HTTPRequest, Int) async -> InfoResponse) {
            self.respond = respond
        }

        func respond(to request: HTTPRequest) async -> InfoResponse {
            let index = recorded.withLock { recorded in
                recorded.append(request)
                return recorded.count - 1
            }
            return await respond(request, index)
        }
    }
}
