import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `hookrunner approvals [--since DATE] [--format table|json] [--approvals PATH]`: the trail, oldest first.
enum ApprovalsCommand {
    static func list(_ options: HookRunnerCommand.Options) throws -> Int32 {
        let path = options.run.approvals.trailPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw UsageError("--approvals: no approval trail at \(path) (give the trail's path with --approvals PATH)")
        }
        let records = try ApprovalTrail.all(path: path, since: options.since)
        let console = Console()
        if options.format == "json" {
            console.line("[" + records.map(\.jsonLine).joined(separator: ",\n") + "]")
            return 0
        }
        var rows = [["TIME", "EVENT", "SERVICE", "VERSION", "BUILD", "BY", "FROM", "REQUEST", "DETAIL"]]
        for record in records {
            let detail: String
            switch record.event {
            case .requested:
                detail = "\(record.phase.map { "\($0): " } ?? "")\(record.step ?? "") until \(record.expires.map { Timestamps.iso8601($0) } ?? "?")"
            case .refused:
                detail = "\(record.decision?.rawValue ?? "decision"): \(record.reason ?? "")"
            case .timedOut:
                detail = "onTimeout: \(record.outcome?.rawValue ?? "rollback")"
            case .preApproved:
                detail = record.via ?? ""
            case .cancelled:
                detail = record.reason ?? ""
            case .approved, .rolledBack:
                detail = record.via ?? ""
            }
            rows.append([Timestamps.iso8601(record.time), record.event.rawValue, record.service ?? "", record.version ?? "",
                         record.build ?? "", record.by ?? "", record.address ?? "", record.request,
                         String(detail.replacingOccurrences(of: "\n", with: " ").prefix(100))])
        }
        for line in TextTable.render(rows) { console.line(line) }
        if records.isEmpty { console.line("(no approvals\(options.since == nil ? "" : " since then"))") }
        return 0
    }
}
