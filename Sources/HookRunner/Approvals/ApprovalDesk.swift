import DeployVerifyKit
import Foundation
import InfoEndpoint
import VersionCheck

/// Where approval links lead: `/approvals/REQUEST/approve` and `/approvals/REQUEST/rollback`,
/// served by `hookrunner serve` or by the waiting step itself (`--approval-listen`).
///
/// - `GET` (and `HEAD`) shows a confirmation page: the deployment's details and a button. It
///   never decides: chat tools fetch links to preview them.
/// - `POST` from that page decides, once: under the trail's lock the token is checked (signed
///   with the approval key, for this request and decision, not expired), the request must not be
///   decided yet, and the person must be an approver when the step names them. Then the decision
///   is appended to the trail, where the waiting step finds it. A refused attempt answers 403 and
///   is recorded as `refused`.
/// - Who decided: the trusted header set by an authenticating proxy (`--trusted-user-header`),
///   else the name typed on the page; with the client's address and the time.
package final class ApprovalDesk: Sendable {
    package let trail: ApprovalTrail
    private let key: [UInt8]
    private let trustedUserHeader: String?
    private let now: @Sendable () -> Date
    private let log: @Sendable (String) -> Void

    package init(trail: ApprovalTrail, key: [UInt8], trustedUserHeader: String?, now: @escaping @Sendable () -> Date = { Date() },
                 log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.trail = trail
        self.key = key
        self.trustedUserHeader = trustedUserHeader
        self.now = now
        self.log = log
    }

    package static let pathPrefix = "/approvals/"

    /// Whether the request is for an approval link.
    package static func handles(_ request: HTTPRequest) -> Bool {
        request.path.hasPrefix(pathPrefix)
    }

    package func respond(to request: HTTPRequest) async -> InfoResponse {
        let parts = request.path.dropFirst(Self.pathPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.isRequestID(parts[0]), let decision = ApprovalDecision(rawValue: String(parts[1])) else {
            return page(404, title: "Not found", ApprovalPage.paragraph("There is no approval link here."))
        }
        let id = String(parts[0])
        switch request.method {
        case "GET", "HEAD": return show(id, decision, request)
        case "POST":
            // The trail's lock may be waited for (another click, another process): on a thread
            // of its own, never blocking the server's task pool.
            return await withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: self.decide(id, decision, request)) }
            }
        default:
            var response = page(405, title: "Method not allowed", ApprovalPage.paragraph("Open the link, then use its button."))
            response.headers.append(("Allow", "GET, HEAD, POST"))
            return response
        }
    }

    // MARK: GET: the confirmation page

    private func show(_ id: String, _ decision: ApprovalDecision, _ request: HTTPRequest) -> InfoResponse {
        let records: [ApprovalRecord]
        do {
            records = try ApprovalTrail.records(path: trail.path, request: id)
        } catch {
            return page(500, title: "Unavailable", ApprovalPage.paragraph("The approval trail cannot be read: \(error)"))
        }
        guard let requested = records.first(where: { $0.event == .requested }) else {
            return page(404, title: "No such request", ApprovalPage.paragraph("There is no approval request \(id)."))
        }
        let token = Self.formValues(request.query ?? "")["token"] ?? ""
        if let problem = ApprovalToken.check(token, key: key, request: requested, decision: decision, now: now()) {
            return page(403, title: "Link not valid", ApprovalPage.paragraph("This link cannot be used: \(problem.description).")
                + ApprovalPage.details(requested))
        }
        if let final = records.last(where: { $0.event.isFinal }) {
            return page(200, title: "Already decided", ApprovalPage.paragraph("\(requested.subject): \(final.summary).")
                + ApprovalPage.details(requested))
        }
        let user = trustedUserHeader.flatMap { request.header($0)?.trimmed.nonEmpty }
        return page(200, title: "\(decision.label) \(requested.subject)?",
                    ApprovalPage.details(requested) + ApprovalPage.form(decision, token: token, user: user,
                                                                        signInRequired: trustedUserHeader != nil))
    }

    // MARK: POST: the decision

    private func decide(_ id: String, _ decision: ApprovalDecision, _ request: HTTPRequest) -> InfoResponse {
        let form = Self.formValues(String(decoding: request.body, as: UTF8.self))
        let token = form["token"] ?? Self.formValues(request.query ?? "")["token"] ?? ""
        // Who: the proxy's header when one is trusted, else the name typed on the page.
        var by: String?
        var via: String
        if let header = trustedUserHeader {
            by = request.header(header).map(Self.cleanName)?.nonEmpty
            via = "header \(header)"
        } else {
            guard let typed = form["name"].map(Self.cleanName)?.nonEmpty else {
                return page(400, title: "Your name, please", ApprovalPage.paragraph("Type your name: it is recorded with the decision.")
                    + ApprovalPage.form(decision, token: token, user: nil, signInRequired: false))
            }
            by = typed
            via = "typed name"
        }
        let time = now()
        var answer: (status: Int, title: String, text: String)?
        do {
            try trail.transact(id) { records in
                func refuse(_ reason: String, _ base: ApprovalRecord?) -> [ApprovalRecord] {
                    var record = base?.follow(.refused, at: time) ?? ApprovalRecord(time: time, event: .refused, request: id)
                    record.by = by
                    record.via = by == nil ? nil : via
                    record.address = request.clientAddress
                    record.forwardedFor = trustedUserHeader == nil ? nil : request.header("X-Forwarded-For")
                    record.decision = decision
                    record.reason = reason
                    answer = (403, "Refused", "Refused: \(reason).")
                    log("approval \(id): refused \(decision.rawValue) by \(by ?? "?") from \(request.clientAddress ?? "?"): \(reason)")
                    return [record]
                }
                guard let requested = records.first(where: { $0.event == .requested }) else {
                    return refuse("there is no approval request \(id)", nil)
                }
                if let problem = ApprovalToken.check(token, key: key, request: requested, decision: decision, now: time) {
                    return refuse(problem.description, requested)
                }
                if let final = records.last(where: { $0.event.isFinal }) {
                    return refuse("already decided: \(final.summary)", requested)
                }
                guard let by else {
                    return refuse("no \(via.dropFirst("header ".count)) header: open the link through the sign-in proxy", requested)
                }
                if !requested.approvers.isEmpty, !requested.approvers.contains(where: { $0.caseInsensitiveEquals(by) }) {
                    return refuse("\(by) is not an approver of this deployment (\(requested.approvers.joined(separator: ", ")))", requested)
                }
                var record = requested.follow(decision == .approve ? .approved : .rolledBack, at: time)
                record.by = by
                record.via = via
                record.address = request.clientAddress
                record.forwardedFor = trustedUserHeader == nil ? nil : request.header("X-Forwarded-For")
                let next = decision == .approve ? "the deployment goes on" : "the deployment rolls back"
                answer = (200, decision == .approve ? "Approved" : "Rolled back",
                          "\(requested.subject): \(record.summary); \(next).")
                log("approval \(id): \(record.summary)")
                return [record]
            }
        } catch {
            return page(500, title: "Not recorded", ApprovalPage.paragraph("The decision could not be recorded: \(error). Try again."))
        }
        let (status, title, text) = answer ?? (500, "Not recorded", "The decision could not be recorded.")
        return page(status, title: title, ApprovalPage.paragraph(text))
    }

    private func page(_ status: Int, title: String, _ body: String) -> InfoResponse {
        InfoResponse(status: status, contentType: "text/html; charset=utf-8", body: ApprovalPage.document(title: title, body: body),
                     headers: ApprovalPage.securityHeaders)
    }

    // MARK: Parsing

    /// Request ids are `apr-` and hex digits; anything else is not a link of ours.
    package static func isRequestID(_ text: Substring) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    /// `application/x-www-form-urlencoded` (a form's body, a query): the first value of each name.
    package static func formValues(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = decode(parts[0])
            if values[name] == nil { values[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return values
    }

    /// A name as recorded: control characters dropped, spaces collapsed, at most 100 characters.
    package static func cleanName(_ text: String) -> String {
        let visible = String(text.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.map(Character.init))
        return String(visible.split(whereSeparator: \.isWhitespace).joined(separator: " ").prefix(100))
    }
}

/// The pages' HTML: self-contained (no scripts, no external resources), every value escaped.
package enum ApprovalPage {
    static let securityHeaders: [(name: String, value: String)] = [
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <meta name="robots" content="noindex">
        <title>\(escape(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
        table { border-collapse: collapse; margin: 1rem 0; }
        th { text-align: left; padding: .25rem 1rem .25rem 0; color: #555; font-weight: normal; }
        td { padding: .25rem 0; }
        .message { white-space: pre-wrap; padding: .75rem; background: #f4f4f6; border-radius: .375rem; }
        button { font-size: 1rem; padding: .6rem 1.2rem; border: 0; border-radius: .375rem; color: #fff; cursor: pointer; }
        button.approve { background: #1a7f37; }
        button.rollback { background: #cf222e; }
        input { font-size: 1rem; padding: .4rem; margin: 0 .5rem .75rem 0; }
        </style>
        </head>
        <body>
        <h1>\(escape(title))</h1>
        \(body)
        </body>
        </html>

        """
    }

    static func paragraph(_ text: String) -> String {
        "<p>\(escape(text))</p>\n"
    }

    /// The request's details: message, service, version, build, where it runs, when it expires.
    package static func details(_ request: ApprovalRecord) -> String {
        var html = request.message.map { "<p class=\"message\">\(escape($0))</p>\n" } ?? ""
        var rows: [(String, String)] = []
        if let service = request.service { rows.append(("Service", service)) }
        if let environment = request.environment { rows.append(("Environment", environment)) }
        if let version = request.version { rows.append(("Version", version)) }
        if let build = request.build { rows.append(("Build", build)) }
        if let phase = request.phase { rows.append(("Phase", phase)) }
        if let step = request.step { rows.append(("Step", step)) }
        rows += request.deployment
        rows.append(("Requested", Timestamps.iso8601(request.time)))
        if let expires = request.expires {
            rows.append(("Decide by", "\(Timestamps.iso8601(expires)) (then \(request.onTimeout == .approve ? "approve" : "roll back"))"))
        }
        if !request.approvers.isEmpty { rows.append(("Approvers", request.approvers.joined(separator: ", "))) }
        rows.append(("Request", request.request))
        html += "<table>\n" + rows.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>\n" }.joined() + "</table>\n"
        let links = request.links.filter { $0.url.hasPrefix("https://") || $0.url.hasPrefix("http://") }
        if !links.isEmpty {
            html += "<p>" + links.map { "<a href=\"\(escape($0.url))\" rel=\"noopener noreferrer\" target=\"_blank\">\(escape($0.title))</a>" }
                .joined(separator: " · ") + "</p>\n"
        }
        return html
    }

    /// The form whose POST decides. Its action is relative (`approve`): it resolves to this
    /// link's path behind any proxy prefix.
    static func form(_ decision: ApprovalDecision, token: String, user: String?, signInRequired: Bool) -> String {
        var html = "<form method=\"post\" action=\"\(decision.rawValue)\">\n"
        html += "<input type=\"hidden\" name=\"token\" value=\"\(escape(token))\">\n"
        if let user {
            html += "<p>You are signed in as <strong>\(escape(user))</strong>.</p>\n"
        } else if signInRequired {
            html += "<p>You are not signed in: open the link through the sign-in proxy.</p>\n"
        } else {
            html += "<label>Your name <input name=\"name\" required maxlength=\"100\" autocomplete=\"name\"></label><br>\n"
        }
        html += "<button type=\"submit\" class=\"\(decision.rawValue)\">\(escape(decision.label))</button>\n</form>\n"
        return html
    }

    /// HTML text and attribute escaping.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
