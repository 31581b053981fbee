/// A parsed HTTP/1.1 request as the server hands it to a handler.
package struct HTTPRequest: Sendable {
    /// The method token as sent (`GET`); methods are case-sensitive.
    package var method: String
    /// The request target's path, without the query (`/info`).
    package var path: String
    /// The query without `?`, if any.
    package var query: String?
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// The address of the connection's peer (`127.0.0.1`, `::1`), without its port; nil when
    /// unknown. Behind a proxy it is the proxy's.
    package var clientAddress: String?

    package init(method: String, path: String, query: String? = nil,
                 headers: [(name: String, value: String)] = [], body: [UInt8] = [], clientAddress: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.clientAddress = clientAddress
    }

    /// The first value of a header, matched case-insensitively.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }
}

/// What `HTTPServer` asks of the code behind it.
package protocol HTTPHandler: Sendable {
    /// Called on the server's event-loop thread; answer here when the answer needs no waiting
    /// (a cached document). Return nil to have ``respond(to:)`` called on a task instead.
    func respondImmediately(to request: HTTPRequest) -> InfoResponse?
    func respond(to request: HTTPRequest) async -> InfoResponse
}

extension HTTPHandler {
    package func respondImmediately(to request: HTTPRequest) -> InfoResponse? { nil }
}
