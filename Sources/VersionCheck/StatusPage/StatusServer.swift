import DeployVerifyKit
import Foundation
import InfoEndpoint

/// Who may see the status page: anyone, or requests with the bearer token (in `Authorization`,
/// or in the cookie a browser gets by giving the token to the login form), or requests that
/// carry the header an authenticating proxy in front sets (`--trusted-proxy-header`).
package struct StatusAccess: Sendable {
    package var token: String?
    package var proxyHeader: String?
    package static let cookieName = "versioncheck_token"

    package init(token: String? = nil, proxyHeader: String? = nil) {
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.proxyHeader = proxyHeader.flatMap { $0.isEmpty ? nil : $0 }
    }

    package var isOpen: Bool { token == nil && proxyHeader == nil }

    package func allows(_ request: HTTPRequest) -> Bool {
        if isOpen { return true }
        if let proxyHeader, let value = request.header(proxyHeader), !value.trimmed.isEmpty { return true }
        guard let token else { return false }
        let expected = Array(token.utf8)
        if InfoResponder.authorized(request.header("Authorization"), token: expected) { return true }
        if let presented = Self.cookie(Self.cookieName, in: request.header("Cookie")) {
            return InfoResponder.authorized("Bearer " + presented, token: expected)
        }
        return false
    }

    /// The value of a cookie in a `Cookie` header.
    static func cookie(_ name: String, in header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                return parts[1].trimmingCharacters(in: .whitespaces).removingPercentEncoding
            }
        }
        return nil
    }
}

/// `versioncheck serve`: the status page, live, and its API.
///
/// - `GET /` the page (query: `service`, `env`, `since`, `until`, `page`), refreshing itself
///   with the two below.
/// - `GET /api/status` the fleet's status (`service`, `env`), as `status --format json`.
/// - `GET /api/history` events and the bucketed timeline (`service`, `env`, `since`, `until`,
///   `page`, `limit`).
/// - `/metrics` (Prometheus), `/info`, `/health`; `POST /login` takes the token from a form.
///
/// Answers carry an ETag (a repeat poll of an unchanged status is a 304) and a
/// Content-Security-Policy that lets only the page's own script run.
package final class StatusServer: HTTPHandler, Sendable {
    package let source: StatusSource
    private let access: StatusAccess
    private let refresh: Int
    private let info: InfoResponder
    private let redactor: Redactor
    private let requests = Locked<[String: Int]>([:])

    package init(source: StatusSource, access: StatusAccess, refresh: Int, redactor: Redactor) {
        self.source = source
        self.access = access
        self.refresh = refresh
        self.redactor = redactor
        self.info = InfoResponder(info: ServiceInfo(name: "versioncheck-serve", version: DeployVerifyVersion.current))
    }

    /// The Content-Security-Policy of the page: nothing loads from anywhere, only the page's own
    /// script (by its hash) runs, and it may talk only to this server.
    package static let contentSecurityPolicy: String = {
        let hash = Data(SHA256.hash(Array(StatusPageScript.source.utf8))).base64EncodedString()
        return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-\(hash)'; connect-src 'self'; img-src 'self' data:; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }()

    package func respondImmediately(to request: HTTPRequest) -> InfoResponse? {
        if request.path == "/login", request.method == "POST" { return nil }
        guard access.allows(request) else { return unauthorized(request) }
        switch request.path {
        case "/", "/index.html", "/api/status", "/api/history", "/metrics":
            guard request.method == "GET" || request.method == "HEAD" else {
                return InfoResponse(status: 405, contentType: "text/plain; charset=utf-8", body: "use GET\n", headers: [("Allow", "GET, HEAD")])
            }
            return nil
        case "/info", "/health", "/health/live", "/health/ready":
            return info.respondImmediately(to: request)
        default:
            return InfoResponse(status: 404, contentType: "text/plain; charset=utf-8",
                                body: "not found: the page is /, the API /api/status and /api/history\n")
        }
    }

    package func respond(to request: HTTPRequest) async -> InfoResponse {
        if request.path == "/login", request.method == "POST" { return login(request) }
        if let immediate = respondImmediately(to: request) { return immediate }
        requests.withLock { $0[request.path, default: 0] += 1 }
        let snapshot: StatusSnapshot
        do {
            snapshot = try await source.current()
        } catch {
            return InfoResponse(status: 503, contentType: "application/json",
                                body: #"{"error":\#(Self.quoted(redactor.redact("the state cannot be read: \(error)")))}"#,
                                headers: [("Cache-Control", "no-store")])
        }
        let query: StatusQuery
        do {
            query = try StatusQuery(query: request.query)
        } catch {
            if request.path == "/" || request.path == "/index.html" {
                return InfoResponse(status: 400, contentType: "text/html; charset=utf-8",
                                    body: "<!doctype html><title>Bad request</title><p>" + HTMLText.escape(error.description)
                                        + "</p><p><a href=\"?\">the whole fleet</a></p>\n",
                                    headers: [("Content-Security-Policy", Self.contentSecurityPolicy)])
            }
            return InfoResponse(status: 400, contentType: "application/json", body: #"{"error":\#(Self.quoted(error.description))}"#)
        }
        let response: InfoResponse
        switch request.path {
        case "/api/status":
            let status = snapshot.status.filtered(service: query.service, environment: query.environment)
            response = InfoResponse(status: 200, contentType: "application/json", body: status.json)
        case "/api/history":
            let timeline = Timeline(index: snapshot.index, query: query)
            response = InfoResponse(status: 200, contentType: "application/json",
                                    body: StatusAPI.history(timeline, query: query, redactor: redactor))
        case "/metrics":
            response = InfoResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                    body: metrics(snapshot))
        default:
            var page = StatusPage(status: snapshot.status, timeline: Timeline(index: snapshot.index, query: query), query: query,
                                  mode: .live(refresh: refresh))
            page.notes = snapshot.notes
            page.redactor = redactor
            response = InfoResponse(status: 200, contentType: "text/html; charset=utf-8", body: page.render(),
                                    headers: [("Content-Security-Policy", Self.contentSecurityPolicy)])
        }
        return Self.withValidators(response, request: request)
    }

    /// Adds an ETag and the headers every answer carries; a matching `If-None-Match` is a 304.
    static func withValidators(_ response: InfoResponse, request: HTTPRequest) -> InfoResponse {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in response.body {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let tag = "\"\(String(hash, radix: 16))\""
        var headers = response.headers + [("ETag", tag), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
                                          ("Referrer-Policy", "no-referrer")]
        if let match = request.header("If-None-Match"), match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag }) {
            headers.removeAll { $0.name == "Content-Type" }
            return InfoResponse(status: 304, headers: headers)
        }
        return InfoResponse(status: response.status, headers: headers, body: response.body)
    }

    private func unauthorized(_ request: HTTPRequest) -> InfoResponse {
        let wantsPage = request.path == "/" || request.path == "/index.html"
        if wantsPage, access.token != nil {
            return loginPage(status: 401, message: nil)
        }
        var headers: [(name: String, value: String)] = [("Cache-Control", "no-store")]
        if access.token != nil { headers.append(("WWW-Authenticate", #"Bearer realm="versioncheck""#)) }
        let how = access.token != nil ? "send Authorization: Bearer <token>" : "come through the authenticating proxy"
        return InfoResponse(status: 401, contentType: "application/json", body: #"{"error":"unauthorized: \#(how)"}"#, headers: headers)
    }

    private func loginPage(status: Int, message: String?) -> InfoResponse {
        var html = HTMLText(capacity: 1024)
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fleet status: sign in</title></head><body>")
        html.raw("<h1>Fleet status</h1>")
        if let message {
            html.raw("<p role=\"alert\">")
            html.text(message)
            html.raw("</p>")
        }
        html.raw("<form method=\"post\" action=\"login\"><label>Token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus></label> ")
        html.raw("<button type=\"submit\">Sign in</button></form></body></html>\n")
        return InfoResponse(status: status, contentType: "text/html; charset=utf-8", body: html.text,
                            headers: [("Cache-Control", "no-store"), ("Content-Security-Policy", "default-src 'none'; form-action 'self'"),
                                      ("WWW-Authenticate", #"Bearer realm="versioncheck""#)])
    }

    /// `POST /login` with the form's `token`: a cookie for the browser, then the page.
    private func login(_ request: HTTPRequest) -> InfoResponse {
        guard let token = access.token else {
            return InfoResponse(status: 404, contentType: "text/plain; charset=utf-8", body: "no token is needed here\n")
        }
        let form = StatusQuery.parameters(String(decoding: request.body, as: UTF8.self))
        let presented = form.first { $0.0 == "token" }?.1 ?? ""
        guard InfoResponder.authorized("Bearer " + presented, token: Array(token.utf8)) else {
            return loginPage(status: 401, message: "That token is not the one this server was given.")
        }
        let cookie = "\(StatusAccess.cookieName)=\(StatusQuery.encode(token)); Path=/; HttpOnly; SameSite=Strict"
        return InfoResponse(status: 303, headers: [("Location", "./"), ("Set-Cookie", cookie), ("Cache-Control", "no-store")])
    }

    /// Prometheus text: what the page shows, per service and environment.
    private func metrics(_ snapshot: StatusSnapshot) -> String {
        let escape = { (text: String) in
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
        var info = ["# HELP versioncheck_version_info Versions live per service, as the watchers last recorded them.",
                    "# TYPE versioncheck_version_info gauge"]
        var drift = ["# HELP versioncheck_drift Whether an instance of the service reports another version than expected.",
                     "# TYPE versioncheck_drift gauge"]
        var unreachable = ["# HELP versioncheck_unreachable_instances Instances last recorded unreachable.",
                           "# TYPE versioncheck_unreachable_instances gauge"]
        for row in snapshot.status.rows {
            for environment in snapshot.status.environments {
                guard let cell = row.cells[environment] else { continue }
                let labels = "service=\"\(escape(row.service))\",environment=\"\(escape(environment))\""
                for version in cell.versions { info.append("versioncheck_version_info{\(labels),version=\"\(escape(version.version))\"} 1") }
                drift.append("versioncheck_drift{\(labels)} \(cell.drift ? 1 : 0)")
                unreachable.append("versioncheck_unreachable_instances{\(labels)} \(cell.unreachable)")
            }
        }
        let counts = requests.current
        let own = ["# HELP versioncheck_history_events Events in the history the page draws.", "# TYPE versioncheck_history_events gauge",
                   "versioncheck_history_events \(snapshot.index.entries.count)",
                   "# HELP versioncheck_serve_requests_total Requests answered, by path.", "# TYPE versioncheck_serve_requests_total counter"]
            + counts.keys.sorted().map { "versioncheck_serve_requests_total{path=\"\(escape($0))\"} \(counts[$0]!)" }
        return (info + drift + unreachable + own).joined(separator: "\n") + "\n"
    }

    private static func quoted(_ text: String) -> String {
        var json = ""
        JSONText.appendQuoted(text, to: &json)
        return json
    }
}
