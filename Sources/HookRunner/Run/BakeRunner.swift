import DeployVerifyKit
import Foundation

extension PhaseRunner {
    /// Runs a bake: every check at the start, then every `every` (the last round when `for` has
    /// passed), each round's checks together (at most `jobs` at once). The first failure ends the
    /// bake at once: the round's other checks are cancelled, and the failure is reported with how
    /// long the bake ran. The run's cancellation (deadline, signal) ends it as interrupted.
    func run(bake: Bake, _ step: PlannedStep) async -> [CheckReport] {
        let checks = step.checks
        let name = step.step.name
        for planned in checks { events(.started(name: planned.check.name, target: planned.targetDescription)) }
        let startedAt = Date()
        let started = ContinuousClock.now
        var latest = [CheckReport?](repeating: nil, count: checks.count)
        var attempts = [Int](repeating: 0, count: checks.count)
        var rounds = 0
        var failure: Int?
        var interrupted = false
        var offset: Duration = .zero
        while true {
            if rounds > 0 {
                do {
                    try await Task.sleep(until: started + offset, clock: .continuous)
                } catch {
                    interrupted = true
                    break
                }
            }
            rounds += 1
            let elapsed = ContinuousClock.now - started
            events(.note("\(name): round \(rounds), baked \(DurationText.format(.milliseconds(elapsed.milliseconds))) of \(DurationText.format(bake.duration))"))
            let results = await round(checks, group: name)
            for (index, report) in results.enumerated() {
                guard let report else { continue }
                latest[index] = report
                attempts[index] += report.attempts
            }
            if Task.isCancelled {
                interrupted = true
                break
            }
            if let failed = results.firstIndex(where: { $0?.outcome == .failed }) {
                failure = failed
                break
            }
            if offset >= bake.duration || ContinuousClock.now - started >= bake.duration { break }
            offset = min(offset + bake.every, bake.duration)
        }

        let progress = BakeProgress(rounds: rounds, baked: ContinuousClock.now - started, planned: bake.duration)
        var reports: [CheckReport] = []
        for (index, planned) in checks.enumerated() {
            var report = latest[index] ?? CheckReport(
                name: planned.check.name, path: planned.check.path, kind: planned.check.kind.name, target: planned.targetDescription,
                outcome: .skipped, attempts: 0, started: startedAt, duration: .zero, reason: nil, conditions: [], group: name)
            if interrupted {
                report.outcome = .interrupted
                report.reason = "interrupted: the run was stopped (\(progress.summary))"
            } else if let failure, failure == index {
                report.reason = "failed in round \(rounds) of the bake (\(progress.summary)): \(report.reason ?? "failed")"
            } else if let failure, latest[index] == nil {
                report.reason = "not finished: the bake ended when '\(checks[failure].check.name)' failed"
            }
            report.started = startedAt
            report.duration = progress.baked
            report.attempts = attempts[index]
            report.group = name
            report.bake = progress
            events(.finished(report))
            reports.append(report)
        }
        return reports
    }

    /// One round: the checks together; the first failure cancels the rest, whose reports are
    /// then nil.
    private func round(_ checks: [PlannedCheck], group name: String) async -> [CheckReport?] {
        var results = [CheckReport?](repeating: nil, count: checks.count)
        await withTaskGroup(of: (Int, CheckReport).self) { group in
            var next = 0
            func addNext() {
                guard next < checks.count else { return }
                let index = next
                next += 1
                group.addTask { (index, await self.evaluate(checks[index], group: name, blocker: false)) }
            }
            for _ in 0..<max(1, options.jobs) { addNext() }
            while let (index, report) = await group.next() {
                results[index] = report
                if report.outcome == .failed {
                    group.cancelAll()
                    break
                }
                addNext()
            }
        }
        return results
    }
}
