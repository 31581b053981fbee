import Foundation

/// Answers `/info`, `/health`, `/health/live`, `/health/ready` and `/metrics` for any HTTP
/// stack: give it a method, a path and the request headers; send back what it returns.
///
/// ```swift
/// let responder = InfoResponder(info: ServiceInfo(name: "checkout", version: "1.4.2"))
/// responder.addHealthCheck("database", timeout: .seconds(2)) {
///     try await database.ping()
///     return .pass
/// }
/// let response = await responder.respond(method: "GET", path: "/info")
/// ```
public final class InfoResponder: Sendable {
    /// The paths served, relative to ``basePath``.
    public static let endpoints = ["/info", "/health", "/health/live", "/health/ready", "/metrics"]

    public let info: ServiceInfo
    /// A prefix every path must start with (`/admin` serves `/admin/info` …); empty by default.
    public let basePath: String

    private let token: [UInt8]?
    private let health = HealthRegistry()
    private let metricsResponse: InfoResponse
    /// `/info` rendered for the current whole second of uptime: under load it is built once a second.
    private let infoCache = Locked<(second: Int, response: InfoResponse)?>(nil)

    /// - Parameters:
    ///   - bearerToken: when set, every endpoint requires `Authorization: Bearer <token>`
    ///     (compared in constant time) and answers 401 otherwise.
    ///   - basePath: a prefix for all endpoints, such as `/admin` or `/actuator`.
    public init(info: ServiceInfo, bearerToken: String? = nil, basePath: String = "") {
        self.info = info
        self.token = bearerToken.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        var base = basePath
        while base.hasSuffix("/") { base.removeLast() }
        if !base.isEmpty, !base.hasPrefix("/") { base = "/" + base }
        self.basePath = base
        self.metricsResponse = InfoResponse(status: 200, contentType: BuildInfoMetrics.contentType,
                                            body: BuildInfoMetrics.render(info))
    }

    /// Registers (or replaces) a named check. It runs when a probe it belongs to is requested,
    /// concurrently with the others, and counts as `fail` if it throws or outlives `timeout`.
    public func addHealthCheck(
        _ name: String,
        probes: HealthProbes = .readiness,
        timeout: Duration = .seconds(5),
        _ check: @escaping @Sendable () async throws -> HealthCheckResult
    ) {
        health.add(HealthCheck(name: name, probes: probes, timeout: timeout, run: check))
    }

    public func removeHealthCheck(named name: String) {
        health.remove(named: name)
    }

    /// Answers one request. `path` may carry a query string; it is ignored.
    public func respond(method: String, path: String, headers: [(String, String)] = []) async -> InfoResponse {
        var pathOnly = path
        var query: String?
        if let question = path.firstIndex(of: "?") {
            pathOnly = String(path[..<question])
            query = String(path[path.index(after: question)...])
        }
        return await respond(to: HTTPRequest(method: method, path: pathOnly, query: query,
                                             headers: headers.map { (name: $0.0, value: $0.1) }))
    }

    // MARK: Routing

    private enum Route {
        case info
        case health(HealthProbes)
        case metrics
    }

    private func route(_ request: HTTPRequest) -> Result<Route, InfoResponseError> {
        if let token, !Self.authorized(request.header("Authorization"), token: token) {
            return .failure(.unauthorized)
        }
        let path: Substring
        if basePath.isEmpty {
            path = Substring(request.path)
        } else {
            guard request.path.hasPrefix(basePath) else { return .failure(.notFound) }
            path = request.path.dropFirst(basePath.count)
        }
        let route: Route
        switch path {
        case "/info": route = .info
        case "/health": route = .health(.all)
        case "/health/live": route = .health(.liveness)
        case "/health/ready": route = .health(.readiness)
        case "/metrics": route = .metrics
        default: return .failure(.notFound)
        }
        guard request.method == "GET" || request.method == "HEAD" else { return .failure(.methodNotAllowed) }
        return .success(route)
    }

    private enum InfoResponseError: Error {
        case unauthorized, notFound, methodNotAllowed
    }

    private func errorResponse(_ error: InfoResponseError) -> InfoResponse {
        switch error {
        case .unauthorized:
            return InfoResponse(status: 401, contentType: "application/json",
                                body: #"{"error":"unauthorized: send Authorization: Bearer <token>"}"#,
                                headers: [("WWW-Authenticate", #"Bearer realm="info""#), ("Cache-Control", "no-store")])
        case .notFound:
            var json = JSONText()
            json.object { json in
                json.member("error", "not found")
                json.key("endpoints")
                json.array { json in
                    for endpoint in Self.endpoints { json.string(basePath + endpoint) }
                }
            }
            return InfoResponse(status: 404, contentType: "application/json", body: json.text)
        case .methodNotAllowed:
            return InfoResponse(status: 405, contentType: "application/json",
                                body: #"{"error":"method not allowed: use GET or HEAD"}"#,
                                headers: [("Allow", "GET, HEAD")])
        }
    }

    private func infoResponse() -> InfoResponse {
        let now = Date()
        let second = Int(info.uptime(at: now))
        return infoCache.withLock { cache in
            if let cache, cache.second == second { return cache.response }
            let response = InfoResponse(status: 200, contentType: "application/json", body: info.infoJSON(at: now),
                                        headers: [("Cache-Control", "no-store")])
            cache = (second, response)
            return response
        }
    }

    private func healthResponse(_ reports: [HealthCheckReport]) -> InfoResponse {
        let status = HealthDocument.status(of: reports)
        return InfoResponse(status: status == .fail ? 503 : 200, contentType: "application/health+json",
                            body: HealthDocument.render(info: info, reports: reports),
                            headers: [("Cache-Control", "no-store")])
    }

    package static func authorized(_ header: String?, token: [UInt8]) -> Bool {
        guard let header else { return false }
        let bytes = Array(header.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count >= scheme.count,
              zip(bytes.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) else { return false }
        var presented = bytes.dropFirst(scheme.count)
        while presented.first == 0x20 { presented = presented.dropFirst() }
        return constantTimeEquals(Array(presented), token)
    }

    /// Equal-length-independent comparison: the time taken depends only on the expected length.
    static func constantTimeEquals(_ presented: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(presented.count == expected.count ? 0 : 1)
        for index in expected.indices {
            let byte = index < presented.count ? presented[index] : 0
            difference |= byte ^ expected[index]
        }
        return difference == 0
    }
}

extension InfoResponder: HTTPHandler {
    package func respondImmediately(to request: HTTPRequest) -> InfoResponse? {
        switch route(request) {
        case .failure(let error):
            return errorResponse(error)
        case .success(.info):
            return infoResponse()
        case .success(.metrics):
            return metricsResponse
        case .success(.health(let probes)):
            return health.hasChecks(for: probes) ? nil : healthResponse([])
        }
    }

    package func respond(to request: HTTPRequest) async -> InfoResponse {
        if let immediate = respondImmediately(to: request) { return immediate }
        guard case .success(.health(let probes)) = route(request) else { return errorResponse(.notFound) }
        return healthResponse(await health.evaluate(probes))
    }
}
