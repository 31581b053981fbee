import DeployVerifyKit
import Foundation

/// `versioncheck --expect 1.4.2 --notify CHANNEL --manifest FILE URL…`: the result of a one-shot
/// check sent to channels of a manifest, as an alert of kind `check`.
package enum CheckNotice {
    /// The alert for a finished check. The service and environment come from the manifest
    /// service whose URLs were checked; otherwise the service is the first URL's host.
    package static func alert(for report: VersionCheckReport, manifest: Manifest, now: Date = Date()) -> Alert {
        let urls = report.targets.map(\.url)
        let owners = manifest.services.filter { service in urls.contains { service.urls.contains($0) } }
        var service = urls.first.flatMap { URLComponents(string: $0) }.map { components in
            (components.host ?? "?") + (components.port.map { ":\($0)" } ?? "")
        } ?? "?"
        var environment = ""
        if owners.count == 1 {
            service = owners[0].name
            environment = owners[0].environment
        }
        var counts: [String: Int] = [:]
        for target in report.targets { for (version, _) in target.mix { counts[version, default: 0] += 1 } }
        let fleet = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { (version: $0.key, count: $0.value) }
        let result = switch report.verdict {
        case .match: "pass"
        case .mismatch: "mismatch"
        case .unreadable: "unreadable"
        }
        return Alert(id: "check-\(UUID().uuidString.lowercased())", kind: .check, result: result, service: service,
                     environment: environment, to: fleet.first?.version, revision: report.revision,
                     expected: report.expectation, detail: report.summary(),
                     instances: urls.map(Redaction.url), instanceCount: urls.count, fleet: fleet, time: now)
    }

    /// Sends the alert to each named channel (retrying as the watcher does, within `within`).
    /// Returns a line per channel that could not be reached, secrets masked.
    package static func send(_ alert: Alert, to channels: [String], manifest: Manifest, within: Duration) async -> [String] {
        var options = ProbeOptions()
        options.userAgent = "versioncheck/\(DeployVerifyVersion.current)"
        guard let prober = try? Prober(options: options) else { return ["cannot start the HTTP client"] }
        // The outcomes carry what went wrong; the deliverer's log lines would repeat it.
        let deliverer = AlertDeliverer(channels: manifest.channels, settings: manifest.settings, prober: prober,
                                       redactor: manifest.redactor, userAgent: options.userAgent) { _ in }
        let deliveries = channels.map { Delivery(id: "\(alert.id):\($0)", channel: $0, alert: alert) }
        let outcomes = await deliverer.deliver(deliveries, outbox: nil, deadline: .now + within)
        var lines: [String] = []
        for delivery in deliveries {
            switch outcomes[delivery.id] {
            case .delivered?: continue
            case .failed(_, let detail)?: lines.append("'\(delivery.channel)': \(manifest.redactor.redact(detail))")
            case .postponed?, nil: lines.append("'\(delivery.channel)': not delivered within \(VersionCheckOutput.format(within))")
            }
        }
        return lines
    }
}
