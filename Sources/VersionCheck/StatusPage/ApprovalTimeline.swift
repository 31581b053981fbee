import DeployVerifyKit
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TimelineEvent {
    /// A decision of hookrunner's approval trail (``ApprovalRecord``): approved, roll-back
    /// decided, timed out or pre-approved, on the timeline of the record's `service`, in its
    /// `environment` (empty when the step names none: every environment of the service). Nil for
    /// what is not a decision (a request, a refused attempt, a cancelled request) and for a
    /// record without a service.
    ///
    /// The stored form (the API's `stored`) is the record without the client's addresses, the
    /// host, the message and the links: who decided, how, on what, and when.
    package init?(approval record: ApprovalRecord) {
        let kind: TimelineKind
        switch record.event {
        case .approved: kind = .approvalApproved
        case .rolledBack: kind = .approvalRolledBack
        case .timedOut: kind = .approvalTimedOut
        case .preApproved: kind = .approvalPreApproved
        case .requested, .refused, .cancelled: return nil
        }
        guard let service = record.service, !service.isEmpty else { return nil }
        func short(_ text: String) -> String { String(text.prefix(200)) }
        var subject = record.version.map(short) ?? ""
        if let build = record.build { subject += subject.isEmpty ? "build \(short(build))" : " (build \(short(build)))" }
        let who = record.by.map { " by \(short($0))" + (record.via.map { " (\(short($0)))" } ?? "") } ?? ""
        let decision: String
        switch record.event {
        case .approved: decision = "approved" + who
        case .rolledBack: decision = "rolled back" + who
        case .timedOut: decision = "no decision in time: " + (record.outcome == .approve ? "approved" : "rolled back") + " (onTimeout)"
        default: decision = "pre-approved (\(short(record.via ?? "--pre-approve")))"
        }
        let step = [record.phase, record.step].compactMap { $0.map(short) }.joined(separator: ": ")
        var shown = ApprovalRecord(time: record.time, event: record.event, request: record.request)
        shown.service = record.service
        shown.environment = record.environment
        shown.version = record.version
        shown.build = record.build
        shown.by = record.by
        shown.via = record.via
        shown.outcome = record.outcome
        shown.reason = record.reason
        shown.phase = record.phase
        shown.step = record.step
        self.init(kind: kind, time: record.time, service: short(service), environment: short(record.environment ?? ""),
                  id: short(record.request), change: [subject, decision, step].filter { !$0.isEmpty }.joined(separator: " · "),
                  json: shown.jsonLine)
    }
}

/// Follows hookrunner's approval trail (`--approvals PATH`, JSON lines of ``ApprovalRecord``) for
/// the status page: each read takes the whole lines added since the last one. A request's
/// decision is shown once (the first final record of a request id; the trail records one).
/// hookrunner cuts a torn last line off when it next opens the trail: a file that shrank is read
/// again from its start, the decisions already shown skipped.
///
/// The reader relies on `time`, `event` and `request` in each line, and on `service` (a decision
/// without one is not shown); it uses `environment`, `version`, `build`, `by`, `via`, `outcome`,
/// `reason`, `phase` and `step` when present. Lines that are not records are skipped.
package struct ApprovalTrailReader: Sendable {
    package let path: String
    /// How far the trail has been read.
    package private(set) var offset: UInt64 = 0
    /// Requests whose decision was added.
    private var decided: Set<String> = []

    package init(path: String) {
        self.path = path
    }

    /// Whether the trail exists (it is created with the first approval request).
    package var exists: Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Adds the decisions recorded since the last read, in the trail's order.
    package mutating func read(_ add: (TimelineEvent) -> Void) throws(StoreError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .system("cannot stat", path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw StoreError("--approvals: \(path) is not a file") }
        let size = UInt64(info.st_size)
        if size < offset { offset = 0 }
        guard size > offset else { return }
        var read: UInt64 = 0
        var found: [TimelineEvent] = []
        var decided = self.decided
        try JSONLinesFile.forEachLine(path: path, from: offset) { line in
            read += UInt64(line.count) + 1
            guard let record = ApprovalRecord(jsonLine: line), record.event.isFinal, !decided.contains(record.request),
                  let event = TimelineEvent(approval: record) else { return }
            decided.insert(record.request)
            found.append(event)
        }
        offset += read
        self.decided = decided
        for event in found { add(event) }
    }
}
