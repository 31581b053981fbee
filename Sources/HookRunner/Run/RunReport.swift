import DeployVerifyKit
import Foundation

/// How one check ended, with what a person (or a CI system) needs to see why.
package struct CheckReport: Sendable {
    package enum Outcome: String, Sendable {
        case passed, failed, skipped, interrupted
        /// A blocker that holds the deployment: an alarm fires, the window is closed, or it
        /// could not be evaluated.
        case blocked
        /// A blocker that would hold, let through by `--override-blockers`.
        case overridden
    }

    package var name: String
    /// JSON path of the check in the file.
    package var path: String
    package var kind: String
    /// What it checked: URL, address or command line, secrets masked.
    package var target: String
    package var outcome: Outcome
    package var attempts: Int
    package var started: Date
    package var duration: Duration
    /// Why it failed, was skipped or interrupted; nil when it passed.
    package var reason: String?
    /// The conditions of the last attempt.
    package var conditions: [ConditionResult]
    /// Command output (tails of standard output and error), masked.
    package var stdout: String?
    package var stderr: String?
    /// For `repeat`: how many of how many runs passed.
    package var repetition: (passed: Int, total: Int)?
    /// The name of the parallel group (or bake), for checks run in one.
    package var group: String?
    /// The check is (part of) a blocker step.
    package var blocker = false
    /// For a check in a bake: how far the bake got.
    package var bake: BakeProgress?
    /// For an approval: the trail's record that settled it (approved, rolled back, timed out,
    /// pre-approved, cancelled).
    package var approval: ApprovalRecord?
}

/// How far a bake got: rounds run, time baked, and the time it was to bake.
package struct BakeProgress: Sendable {
    package var rounds: Int
    package var baked: Duration
    package var planned: Duration

    /// `baked 1m30s of 10m, 4 rounds`.
    package var summary: String {
        "baked \(DurationText.format(.milliseconds(baked.milliseconds))) of \(DurationText.format(planned)), "
            + "\(rounds) round\(rounds == 1 ? "" : "s")"
    }
}

/// A phase's run: every check's report, and the exit status it adds up to.
package struct PhaseReport: Sendable {
    package var phase: String
    package var configFile: String
    /// CodeDeploy's `LIFECYCLE_EVENT`, when that chose the phase.
    package var lifecycleEvent: String?
    /// CodeDeploy's DEPLOYMENT_ID, APPLICATION_NAME, DEPLOYMENT_GROUP_NAME … when set.
    package var deployment: [(name: String, value: String)]
    package var started: Date
    package var duration: Duration
    package var checks: [CheckReport]
    /// The overall `--timeout` passed.
    package var deadlineExceeded = false
    /// Stopped by SIGINT or SIGTERM (or the serve request went away).
    package var interrupted = false
    /// `--override-blockers REASON`: blockers were evaluated and reported but did not hold.
    package var overrideReason: String?
    /// What was reported to CodeDeploy for a hook execution (`--codedeploy-hook`, `lambda`).
    package var codeDeployHook: CodeDeployHookResult?

    package var failed: [CheckReport] { checks.filter { $0.outcome == .failed } }

    /// The blockers that hold the deployment.
    package var blockedBy: [CheckReport] { checks.filter { $0.outcome == .blocked } }

    /// 0 all passed; 1 a check failed; 3 the deadline passed or the run was interrupted;
    /// 4 a blocker holds the deployment (nothing else ran: no release was judged).
    package var exitCode: Int32 {
        if deadlineExceeded || interrupted { return 3 }
        if checks.contains(where: { $0.outcome == .blocked }) { return 4 }
        return checks.contains { $0.outcome == .failed } ? 1 : 0
    }

    package var passed: Bool { exitCode == 0 }

    /// `passed`, `failed`, `blocked`, `deadline-exceeded` or `interrupted`.
    package var result: String {
        switch exitCode {
        case 0: "passed"
        case 1: "failed"
        case 4: "blocked"
        default: deadlineExceeded ? "deadline-exceeded" : "interrupted"
        }
    }

    /// `blocked by 'no alarms': 1 of 2 alarms in ALARM: …; 'window': …`, nil when not blocked.
    package var blockedSummary: String? {
        let holding = blockedBy
        guard !holding.isEmpty else { return nil }
        return "blocked by " + holding.map { "'\($0.name)': \($0.reason ?? "held")" }.joined(separator: "; ")
    }

    package func count(_ outcome: CheckReport.Outcome) -> Int {
        checks.filter { $0.outcome == outcome }.count
    }

    /// `3 passed, 1 failed, 1 skipped in 4.2s`.
    package var tally: String {
        var parts = ["\(count(.passed)) passed"]
        for outcome in [CheckReport.Outcome.failed, .blocked, .overridden, .skipped, .interrupted] where count(outcome) > 0 {
            parts.append("\(count(outcome)) \(outcome.rawValue)")
        }
        return parts.joined(separator: ", ") + " in \(DurationText.format(.milliseconds(duration.milliseconds)))"
    }

    /// The CodeDeploy variables reported when present.
    package static let deploymentVariables = [
        "DEPLOYMENT_ID", "APPLICATION_NAME", "DEPLOYMENT_GROUP_NAME", "DEPLOYMENT_GROUP_ID", "LIFECYCLE_EVENT",
    ]
}
