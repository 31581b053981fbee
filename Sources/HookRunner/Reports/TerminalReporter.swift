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
            print(Self.line(check, terminal), replacing: check.name)
        case .note(let text):
            print(terminal.dim("… \(text)"), replacing: nil)
        }
    }

    /// Prints a line, over the start line of `name` when that is the last thing printed.
    private func print(_ line: String, replacing name: String?) {
        pending.withLock { pending in
            if terminal.isInteractive, let name, pending == name {
                console.out("\r\u{1B}[K" + line + "\n")
            } else {
                if pending != nil { console.out("\n") }
                console.out(line + "\n")
            }
            pending = nil
        }
    }

    static func line(_ check: CheckReport, _ terminal: Terminal) -> String {
        let time = DurationText.format(.milliseconds(check.duration.milliseconds))
        switch check.outcome {
        case .passed:
            if let bake = check.bake { return terminal.green("✔") + " \(check.name) " + terminal.dim("(\(bake.summary))") }
            if let approval = check.approval { return terminal.green("✔") + " \(check.name): \(approval.summary) " + terminal.dim("(\(time))") }
            var extra = check.attempts > 1 ? ", \(check.attempts) attempts" : ""
            if let repetition = check.repetition { extra += ", \(repetition.passed)/\(repetition.total)" }
            return terminal.green("✔") + " \(check.name) " + terminal.dim("(\(time)\(extra))")
        case .failed:
            return terminal.red("✘") + " \(check.name): \(check.reason ?? "failed") " + terminal.dim("(\(time))")
        case .blocked:
            return terminal.red("⛔") + " \(check.name): blocked: \(check.reason ?? "held") " + terminal.dim("(\(time))")
        case .overridden:
            return terminal.yellow("⚠") + " \(check.name): would block, overridden: \(check.reason ?? "held") " + terminal.dim("(\(time))")
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
        let failed = report.checks.filter { [.failed, .blocked, .overridden, .interrupted].contains($0.outcome) }
        for check in failed {
            let mark = switch check.outcome {
            case .failed: terminal.red("✘ ")
            case .blocked: terminal.red("⛔ ")
            default: terminal.yellow("! ")
            }
            lines.append(mark + terminal.bold(check.name) + terminal.dim("  \(check.path)"))
            lines.append("    \(check.target)")
            for condition in check.conditions {
                lines.append("    " + (condition.passed ? terminal.green("✔ ") : terminal.red("✘ ")) + condition.message)
            }
            if check.conditions.allSatisfy(\.passed), let reason = check.reason { lines.append("    \(reason)") }
            if let bake = check.bake {
                lines.append("    \(bake.summary)")
            } else if check.attempts > 1 {
                lines.append("    \(check.attempts) attempts")
            }
            for (label, output) in [("stdout", check.stdout), ("stderr", check.stderr)] {
                guard let output, !output.isEmpty else { continue }
                let tail = output.split(separator: "\n", omittingEmptySubsequences: false).suffix(10)
                lines.append("    \(label) (last lines):")
                lines += tail.map { "      " + $0 }
            }
        }
        if !failed.isEmpty { lines.append("") }
        for check in report.checks {
            guard let approval = check.approval else { continue }
            let mark = approval.verdict == .approve ? terminal.green("✔ ") : terminal.red("✘ ")
            lines.append(mark + "approval '\(check.name)' (\(approval.request)): \(approval.summary)")
        }
        var headline = "\(report.phase): \(report.tally)"
        if report.deadlineExceeded { headline += "; the overall deadline passed" }
        if report.interrupted { headline += "; interrupted" }
        if let override = report.overrideReason {
            lines.append(terminal.yellow("⚠ ") + "blockers overridden (--override-blockers): \(override)")
        }
        if report.exitCode == 4, let blocked = report.blockedSummary {
            lines.append(terminal.red("⛔ ") + "\(report.phase): \(blocked); nothing else ran: no release was judged")
        }
        let mark = report.passed ? terminal.green("✔ ") : report.exitCode == 1 || report.exitCode == 4 ? terminal.red("✘ ") : terminal.yellow("✘ ")
        lines.append(mark + headline)
        for line in lines { console.line(line) }
    }
}
