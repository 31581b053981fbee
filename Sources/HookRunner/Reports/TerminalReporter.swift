import DeployVerifyKit
import Foundation
import InfoEndpoint

/// Live progress and the final summary on standard output.
///
/// On a terminal each check gets a line when it starts (`… name`), rewritten in place with its
/// result when it finishes if nothing was printed in between; off a terminal (CI logs) a line is
/// printed when a check finishes. The summary lists failures first, with the conditions that
/// failed and the output of failed commands.
package final class TerminalReporter: Sendable {
    private let terminal: Terminal
    private let console = Console()
    private let quiet: Bool
    /// The name of the check whose start line is the last thing printed (TTY only).
    private let pending = Locked<String?>(nil)

    package init(terminal: Terminal, quiet: Bool) {
        self.terminal = terminal
        self.quiet = quiet
    }

    package func handle(_ event: RunEvent) {
        guard !quiet else { return }
        switch event {
        case .started(let name, _):
            guard terminal.isInteractive else { return }
            pending.withLock { pending in
                if pending != nil { console.out("\n") }
                console.out(terminal.dim("… \(name)"))
                pending = name
            }
        case .finished(let check):
            let line = Self.line(check, terminal)
            pending.withLock { pending in
                if terminal.isInteractive, pending == check.name {
                    console.out("\r\u{1B}[K" + line + "\n")
                } else {
                    if pending != nil { console.out("\n") }
                    console.out(line + "\n")
                }
                pending = nil
            }
        }
    }

    static func line(_ check: CheckReport, _ terminal: Terminal) -> String {
        let time = DurationText.format(.milliseconds(check.duration.milliseconds))
        switch check.outcome {
        case .passed:
            var extra = check.attempts > 1 ? ", \(check.attempts) attempts" : ""
            if let repetition = check.repetition { extra += ", \(repetition.passed)/\(repetition.total)" }
            return terminal.green("✔") + " \(check.name) " + terminal.dim("(\(time)\(extra))")
        case .failed:
            return terminal.red("✘") + " \(check.name): \(check.reason ?? "failed") " + terminal.dim("(\(time))")
        case .skipped:
            return terminal.dim("- \(check.name): \(check.reason ?? "skipped")")
        case .interrupted:
            return terminal.yellow("!") + " \(check.name): \(check.reason ?? "interrupted")"
        }
    }

    /// The summary after a run.
    package func summary(_ report: PhaseReport) {
        guard !quiet else { return }
        var lines: [String] = [""]
        let failed = report.checks.filter { $0.outcome == .failed || $0.outcome == .interrupted }
        for check in failed {
            lines.append((check.outcome == .failed ? terminal.red("✘ ") : terminal.yellow("! ")) + terminal.bold(check.name)
                + terminal.dim("  \(check.path)"))
            lines.append("    \(check.target)")
            for condition in check.conditions {
                lines.append("    " + (condition.passed ? terminal.green("✔ ") : terminal.red("✘ ")) + condition.message)
            }
            if check.conditions.allSatisfy(\.passed), let reason = check.reason { lines.append("    \(reason)") }
            if check.attempts > 1 { lines.append("    \(check.attempts) attempts") }
            for (label, output) in [("stdout", check.stdout), ("stderr", check.stderr)] {
                guard let output, !output.isEmpty else { continue }
                let tail = output.split(separator: "\n", omittingEmptySubsequences: false).suffix(10)
                lines.append("    \(label) (last lines):")
                lines += tail.map { "      " + $0 }
            }
        }
        if !failed.isEmpty { lines.append("") }
        var headline = "\(report.phase): \(report.tally)"
        if report.deadlineExceeded { headline += "; the overall deadline passed" }
        if report.interrupted { headline += "; interrupted" }
        let mark = report.passed ? terminal.green("✔ ") : report.exitCode == 1 ? terminal.red("✘ ") : terminal.yellow("✘ ")
        lines.append(mark + headline)
        for line in lines { console.line(line) }
    }
}
