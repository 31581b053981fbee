import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `hookrunner serve`: runs phases on request.
///
/// - `POST /hooks/PHASE` runs the phase and answers 200 with the JSON report when it passed,
///   500 when it failed, 423 when a blocker holds it (exit status 4): a Flagger webhook, for
///   which any answer but 200 is no pass (a `confirm-rollout` hook waits and asks again). Its JSON payload's `metadata` entries become
///   variables (`name`, `namespace` and `phase` as FLAGGER_NAME, FLAGGER_NAMESPACE, FLAGGER_PHASE).
/// - `GET /hooks/PHASE` runs the phase and always answers 200 with `{"ok": true|false, …}`: an
///   Argo Rollouts web metric with `successCondition: result.ok` (a non-2xx answer would count
///   as an error there, not a failure); `failureCondition: result.exitCode == 1` makes a blocked
///   run (`exitCode` 4) inconclusive, which pauses the rollout instead of aborting it.
/// - One run per phase at a time: a request that arrives while the phase runs gets that run's result.
/// - `/approvals/REQUEST/approve|rollback`: approval links (``ApprovalDesk``), when a key is
///   given; decisions go to the trail (`--approvals`), where waiting steps find them.
/// - `/info`, `/health`, `/metrics` describe hookrunner itself.
final class HookServer: HTTPHandler, Sendable {
    private let file: HooksFile
    private let options: HookRunnerCommand.Options
    private let environment: [String: String]
    private let info: InfoResponder
    private let token: [UInt8]?
    private let runs = Locked<[String: Task<RunOutcome, Never>]>([:])
    /// Approval links; nil without an approval key.
    private let desk: ApprovalDesk?
    private let console = Console()

    enum RunOutcome: Sendable {
        case report(PhaseReport)
        case configError(String)
    }

    init(file: HooksFile, options: HookRunnerCommand.Options, environment: [String: String], token: String?) {
        self.file = file
        self.options = options
        self.environment = environment
        self.token = token.map { Array($0.utf8) }
        let approvals = options.run.approvals
        let console = Console()
        self.desk = approvals.key.map { key in
            ApprovalDesk(trail: ApprovalTrail(path: approvals.trailPath), key: key, trustedUserHeader: approvals.trustedUserHeader,
                         log: { line in console.line("hookrunner: \(line)") })
        }
        let version = DeployVerifyVersion.current
        self.info = InfoResponder(info: ServiceInfo(name: "hookrunner", version: version,
                                                    extra: ["config": file.path, "phases": file.phaseNames.joined(separator: ",")]),
                                  bearerToken: token)
    }

    static func serve(_ options: HookRunnerCommand.Options, environment: [String: String]) async throws -> Int32 {
        // A server of approval links alone needs no checks file.
        let approvalsOnly = !options.configGiven && options.run.approvals.key != nil && !FileManager.default.fileExists(atPath: options.config)
        let file = approvalsOnly ? HooksFile(path: "(none)") : try HooksFile.load(path: options.config)
        var token: String?
        if let path = options.tokenFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  !text.trimmed.isEmpty else {
                throw UsageError("--token-file: cannot read a token from \(path)")
            }
            token = text.trimmed
        }
        let handler = HookServer(file: file, options: options, environment: environment, token: token)
        var configuration = InfoServer.Configuration(host: options.host, port: options.port ?? 0)
        configuration.maxBodyBytes = 1 << 20
        configuration.requestTimeout = .seconds(30)
        let server = HTTPServer(configuration: configuration, handler: handler)
        let signals = StopSignals()
        do {
            try server.start()
        } catch {
            Console().error("hookrunner: \(error)")
            return 1
        }
        let urls = server.addresses.map { "http://\($0)" }.joined(separator: " ")
        if approvalsOnly {
            Console().line("hookrunner: serving approval links on \(urls): /approvals/ (trail \(options.run.approvals.trailPath))")
        } else {
            Console().line("hookrunner: serving \(file.path) (\(file.phaseNames.joined(separator: ", "))) on \(urls): "
                + "POST or GET /hooks/PHASE" + (options.run.approvals.key == nil ? "" : ", approval links on /approvals/"))
        }
        _ = await signals.wait()
        await server.stop(gracePeriod: .seconds(10))
        Console().line("hookrunner: stopped")
        return 0
    }

    func respondImmediately(to request: HTTPRequest) -> InfoResponse? {
        if ApprovalDesk.handles(request) {
            // The links carry tokens of their own: no bearer token (browsers have none).
            guard desk != nil else {
                return InfoResponse(status: 404, contentType: "text/plain; charset=utf-8",
                                    body: "approval links are not served here (hookrunner serve needs --approval-key-file or HOOKRUNNER_APPROVAL_KEY)\n")
            }
            return nil
        }
        guard request.path.hasPrefix("/hooks") else { return info.respondImmediately(to: request) }
        if let token, !InfoResponder.authorized(request.header("Authorization"), token: token) {
            return json(401, #"{"ok":false,"error":"unauthorized: send Authorization: Bearer <token>"}"#,
                        headers: [("WWW-Authenticate", #"Bearer realm="hookrunner""#)])
        }
        let phase = String(request.path.dropFirst("/hooks".count).drop { $0 == "/" })
        if phase.isEmpty {
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed() }
            var json = JSONText()
            json.object { json in
                json.key("phases")
                json.array { json in for name in file.phaseNames { json.string(name) } }
            }
            return self.json(200, json.text)
        }
        guard file.phases[phase] != nil else {
            var json = JSONText()
            json.object { json in
                json.key("ok")
                json.bool(false)
                json.member("error", "no phase '\(phase)' in \(file.path)")
                json.key("phases")
                json.array { json in for name in file.phaseNames { json.string(name) } }
            }
            return self.json(404, json.text)
        }
        guard request.method == "GET" || request.method == "POST" else { return methodNotAllowed() }
        if request.method == "POST", !request.body.isEmpty, metadata(request.body) == nil {
            return json(400, #"{"ok":false,"error":"the body must be a JSON object (a Flagger webhook payload)"}"#)
        }
        return nil // run it: respond(to:)
    }

    func respond(to request: HTTPRequest) async -> InfoResponse {
        if let immediate = respondImmediately(to: request) { return immediate }
        if ApprovalDesk.handles(request), let desk { return await desk.respond(to: request) }
        let phase = String(request.path.dropFirst("/hooks/".count))
        let isArgo = request.method == "GET"
        let outcome = await run(phase, metadata: request.method == "POST" ? metadata(request.body) ?? [:] : [:])
        switch outcome {
        case .configError(let message):
            console.line("hookrunner: \(request.method) /hooks/\(phase): configuration error: \(message)")
            var json = JSONText()
            json.object { json in
                json.key("ok")
                json.bool(false)
                json.member("phase", phase)
                json.member("error", message)
            }
            return self.json(isArgo ? 200 : 500, json.text)
        case .report(let report):
            console.line("hookrunner: \(request.method) /hooks/\(phase): \(report.result) (\(report.tally))"
                + (report.blockedSummary.map { "; \($0)" } ?? "") + (report.overrideReason.map { "; blockers overridden: \($0)" } ?? ""))
            var json = JSONText()
            JSONReport.write(report, into: &json) { json in
                json.key("ok")
                json.bool(report.passed)
                json.key("blocked")
                json.bool(report.exitCode == 4)
            }
            let status = isArgo || report.passed ? 200 : report.exitCode == 4 ? 423 : 500
            return self.json(status, json.text)
        }
    }

    /// One run per phase: later requests join the one in progress.
    private func run(_ phase: String, metadata: [String: String]) async -> RunOutcome {
        let task = runs.withLock { runs -> Task<RunOutcome, Never> in
            if let running = runs[phase] { return running }
            let task = Task { [self] in
                do {
                    return RunOutcome.report(try await HookRunnerCommand.execute(
                        file: file, phase: phase, lifecycleEvent: nil, options: options, environment: environment,
                        metadata: metadata, events: { _ in }, stop: { await Task.never() }))
                } catch {
                    return RunOutcome.configError("\(error)")
                }
            }
            runs[phase] = task
            return task
        }
        let outcome = await task.value
        runs.withLock { runs in
            if runs[phase] == task { runs[phase] = nil }
        }
        return outcome
    }

    /// The Flagger payload's metadata (and name, namespace, phase) as variables; nil when the
    /// body is not a JSON object.
    private func metadata(_ body: [UInt8]) -> [String: String]? {
        guard !body.isEmpty else { return [:] }
        guard case .object(let payload)? = try? JSONParser().parse(body) else { return nil }
        var variables: [String: String] = [:]
        for (key, name) in [("name", "FLAGGER_NAME"), ("namespace", "FLAGGER_NAMESPACE"), ("phase", "FLAGGER_PHASE")] {
            if let value = payload[key]?.scalarText { variables[name] = value }
        }
        if case .object(let entries)? = payload["metadata"] {
            for (key, value) in entries.members {
                let valid = key.first.map { $0.isLetter || $0 == "_" } == true
                    && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                if valid { variables[key] = value.scalarText ?? value.serialized }
            }
        }
        return variables
    }

    private func json(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> InfoResponse {
        InfoResponse(status: status, contentType: "application/json", body: body, headers: [("Cache-Control", "no-store")] + headers)
    }

    private func methodNotAllowed() -> InfoResponse {
        json(405, #"{"ok":false,"error":"method not allowed: use POST or GET"}"#, headers: [("Allow", "GET, POST")])
    }
}

extension Task where Success == Never, Failure == Never {
    /// Suspends until cancelled.
    static func never() async {
        let stream = AsyncStream<Void> { _ in }
        for await _ in stream {}
    }
}
