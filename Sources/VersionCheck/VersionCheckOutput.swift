import DeployVerifyKit
import InfoEndpoint

/// Renders reports as a table, as JSON, and as wait progress. All text passes through the
/// redactor, and URLs lose their credentials, before it is returned.
package struct VersionCheckOutput: Sendable {
    package let terminal: Terminal
    package let redactor: Redactor
    package let showRevision: Bool

    package init(terminal: Terminal, redactor: Redactor, showRevision: Bool) {
        self.terminal = terminal
        self.redactor = redactor
        self.showRevision = showRevision
    }

    private func url(_ text: String) -> String {
        redactor.redact(Redaction.url(text))
    }

    // MARK: Table

    package func table(_ report: VersionCheckReport) -> [String] {
        var header = ["URL", "VERSION"]
        if showRevision { header.append("REVISION") }
        if report.expectation != nil { header.append("EXPECTED") }
        header += ["RESULT", "TIME"]
        var rows = [header.map { terminal.bold($0) }]
        var details: [String] = []
        for target in report.targets {
            let sample = target.representative
            let mix = target.mix
            var version = "-"
            if mix.count == 1, target.samples.count == 1 {
                version = mix[0].version
            } else if !mix.isEmpty {
                version = mix.map { "\($0.count)× \($0.version)" }.joined(separator: ", ")
                let unread = target.samples.filter { $0.version == nil }.count
                if unread > 0 { version += ", \(unread)× unread" }
            }
            var row = [url(target.url), version]
            if showRevision { row.append(sample.revision.map { String($0.prefix(12)) } ?? "-") }
            if let expectation = report.expectation { row.append(expectation) }
            row.append(resultCell(target, judged: report.expectation != nil || report.revision != nil))
            row.append(Self.format(target.latency))
            rows.append(row)
            if target.verdict != .match, let message = sample.message {
                let prefix = target.verdict == .unreadable ? "\(sample.errorClass ?? "unreadable"): " : ""
                details.append("  \(url(target.url)): \(prefix)\(message)")
            }
        }
        var lines = TextTable.render(rows)
        if !details.isEmpty {
            lines.append("")
            lines += details.map { redactor.redact($0) }
        }
        lines.append("")
        lines.append(summaryLine(report))
        return lines.map { redactor.redact($0) }
    }

    private func resultCell(_ target: TargetResult, judged: Bool) -> String {
        switch target.verdict {
        case .match: return terminal.green(judged ? "ok" : "read")
        case .mismatch: return terminal.red("MISMATCH")
        case .unreadable: return terminal.yellow(target.representative.errorClass ?? "unreadable")
        }
    }

    package func summaryLine(_ report: VersionCheckReport) -> String {
        var text = report.summary()
        var notes: [String] = []
        if report.rounds > 1 { notes.append("\(report.rounds) rounds") }
        notes.append(Self.format(report.elapsed))
        if report.waitExpired { notes.append("gave up waiting") }
        if report.interrupted { notes.append("interrupted") }
        text += " (" + notes.joined(separator: ", ") + ")"
        switch report.exitCode {
        case 0: return terminal.green("✔ ") + text
        case 1: return terminal.red("✘ ") + text
        default: return terminal.yellow("✘ ") + text
        }
    }

    // MARK: Progress

    /// One line of wait progress: `waiting for 1.4.2: 2/3 on 1.4.2; 1 still 1.4.1 (6s, 24s left)`.
    package func progress(_ report: VersionCheckReport, remaining: Duration?) -> String {
        var text = "waiting for \(report.expectation ?? "a version"): \(report.summary(progress: true))"
        text += " (\(Self.format(report.elapsed))"
        if let remaining { text += ", \(Self.format(max(.zero, remaining))) left" }
        return redactor.redact(text + ")")
    }

    // MARK: JSON

    package func json(_ report: VersionCheckReport) -> String {
        var json = JSONText()
        json.object { json in
            json.member("result", report.verdict.rawValue)
            json.key("exitCode")
            json.number(Int(report.exitCode))
            json.member("expected", report.expectation)
            json.member("revision", report.revision)
            json.member("summary", report.summary())
            json.key("rounds")
            json.number(report.rounds)
            json.key("elapsedMs")
            json.number(Self.milliseconds(report.elapsed))
            json.key("waitExpired")
            json.bool(report.waitExpired)
            json.key("interrupted")
            json.bool(report.interrupted)
            json.key("targets")
            json.array { json in
                for target in report.targets {
                    json.object { json in
                        let sample = target.representative
                        json.member("url", url(target.url))
                        json.member("result", target.verdict.rawValue)
                        json.member("version", sample.version)
                        json.member("revision", sample.revision)
                        json.key("versions")
                        json.versionCounts(target.mix)
                        json.key("latencyMs")
                        json.number(Self.milliseconds(target.latency))
                        error(sample, into: &json)
                        json.key("samples")
                        json.array { json in
                            for sample in target.samples { self.sample(sample, into: &json) }
                        }
                    }
                }
            }
        }
        return redactor.redact(json.text)
    }

    private func sample(_ sample: Sample, into json: inout JSONText) {
        json.object { json in
            json.member("result", sample.verdict.rawValue)
            json.member("version", sample.version)
            json.member("revision", sample.revision)
            json.key("status")
            if let status = sample.status { json.number(status) } else { json.null() }
            json.key("timings")
            json.object { json in
                for (name, value) in [("connectMs", sample.timings.connect), ("firstByteMs", sample.timings.firstByte),
                                      ("totalMs", sample.timings.total as Duration?)] {
                    json.key(name)
                    if let value { json.number(Self.milliseconds(value)) } else { json.null() }
                }
            }
            error(sample, into: &json)
        }
    }

    private func error(_ sample: Sample, into json: inout JSONText) {
        json.key("error")
        if sample.verdict == .unreadable {
            json.object { json in
                json.member("class", sample.errorClass ?? "unreadable")
                json.member("message", sample.message)
            }
        } else if sample.verdict == .mismatch {
            json.object { json in
                json.member("class", "mismatch")
                json.member("message", sample.message)
            }
        } else {
            json.null()
        }
    }

    // MARK: Formatting

    /// Milliseconds with two decimals.
    static func milliseconds(_ duration: Duration) -> Double {
        (duration.seconds * 100_000).rounded() / 100
    }

    /// `850µs`, `3ms`, `1.2s`, `2m5s`.
    package static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 0.001 { return "\(Int((seconds * 1_000_000).rounded()))µs" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 { return seconds < 10 ? String(format: "%.1fs", seconds) : "\(Int(seconds.rounded()))s" }
        let whole = Int(seconds.rounded())
        return "\(whole / 60)m\(whole % 60 == 0 ? "" : "\(whole % 60)s")"
    }
}

extension JSONText {
    /// `[{"version": "1.4.2", "count": 2}, …]`: how many instances or samples report each version.
    mutating func versionCounts(_ counts: [(version: String, count: Int)]) {
        array { json in
            for (version, count) in counts {
                json.object { json in
                    json.member("version", version)
                    json.key("count")
                    json.number(count)
                }
            }
        }
    }
}
