import Foundation
import InfoEndpoint

/// One HTTP/1.1 request for ``HTTPClient`` (plain `http://` only).
package struct ClientRequest: Sendable {
    package var host: String
    package var port: Int
    package var method: String
    /// Path and query as they go on the request line (`/info?x=1`).
    package var target: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// Time allowed to resolve the name and establish the connection.
    package var connectTimeout: Duration
    /// Time allowed for the whole exchange, connecting included.
    package var timeout: Duration
    /// Responses with a larger body fail with ``ClientFailure/tooLarge(limit:)``, unread.
    package var maxBodyBytes: Int
    /// Use a new connection and close it afterwards (`Connection: close`), so that a load
    /// balancer gets to choose a backend for each request.
    package var freshConnection: Bool

    package init(host: String, port: Int, method: String = "GET", target: String = "/",
                 headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                 connectTimeout: Duration = .seconds(2), timeout: Duration = .seconds(5),
                 maxBodyBytes: Int = 1 << 20, freshConnection: Bool = false) {
        self.host = host
        self.port = port
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        self.freshConnection = freshConnection
    }
}

/// A complete response and how long it took. All times are measured from the request's start.
package struct ClientResponse: Sendable {
    package var status: Int
    package var reason: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// Connection established (nil when an idle keep-alive connection was reused).
    package var connected: Duration?
    /// First byte of the response received.
    package var firstByte: Duration
    package var total: Duration
    package var reusedConnection: Bool

    package init(status: Int, reason: String, headers: [(name: String, value: String)], body: [UInt8],
                 connected: Duration?, firstByte: Duration, total: Duration, reusedConnection: Bool) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.connected = connected
        self.firstByte = firstByte
        self.total = total
        self.reusedConnection = reusedConnection
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }
}

/// Why an exchange produced no response.
package enum ClientFailure: Error, Sendable, Equatable {
    /// The host name did not resolve.
    case dns(String)
    /// Nothing listens there (connection refused).
    case refused(String)
    /// Network or host unreachable, and other errors while connecting.
    case connectFailed(String)
    /// A deadline passed; `phase` says where (`connecting`, `waiting for the response` …).
    case timeout(phase: String, after: Duration)
    /// The peer closed or reset the connection before the response was complete.
    case reset(String)
    /// The body is larger than allowed.
    case tooLarge(limit: Int)
    /// The bytes received are not an HTTP/1.x response.
    case protocolError(String)
    /// TLS handshake or certificate verification failed (https only).
    case tls(String)
    /// The caller's task was cancelled.
    case cancelled
}

/// Something that performs one exchange for the probe layer: the own client, libcurl,
/// URLSession. `url` and `request` describe the same target.
package protocol ProbeTransport: Sendable {
    func execute(url: URL, request: ClientRequest) async -> Result<ClientResponse, ClientFailure>
}

extension HTTPClient: ProbeTransport {
    package func execute(url: URL, request: ClientRequest) async -> Result<ClientResponse, ClientFailure> {
        await execute(request)
    }
}
