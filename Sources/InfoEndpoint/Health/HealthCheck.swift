import Foundation

/// The outcome of a health check, after the IETF health-check draft
/// (draft-inadarei-api-health-check): `pass`, `warn` (healthy, with a concern) or `fail`.
public enum HealthStatus: String, Sendable, Hashable, Comparable {
    case pass, warn, fail

    public static func < (lhs: HealthStatus, rhs: HealthStatus) -> Bool {
        lhs.severity < rhs.severity
    }

    private var severity: Int {
        switch self {
        case .pass: 0
        case .warn: 1
        case .fail: 2
        }
    }
}

/// What one check reports. `observedValue`/`observedUnit` are the draft's measurement fields
/// (`12`, `"ms"`); `output` explains a warn or fail.
public struct HealthCheckResult: Sendable, Hashable {
    public var status: HealthStatus
    public var output: String?
    public var observedValue: Double?
    public var observedUnit: String?

    public init(status: HealthStatus, output: String? = nil, observedValue: Double? = nil, observedUnit: String? = nil) {
        self.status = status
        self.output = output
        self.observedValue = observedValue
        self.observedUnit = observedUnit
    }

    public static let pass = HealthCheckResult(status: .pass)

    public static func warn(_ output: String) -> HealthCheckResult {
        HealthCheckResult(status: .warn, output: output)
    }

    public static func fail(_ output: String) -> HealthCheckResult {
        HealthCheckResult(status: .fail, output: output)
    }
}

/// Which probe endpoints a check belongs to: `/health/live`, `/health/ready` (both are in `/health`).
public struct HealthProbes: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Fails only when the process must be restarted. Keep dependencies out of liveness.
    public static let liveness = HealthProbes(rawValue: 1)
    /// Fails while the instance should not get traffic (dependencies down, warming up).
    public static let readiness = HealthProbes(rawValue: 2)
    public static let all: HealthProbes = [.liveness, .readiness]
}

/// A registered check: a name, the probes it belongs to, a timeout and the async closure.
struct HealthCheck: Sendable {
    let name: String
    let probes: HealthProbes
    let timeout: Duration
    let run: @Sendable () async throws -> HealthCheckResult
}

/// One evaluated check, as it appears in the `checks` map of the health document.
struct HealthCheckReport: Sendable {
    let name: String
    let result: HealthCheckResult
    let time: Date
}

/// The checks registered on a responder, and their evaluation: concurrent, each bounded by its
/// timeout (a check that ignores cancellation is abandoned, not awaited), and single-flight (a
/// burst of probes shares one evaluation instead of hammering the dependencies).
final class HealthRegistry: Sendable {
    private let checks = Locked<[HealthCheck]>([])
    private let inFlight = Locked<[Int: Task<[HealthCheckReport], Never>]>([:])

    func add(_ check: HealthCheck) {
        checks.withLock { checks in
            checks.removeAll { $0.name == check.name }
            checks.append(check)
        }
    }

    func remove(named name: String) {
        checks.withLock { $0.removeAll { $0.name == name } }
    }

    func hasChecks(for probes: HealthProbes) -> Bool {
        checks.withLock { $0.contains { !$0.probes.isDisjoint(with: probes) } }
    }

    /// Runs every check that belongs to any of `probes`, sorted by name.
    func evaluate(_ probes: HealthProbes) async -> [HealthCheckReport] {
        let task = inFlight.withLock { inFlight in
            if let running = inFlight[probes.rawValue] { return running }
            let selected = checks.withLock { $0.filter { !$0.probes.isDisjoint(with: probes) } }
            let task = Task { await Self.run(selected) }
            inFlight[probes.rawValue] = task
            return task
        }
        let reports = await task.value
        inFlight.withLock { inFlight in
            if inFlight[probes.rawValue] == task { inFlight[probes.rawValue] = nil }
        }
        return reports
    }

    private static func run(_ checks: [HealthCheck]) async -> [HealthCheckReport] {
        await withTaskGroup(of: HealthCheckReport.self) { group in
            for check in checks {
                group.addTask {
                    let result = await runBounded(check)
                    return HealthCheckReport(name: check.name, result: result, time: Date())
                }
            }
            var reports: [HealthCheckReport] = []
            for await report in group { reports.append(report) }
            return reports.sorted { $0.name < $1.name }
        }
    }

    /// Runs one check, answering `fail` at its timeout even if the closure never returns.
    private static func runBounded(_ check: HealthCheck) async -> HealthCheckResult {
        let pending = Locked<CheckedContinuation<HealthCheckResult, Never>?>(nil)
        let timer = Locked<Task<Void, Never>?>(nil)
        /// Resumes the caller once; true for the caller that got there first.
        @Sendable func finish(_ result: HealthCheckResult) -> Bool {
            guard let continuation = pending.withLock({ slot in defer { slot = nil }; return slot }) else { return false }
            continuation.resume(returning: result)
            return true
        }
        return await withCheckedContinuation { continuation in
            pending.withLock { $0 = continuation }
            let work = Task {
                let result: HealthCheckResult
                do {
                    result = try await check.run()
                } catch {
                    result = .fail(String(describing: error))
                }
                if finish(result) { timer.withLock { $0?.cancel() } }
            }
            let deadline = Task {
                do { try await CancellableSleep.sleep(for: check.timeout) } catch { return }
                if finish(.fail("timed out after \(check.timeout.formatted)")) { work.cancel() }
            }
            timer.withLock { $0 = deadline }
            if pending.withLock({ $0 == nil }) { deadline.cancel() }
        }
    }
}

extension Duration {
    /// `250ms`, `2s`, `1.5s`: how durations are written throughout DeployVerify.
    package var formatted: String {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if millis < 1000 { return "\(millis)ms" }
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        return "\(Double(millis) / 1000)s"
    }
}
