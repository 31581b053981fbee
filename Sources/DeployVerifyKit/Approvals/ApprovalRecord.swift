import Foundation
import InfoEndpoint

/// What a person decides on an approval link.
package enum ApprovalDecision: String, Sendable, CaseIterable {
    case approve
    case rollback

    /// `Approve`, `Roll back`: a button's label.
    package var label: String {
        switch self {
        case .approve: "Approve"
        case .rollback: "Roll back"
        }
    }
}

/// One line of the approval trail: a request, a decision, or a refused attempt at one.
///
/// hookrunner's approval steps and `hookrunner serve` write the trail (through `ApprovalTrail`,
/// which locks it); versioncheck's status page reads its decisions onto the timeline. Both use
/// this type, so the trail's field names are defined here once (``jsonLine`` and
/// ``init(jsonLine:)``). A reader relies on `time`, `event` and `request`; every other field may
/// be absent.
package struct ApprovalRecord: Sendable {
    package enum Event: String, Sendable, CaseIterable {
        /// The step posted its request and waits (or, pre-approved, does not).
        case requested
        case approved
        case rolledBack = "rolled-back"
        /// No decision within the step's timeout; `outcome` says what that meant.
        case timedOut = "timed-out"
        case preApproved = "pre-approved"
        /// An attempt that was not taken: a bad, expired or used token, an approver not allowed.
        case refused
        /// The step ended without a decision: the run was stopped, or no channel took the request.
        case cancelled

        /// Whether it settles the request: nothing is recorded for it afterwards but refusals.
        package var isFinal: Bool {
            switch self {
            case .requested, .refused: false
            default: true
            }
        }
    }

    package var time: Date
    package var event: Event
    /// The request's id (`apr-…`): what every record of one approval shares.
    package var request: String
    package var service: String?
    /// The environment the step decides for (`environment` of the step), when it names one.
    package var environment: String?
    package var version: String?
    package var build: String?
    /// Who decided (or tried to): the trusted header's value or the typed name.
    package var by: String?
    /// How `by` is known (`header X-Forwarded-User`, `typed name`) or why nobody decided
    /// (`--pre-approve`, `preApprove`, `timeout`).
    package var via: String?
    /// The client's address, and `X-Forwarded-For` as a trusted proxy sent it.
    package var address: String?
    package var forwardedFor: String?
    /// For `refused`: the decision that was attempted.
    package var decision: ApprovalDecision?
    /// Why an attempt was refused, what a timeout meant, why a request was cancelled.
    package var reason: String?
    /// For `timed-out`: the decision the timeout stands for (`onTimeout`).
    package var outcome: ApprovalDecision?

    // The request's own details (on `requested`):
    package var phase: String?
    /// The step's name and JSON path in the checks file.
    package var step: String?
    package var path: String?
    package var configFile: String?
    package var message: String?
    /// When the links stop working and the timeout decides (whole seconds).
    package var expires: Date?
    package var onTimeout: ApprovalDecision?
    package var channels: [String] = []
    /// Who may decide; empty: anyone who has the link.
    package var approvers: [String] = []
    package var links: [(title: String, url: String)] = []
    /// CodeDeploy's DEPLOYMENT_ID, APPLICATION_NAME … when set.
    package var deployment: [(name: String, value: String)] = []
    /// The machine the step ran on.
    package var host: String?

    package init(time: Date, event: Event, request: String) {
        self.time = time
        self.event = event
        self.request = request
    }

    /// A record of the same request that carries its service, version and build (a decision
    /// names the build it decides on, so the trail reads without joining lines).
    package func follow(_ event: Event, at time: Date) -> ApprovalRecord {
        var record = ApprovalRecord(time: time, event: event, request: request)
        record.service = service
        record.environment = environment
        record.version = version
        record.build = build
        record.phase = phase
        record.step = step
        return record
    }

    /// `checkout 1.4.2 (build 4711)`, or what of it is known.
    package var subject: String {
        var text = [service, version].compactMap { $0 }.joined(separator: " ")
        if let build { text += text.isEmpty ? "build \(build)" : " (build \(build))" }
        return text.isEmpty ? (step ?? request) : text
    }

    /// `approved by alice (header X-Forwarded-User) from 10.0.0.7 at 2025-03-04T10:00:00Z`.
    package var summary: String {
        let at = "at \(Timestamps.iso8601(time))"
        let who = by.map { "by \($0)" + (via.map { " (\($0))" } ?? "") + (address.map { " from \($0)" } ?? "") }
        switch event {
        case .requested:
            return "requested, expires \(expires.map { Timestamps.iso8601($0) } ?? "?")"
        case .approved, .rolledBack:
            return "\(event == .approved ? "approved" : "rolled back") \(who ?? "") \(at)".replacingOccurrences(of: "  ", with: " ")
        case .timedOut:
            return "no decision in time: \(outcome == .approve ? "approved" : "rolled back") (onTimeout: \(outcome?.rawValue ?? "rollback")) \(at)"
        case .preApproved:
            return "pre-approved (\(via ?? "--pre-approve")) \(at)"
        case .refused:
            return "refused \(decision?.rawValue ?? "decision") \(who ?? "") \(at): \(reason ?? "refused")".replacingOccurrences(of: "  ", with: " ")
        case .cancelled:
            return "cancelled \(at): \(reason ?? "the step ended")"
        }
    }

    /// The decision the record stands for: approve or roll back (nil for a request or a refusal).
    package var verdict: ApprovalDecision? {
        switch event {
        case .approved, .preApproved: .approve
        case .rolledBack, .cancelled: .rollback
        case .timedOut: outcome ?? .rollback
        case .requested, .refused: nil
        }
    }

    // MARK: JSON line

    package var jsonLine: String {
        var json = JSONText()
        json.object { json in
            json.member("time", Timestamps.iso8601(time, milliseconds: true))
            json.member("event", event.rawValue)
            json.member("request", request)
            for (name, value) in [("service", service), ("environment", environment), ("version", version), ("build", build),
                                  ("by", by), ("via", via), ("address", address), ("forwardedFor", forwardedFor),
                                  ("decision", decision?.rawValue), ("reason", reason), ("outcome", outcome?.rawValue), ("phase", phase), ("step", step),
                                  ("path", path), ("configFile", configFile), ("message", message),
                                  ("expires", expires.map { Timestamps.iso8601($0) }), ("onTimeout", onTimeout?.rawValue),
                                  ("host", host)] {
                if let value { json.member(name, value) }
            }
            if event == .requested {
                json.key("channels")
                json.array { json in for channel in channels { json.string(channel) } }
                json.key("approvers")
                json.array { json in for approver in approvers { json.string(approver) } }
                json.key("links")
                json.array { json in
                    for link in links {
                        json.object { json in
                            json.member("title", link.title)
                            json.member("url", link.url)
                        }
                    }
                }
                json.key("deployment")
                json.object { json in for (name, value) in deployment { json.member(name, value) } }
            }
        }
        return json.text
    }

    package init?(jsonLine bytes: some Collection<UInt8>) {
        guard case .object(let object)? = try? JSONParser().parse(Array(bytes)),
              let time = object["time"]?.stringValue.flatMap(Timestamps.parse),
              let event = object["event"]?.stringValue.flatMap(Event.init(rawValue:)),
              let request = object["request"]?.stringValue else { return nil }
        self.init(time: time, event: event, request: request)
        service = object["service"]?.stringValue
        environment = object["environment"]?.stringValue
        version = object["version"]?.stringValue
        build = object["build"]?.stringValue
        by = object["by"]?.stringValue
        via = object["via"]?.stringValue
        address = object["address"]?.stringValue
        forwardedFor = object["forwardedFor"]?.stringValue
        decision = object["decision"]?.stringValue.flatMap(ApprovalDecision.init(rawValue:))
        reason = object["reason"]?.stringValue
        outcome = object["outcome"]?.stringValue.flatMap(ApprovalDecision.init(rawValue:))
        phase = object["phase"]?.stringValue
        step = object["step"]?.stringValue
        path = object["path"]?.stringValue
        configFile = object["configFile"]?.stringValue
        message = object["message"]?.stringValue
        expires = object["expires"]?.stringValue.flatMap(Timestamps.parse)
        onTimeout = object["onTimeout"]?.stringValue.flatMap(ApprovalDecision.init(rawValue:))
        host = object["host"]?.stringValue
        channels = object["channels"]?.arrayValue?.compactMap(\.stringValue) ?? []
        approvers = object["approvers"]?.arrayValue?.compactMap(\.stringValue) ?? []
        links = object["links"]?.arrayValue?.compactMap { link in
            guard let title = link["title"]?.stringValue, let url = link["url"]?.stringValue else { return nil }
            return (title, url)
        } ?? []
        deployment = object["deployment"]?.objectValue?.members.compactMap { member in
            member.value.stringValue.map { (member.key, $0) }
        } ?? []
    }
}
