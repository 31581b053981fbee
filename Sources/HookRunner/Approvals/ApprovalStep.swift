import DeployVerifyKit
import Foundation
import InfoEndpoint
import VersionCheck
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a run's approval steps post, wait and record: from the command line.
package struct ApprovalSettings: Sendable {
    /// `--approvals PATH`: the trail, shared with `hookrunner serve --approvals`.
    package var trailPath = "approvals.jsonl"
    /// `--approval-key-file` or `HOOKRUNNER_APPROVAL_KEY`.
    package var key: [UInt8]?
    /// `--public-url`: where people reach the links (`hookrunner serve`, or the step's listener
    /// behind a proxy).
    package var publicURL: String?
    /// `--approval-listen HOST:PORT`: the step serves its links itself while it waits.
    package var listen: ListenAddress?
    /// `--pre-approve`: every approval of the run passes without waiting.
    package var preApprove = false
    /// `--trusted-user-header NAME` (with `--approval-listen`).
    package var trustedUserHeader: String?
    /// How often a waiting step reads the trail.
    package var pollInterval: Duration = .milliseconds(250)
    /// The run's phase and checks file, for the trail.
    package var phase: String?
    package var configFile: String?

    package init() {}

    /// `HOST:PORT` (`[::1]:8080` for IPv6).
    package struct ListenAddress: Sendable {
        package var host: String
        package var port: Int

        package init(_ text: String) throws(ValueError) {
            guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
                  let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                throw ValueError("'\(text)' is not HOST:PORT (127.0.0.1:9096, 0.0.0.0:9096)")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.host = host
            self.port = port
        }

        /// A wildcard address is no address to give people.
        var isWildcard: Bool { ["0.0.0.0", "::", ""].contains(host) }
    }

    /// Whether a waiting approval can be run: a key to sign with and an address for the links.
    /// nil when it can, else what is missing.
    package var missingForWaiting: String? {
        if key == nil {
            return "an approval step needs a key to sign its links: --approval-key-file PATH or \(ApprovalKey.environmentVariable)"
        }
        if publicURL == nil {
            guard let listen else {
                return "an approval step needs the address of its links: --public-url URL (where hookrunner serve answers) "
                    + "or --approval-listen HOST:PORT (the step serves them itself)"
            }
            if listen.isWildcard { return "--approval-listen \(listen.host):\(listen.port) needs --public-url: the address people open" }
        }
        return nil
    }
}

/// Serves the approval links of a waiting step (`--approval-listen`); nothing else.
final class ApprovalListener: HTTPHandler, Sendable {
    let desk: ApprovalDesk

    init(desk: ApprovalDesk) {
        self.desk = desk
    }

    func respondImmediately(to request: HTTPRequest) -> InfoResponse? {
        ApprovalDesk.handles(request) ? nil : InfoResponse(status: 404, contentType: "text/plain; charset=utf-8", body: "not found\n")
    }

    func respond(to request: HTTPRequest) async -> InfoResponse {
        await desk.respond(to: request)
    }
}

extension PhaseRunner {
    /// An approval step: records the request in the trail, posts it to the channels with its
    /// links (signed tokens), and waits until a decision is in the trail or the timeout passes
    /// (which decides `onTimeout`). Pre-approved, the same happens without the wait. The run's
    /// cancellation records the request as cancelled.
    func approve(_ approval: PlannedApproval, check: Check) async -> AttemptResult {
        let settings = options.approvals
        let trail = ApprovalTrail(path: settings.trailPath)
        let started = options.now()
        var request = ApprovalRecord(time: started, event: .requested, request: Self.newRequestID())
        request.service = approval.service
        request.environment = approval.environment
        request.version = approval.version
        request.build = approval.build
        request.phase = settings.phase
        request.step = check.name
        request.path = check.path
        request.configFile = settings.configFile
        request.message = scope.redactor.redact(approval.message)
        request.expires = Date(timeIntervalSince1970: (started.timeIntervalSince1970 + approval.timeout.seconds).rounded(.up))
        request.onTimeout = approval.onTimeout
        request.channels = approval.channels.map(\.name)
        request.approvers = approval.approvers
        request.links = approval.links.map { ($0.title, scope.redactor.redact($0.url)) }
        request.deployment = PhaseReport.deploymentVariables.compactMap { name in scope.value(name).map { (name, $0) } }
        request.host = Self.hostName
        let preApproved = settings.preApprove ? "--pre-approve" : approval.preApproved ? "preApprove" : nil
        var redactor = scope.redactor
        if let key = settings.key { redactor.add(String(decoding: key, as: UTF8.self)) }

        func ended(_ record: ApprovalRecord) -> AttemptResult {
            let passed = record.verdict == .approve
            let condition = ConditionResult(condition: "a person approves", passed: passed, actual: record.summary,
                                            message: record.summary)
            return AttemptResult(passed: passed, reason: passed ? nil : redactor.redact(record.summary), conditions: [condition],
                                 approval: record)
        }
        /// Ends the request without a decision (recorded unless already decided).
        func cancel(_ reason: String) -> AttemptResult {
            var cancelled = request.follow(.cancelled, at: options.now())
            cancelled.reason = redactor.redact(reason)
            // A decision that made it into the trail first stands.
            var settled = cancelled
            _ = try? trail.transact(request.request) { records in
                if let final = records.first(where: { $0.event.isFinal }) {
                    settled = final
                    return []
                }
                return [cancelled]
            }
            return ended(settled)
        }

        if preApproved == nil, let missing = settings.missingForWaiting {
            return AttemptResult(passed: false, reason: missing, conditions: [])
        }
        let offset: UInt64
        do {
            offset = try trail.append([request])
        } catch {
            return AttemptResult(passed: false, reason: redactor.redact("the approval trail cannot be written: \(error)"), conditions: [])
        }

        // The links: served by the step itself, or by `hookrunner serve` at --public-url.
        var message = ApprovalMessage(request: request, preApproved: preApproved)
        var listener: HTTPServer?
        if preApproved == nil, let key = settings.key {
            var base = settings.publicURL
            if let listen = settings.listen {
                let desk = ApprovalDesk(trail: trail, key: key, trustedUserHeader: settings.trustedUserHeader, now: options.now,
                                        log: { line in events(.note(line)) })
                var configuration = InfoServer.Configuration(host: listen.host, port: listen.port)
                configuration.maxBodyBytes = 64 * 1024
                configuration.requestTimeout = .seconds(30)
                let server = HTTPServer(configuration: configuration, handler: ApprovalListener(desk: desk))
                do {
                    try server.start()
                } catch {
                    return cancel("cannot serve the approval links on \(listen.host):\(listen.port): \(error)")
                }
                listener = server
                if base == nil, let address = server.addresses.first { base = "http://\(address)" }
                events(.note("approval links served on \(server.addresses.map { "http://\($0)" }.joined(separator: " "))"))
            }
            let root = (base ?? "").hasSuffix("/") ? String((base ?? "").dropLast()) : (base ?? "")
            for decision in ApprovalDecision.allCases {
                let token = ApprovalToken.make(key: key, request: request, decision: decision)
                redactor.add(token)
                let url = "\(root)/approvals/\(request.request)/\(decision.rawValue)?token=\(token)"
                redactor.add(url)
                if decision == .approve { message.approveURL = url } else { message.rollbackURL = url }
            }
        }
        let result = await postAndWait(request, message: message, approval, check: check, trail: trail, offset: offset,
                                       preApproved: preApproved, redactor: redactor, ended: ended, cancel: cancel)
        // The decision's page has been answered (the record is written before the answer):
        // stop serving, letting answers under way finish.
        await listener?.stop(gracePeriod: .seconds(1))
        return result
    }

    /// Posts the request, then records the pre-approval or waits for the decision.
    private func postAndWait(_ request: ApprovalRecord, message: ApprovalMessage, _ approval: PlannedApproval, check: Check,
                             trail: ApprovalTrail, offset: UInt64, preApproved: String?, redactor: Redactor,
                             ended: (ApprovalRecord) -> AttemptResult, cancel: (String) -> AttemptResult) async -> AttemptResult {
        let settings = options.approvals
        // Post the request; at least one channel must take it.
        let delivered = await post(message, to: approval.channels, redactor: redactor)
        if !delivered.failures.isEmpty {
            events(.note("approval '\(check.name)': not posted to " + delivered.failures.joined(separator: "; ")))
        }
        guard delivered.count > 0 else {
            return cancel("no channel took the approval request: " + delivered.failures.joined(separator: "; "))
        }

        if let preApproved {
            var decided = request.follow(.preApproved, at: options.now())
            decided.via = preApproved
            decided.host = request.host
            do {
                try trail.append([decided])
            } catch {
                return AttemptResult(passed: false, reason: redactor.redact("the approval trail cannot be written: \(error)"), conditions: [])
            }
            return ended(decided)
        }

        let expires = request.expires ?? request.time
        events(.note("waiting for approval of '\(check.name)' (\(request.request)): posted to \(request.channels.joined(separator: ", ")); "
            + "decide by \(Timestamps.iso8601(expires)), then \(approval.onTimeout == .approve ? "approve" : "roll back")"))
        var seenRefusals = 0
        while true {
            let records = (try? ApprovalTrail.records(path: trail.path, request: request.request, from: offset)) ?? []
            let refusals = records.filter { $0.event == .refused }
            for refusal in refusals.dropFirst(seenRefusals) { events(.note("approval '\(check.name)': \(redactor.redact(refusal.summary))")) }
            seenRefusals = refusals.count
            if let final = records.first(where: { $0.event.isFinal }) { return ended(final) }
            if options.now() >= expires {
                var timedOut = request.follow(.timedOut, at: options.now())
                timedOut.outcome = approval.onTimeout
                timedOut.via = "timeout"
                do {
                    let appended = try trail.transact(request.request) { records in
                        records.contains { $0.event.isFinal } ? [] : [timedOut]
                    }
                    if appended.isEmpty { continue } // decided at the last moment: read it
                } catch {
                    return AttemptResult(passed: false, reason: redactor.redact("the approval trail cannot be written: \(error)"),
                                         conditions: [])
                }
                return ended(timedOut)
            }
            do {
                try await Task.sleep(for: settings.pollInterval)
            } catch {
                return cancel("the run was stopped before a decision")
            }
        }
    }

    /// Sends the message to every channel at once; returns how many took it and what failed.
    private func post(_ message: ApprovalMessage, to channels: [Channel], redactor: Redactor) async -> (count: Int, failures: [String]) {
        var settings = WatchSettings()
        settings.deliveryAttempts = 3
        settings.initialBackoff = .seconds(1)
        settings.maxBackoff = .seconds(5)
        settings.timeout = .seconds(10)
        let deliverer = AlertDeliverer(channels: Dictionary(channels.map { ($0.name, $0) }) { first, _ in first }, settings: settings,
                                       prober: prober, redactor: redactor, userAgent: prober.options.userAgent, log: { _ in })
        let deadline = ContinuousClock.now + .seconds(60)
        return await withTaskGroup(of: (String, AlertDeliverer.Outcome).self) { group in
            for channel in channels {
                group.addTask { (channel.name, await deliverer.deliver(message.render(for: channel), to: channel, deadline: deadline)) }
            }
            var count = 0
            var failures: [String] = []
            for await (name, outcome) in group {
                switch outcome {
                case .delivered: count += 1
                case .failed(_, let detail): failures.append("\(name): \(detail)")
                case .postponed: failures.append("\(name): stopped")
                }
            }
            return (count, failures.sorted())
        }
    }

    /// `apr-` and 16 hex digits.
    static func newRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return "apr-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static var hostName: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
