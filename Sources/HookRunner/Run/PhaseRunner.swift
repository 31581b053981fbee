import DeployVerifyKit
import Foundation
import InfoEndpoint
import VersionCheck

/// What a running phase tells its observers (the terminal, serve mode's log).
package enum RunEvent: Sendable {
    case started(name: String, target: String)
    case finished(CheckReport)
    /// Progress worth a line: a bake's rounds.
    case note(String)
}

package struct RunOptions: Sendable {
    /// Checks run at once within a parallel group (and by `repeat`).
    package var jobs = 8
    /// Run every step even after a failure (default: stop; `always` steps still run).
    package var keepGoing = false
    /// `--override-blockers REASON`: blockers are evaluated and reported, and do not hold.
    package var overrideReason: String?
    /// The clock `window` checks read.
    package var now: @Sendable () -> Date = { Date() }
    /// How `approval` steps post, wait and record.
    package var approvals = ApprovalSettings()
    package init() {}
}

/// Runs one phase's planned steps.
package struct PhaseRunner: Sendable {
    let steps: [PlannedStep]
    let scope: VariableScope
    let prober: Prober
    let options: RunOptions
    let events: @Sendable (RunEvent) -> Void
    /// For CloudWatch alarms, made on first use.
    let awsClients: AWSClients

    package init(steps: [PlannedStep], scope: VariableScope, prober: Prober, options: RunOptions,
                 awsClients: AWSClients = AWSClients(environment: ProcessInfo.processInfo.environment),
                 events: @escaping @Sendable (RunEvent) -> Void = { _ in }) {
        self.steps = steps
        self.scope = scope
        self.prober = prober
        self.options = options
        self.awsClients = awsClients
        self.events = events
    }

    /// Runs the blocker steps first, all of them; when one holds, nothing else runs. Then the
    /// other steps in order: once a step fails (and without `keepGoing`), the steps after it are
    /// skipped except those marked `always`. A cancelled task marks what it cut short as
    /// interrupted and skips the rest, `always` steps included.
    package func run() async -> [CheckReport] {
        var reports: [CheckReport] = []
        var holding: String?
        for step in steps where step.step.blocker {
            if Task.isCancelled {
                reports += skipped(step, reason: "not run: the run was stopped", outcome: .interrupted)
                continue
            }
            let results = await run(step)
            reports += results
            if holding == nil, let held = results.first(where: { $0.outcome == .blocked }) { holding = held.name }
        }
        var failedStep: String?
        for step in steps where !step.step.blocker {
            if Task.isCancelled {
                reports += skipped(step, reason: "not run: the run was stopped", outcome: .interrupted)
                continue
            }
            if let holding {
                reports += skipped(step, reason: "not run: the deployment is blocked by '\(holding)'")
                continue
            }
            if let failedStep, !options.keepGoing, !step.step.always {
                reports += skipped(step, reason: "skipped after '\(failedStep)' failed")
                continue
            }
            let results = await run(step)
            reports += results
            if failedStep == nil, results.contains(where: { $0.outcome == .failed }) {
                failedStep = step.step.name
            }
        }
        return reports
    }

    private func skipped(_ step: PlannedStep, reason: String, outcome: CheckReport.Outcome = .skipped) -> [CheckReport] {
        step.checks.map { planned in
            let report = CheckReport(name: planned.check.name, path: planned.check.path, kind: planned.check.kind.name,
                                     target: planned.targetDescription, outcome: outcome, attempts: 0, started: Date(),
                                     duration: .zero, reason: reason, conditions: [],
                                     group: step.step.isParallel ? step.step.name : nil)
            events(.finished(report))
            return report
        }
    }

    private func run(_ step: PlannedStep) async -> [CheckReport] {
        if let bake = step.step.bake { return await run(bake: bake, step) }
        let blocker = step.step.blocker
        guard step.step.isParallel else { return [await run(step.checks[0], group: nil, blocker: blocker)] }
        var results = [CheckReport?](repeating: nil, count: step.checks.count)
        await withTaskGroup(of: (Int, CheckReport).self) { group in
            var next = 0
            func addNext() {
                guard next < step.checks.count else { return }
                let index = next
                next += 1
                group.addTask { (index, await self.run(step.checks[index], group: step.step.name, blocker: blocker)) }
            }
            for _ in 0..<max(1, options.jobs) { addNext() }
            while let (index, report) = await group.next() {
                results[index] = report
                addNext()
            }
        }
        return results.map { $0! }
    }

    // MARK: One check: retries and repetitions

    private func run(_ planned: PlannedCheck, group: String?, blocker: Bool) async -> CheckReport {
        events(.started(name: planned.check.name, target: planned.targetDescription))
        let report = await evaluate(planned, group: group, blocker: blocker)
        events(.finished(report))
        return report
    }

    /// Runs a check with its retries and repetitions, without telling the observers. A blocker
    /// that fails holds the deployment (`blocked`), or is `overridden`.
    func evaluate(_ planned: PlannedCheck, group: String?, blocker: Bool) async -> CheckReport {
        let check = planned.check
        let startedAt = Date()
        let started = ContinuousClock.now
        var attempts = 0
        var last: AttemptResult
        while true {
            attempts += 1
            last = await attempt(planned)
            if last.passed || Task.isCancelled { break }
            guard let retry = check.retry, ContinuousClock.now + retry.every < started + retry.within else { break }
            do {
                try await Task.sleep(for: retry.every)
            } catch {
                break
            }
        }
        var report = CheckReport(name: check.name, path: check.path, kind: check.kind.name, target: planned.targetDescription,
                                 outcome: last.passed ? .passed : .failed, attempts: attempts, started: startedAt,
                                 duration: ContinuousClock.now - started, reason: nil, conditions: last.conditions,
                                 stdout: last.stdout.map(scope.redactor.redact), stderr: last.stderr.map(scope.redactor.redact),
                                 repetition: last.repetition, group: group)
        report.approval = last.approval
        if Task.isCancelled, !last.passed {
            report.outcome = .interrupted
            report.reason = "interrupted: the run was stopped"
        } else if !last.passed {
            var reason = last.reason ?? "failed"
            if let retry = check.retry, attempts > 1 {
                reason += " (after \(attempts) attempts in \(DurationText.format(retry.within)))"
            }
            report.reason = scope.redactor.redact(reason)
            if blocker { report.outcome = options.overrideReason == nil ? .blocked : .overridden }
        }
        report.blocker = blocker
        report.conditions = report.conditions.map { condition in
            var masked = condition
            masked.actual = scope.redactor.redact(condition.actual)
            masked.message = scope.redactor.redact(condition.message)
            return masked
        }
        return report
    }

    struct AttemptResult {
        var passed: Bool
        var reason: String?
        var conditions: [ConditionResult]
        var stdout: String?
        var stderr: String?
        var repetition: (passed: Int, total: Int)?
        /// For an approval: the record that settled it.
        var approval: ApprovalRecord?
    }

    private func attempt(_ planned: PlannedCheck) async -> AttemptResult {
        guard let repetition = planned.check.repetition else { return await once(planned) }
        var outcomes: [AttemptResult] = []
        await withTaskGroup(of: AttemptResult.self) { group in
            var started = 0
            for _ in 0..<min(repetition.concurrency, repetition.count) {
                started += 1
                group.addTask { await self.once(planned) }
            }
            while let outcome = await group.next() {
                outcomes.append(outcome)
                if started < repetition.count, !Task.isCancelled {
                    started += 1
                    group.addTask { await self.once(planned) }
                }
            }
        }
        let passed = outcomes.filter(\.passed).count
        let share = Double(passed) / Double(repetition.count)
        let enough = share >= repetition.minSuccess && outcomes.count == repetition.count
        let example = outcomes.first { !$0.passed } ?? outcomes.first!
        var result = example
        result.passed = enough
        result.repetition = (passed, repetition.count)
        let percent = { (value: Double) in String(format: "%g%%", (value * 1000).rounded() / 10) }
        result.reason = enough ? nil : "\(passed)/\(repetition.count) passed (\(percent(share)), at least \(percent(repetition.minSuccess)) needed)"
            + (example.reason.map { "; e.g. \($0)" } ?? "")
        return result
    }

    // MARK: One run of a check

    private func once(_ planned: PlannedCheck) async -> AttemptResult {
        let check = planned.check
        var observation = Observation()
        var verdict: String? // a failure that is not a condition (the version did not match, nothing listens)
        switch planned.target {
        case .http(let url, let method, let headers, let body, let follow, let maxBody):
            var options = prober.options
            options.method = method
            options.headers = headers
            options.body = body
            options.timeout = check.timeout
            options.connectTimeout = min(options.connectTimeout, check.timeout)
            options.maxRedirects = follow ? 5 : 0
            options.maxBodyBytes = maxBody
            let result = await prober.probe(url, options: options)
            observe(result, into: &observation)

        case .command(let arguments, let overrides, let directory):
            var environment = ProcessInfo.processInfo.environment
            for (name, value) in overrides { environment[name] = value }
            do {
                let result = try await ProcessRunner.run(arguments, environment: environment, directory: directory, timeout: check.timeout)
                observation.time = result.duration
                observation.exitCode = result.exitCode
                observation.exitDescription = result.statusDescription
                observation.stdout = result.stdout
                observation.stderr = result.stderr
                if result.timedOut {
                    observation.failure = "timed out after \(DurationText.format(check.timeout)); its process group was terminated"
                    observation.exitCode = nil
                    observation.exitDescription = observation.failure
                } else if result.cancelled {
                    observation.failure = "cancelled; its process group was terminated"
                    observation.exitCode = nil
                }
            } catch {
                observation.failure = error.description
            }

        case .tcp(let host, let port):
            switch await TCPConnect.attempt(host: host, port: port, timeout: check.timeout) {
            case .success(let time):
                observation.time = time
            case .failure(let failure):
                observation.failure = "\(failure.className): \(failure.message)"
                verdict = observation.failure
            }

        case .version(let url, let expectation, let field, let revision, let samples, let headers):
            var options = prober.options
            options.headers = [("Accept", "application/json")] + headers
            options.timeout = check.timeout
            options.connectTimeout = min(options.connectTimeout, check.timeout)
            let reader = VersionReader(field: field, expectation: expectation, revision: revision)
            var readings: [Sample] = []
            var lastResult: ProbeResult?
            for _ in 0..<samples {
                let result = await prober.probe(url, options: options, freshConnection: samples > 1)
                readings.append(reader.read(result))
                lastResult = result
            }
            if let lastResult { observe(lastResult, into: &observation) }
            observation.version = readings.last?.version
            observation.revision = readings.last?.revision
            if let bad = readings.first(where: { $0.verdict != .match }) {
                let mix = samples > 1 ? " (\(Set(readings.compactMap(\.version)).sorted().joined(separator: ", ")) over \(samples) samples)" : ""
                verdict = (bad.verdict == .unreadable ? "\(bad.errorClass ?? "unreadable"): " : "") + (bad.message ?? "no match") + mix
            }

        case .alarms(let alarms):
            return await judge(alarms, timeout: check.timeout)

        case .prometheus(let url, let query, let headers, let emptyPasses):
            return await judge(prometheus: url, query: query, headers: headers, emptyPasses: emptyPasses,
                               conditions: check.conditions, timeout: check.timeout)

        case .approval(let approval):
            return await approve(approval, check: check)

        case .window(let window):
            let verdict = window.evaluate(at: options.now())
            return AttemptResult(passed: verdict.open, reason: verdict.open ? nil : verdict.message, conditions: [
                ConditionResult(condition: "inside the deployment window", passed: verdict.open, actual: verdict.localTime,
                                message: verdict.message),
            ])
        }

        observation.prepareJSON(for: check.conditions)
        let conditions = check.conditions.map { condition in
            condition.evaluate(observation) { template in try scope.expand(template) }
        }
        let failedCondition = conditions.first { !$0.passed }
        let passed = verdict == nil && failedCondition == nil
        return AttemptResult(passed: passed, reason: verdict ?? failedCondition?.message, conditions: conditions,
                             stdout: observation.stdout, stderr: observation.stderr)
    }

    private func observe(_ result: ProbeResult, into observation: inout Observation) {
        observation.status = result.status
        observation.time = result.timings.total
        observation.headers = result.headers
        if result.status != nil { observation.body = result.body }
        if let failure = result.failure, case .httpError = failure {} else if let failure = result.failure {
            observation.failure = "\(failure.className): \(failure.message)"
        }
    }
}
