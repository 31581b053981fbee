import DeployVerifyKit

/// Runs a check: reads every URL (each `samples` times), and with `--wait` keeps polling until
/// all match or the wait is over. A run takes at most the wait plus one `--timeout`.
package final class VersionCheckRunner: Sendable {
    private let options: VersionCheckOptions
    private let prober: Prober
    private let reader: VersionReader

    package init(options: VersionCheckOptions) throws {
        self.options = options
        self.prober = try Prober(options: options.probe)
        self.reader = VersionReader(field: options.field, expectation: options.expectation, revision: options.revision)
    }

    /// Runs to completion. `progress` gets each round's report (wait mode); a cancelled task
    /// returns what it has, marked interrupted.
    package func run(progress: @Sendable (VersionCheckReport) -> Void = { _ in }) async -> VersionCheckReport {
        let started = ContinuousClock.now
        let waitUntil = options.wait.map { started + $0 }
        let deadline = options.wait == nil ? options.deadline.map { started + $0 } : nil
        var report = VersionCheckReport(expectation: options.expectation?.description, revision: options.revision,
                                        targets: [], rounds: 0, elapsed: .zero)
        while true {
            let targets = await round(deadline: deadline)
            report.elapsed = ContinuousClock.now - started
            if Task.isCancelled {
                // A round cut short says nothing; the last complete one still does.
                if report.rounds == 0 { report.targets = targets }
                report.interrupted = true
                return report
            }
            report.targets = targets
            report.rounds += 1
            guard let waitUntil, report.exitCode != 0 else { return report }
            let now = ContinuousClock.now
            guard now < waitUntil else {
                report.waitExpired = true
                return report
            }
            progress(report)
            // The last poll starts at the end of the wait; each read is still bounded by --timeout.
            do {
                try await Task.sleep(until: min(now + options.interval, waitUntil))
            } catch {
                report.interrupted = true
                return report
            }
        }
    }

    /// One read of every URL, `samples` times each. Samples and the polls of `--wait` use fresh
    /// connections: a load balancer keeps a kept-alive connection on its old backend after a
    /// switch, so reusing one would hide the very change being waited for.
    private func round(deadline: ContinuousClock.Instant?) async -> [TargetResult] {
        let samples = options.samples
        let requests = options.urls.flatMap { Array(repeating: $0, count: samples) }
        let fresh = samples > 1 || options.wait != nil
        let results = await prober.probeAll(requests, freshConnection: fresh, deadline: deadline)
        return options.urls.indices.map { index in
            let slice = results[(index * samples)..<((index + 1) * samples)]
            return TargetResult(url: options.urls[index], samples: slice.map(reader.read))
        }
    }
}
