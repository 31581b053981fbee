import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What one cycle found.
package struct CycleReport: Sendable {
    package var events: [WatchEvent] = []
    package var alertsQueued = 0
    package var services = 0
    package var instances = 0
    /// `checkout (production)` entries with drift or unreachable instances after the cycle.
    package var openDrift: [String] = []
    package var openUnreachable: [String] = []
    /// Services whose instances disagree, with their versions.
    package var mixed: [(service: String, fleet: String)] = []
    /// Services whose expected version could not be read this cycle.
    package var expectProblems: [String] = []
    /// CodeDeploy deployments announced this cycle (their deliveries count in `alertsQueued`).
    package var deployments: [(alert: Alert, channels: [String])] = []
    package var duration: Duration = .zero

    package var hasOpenProblems: Bool { !openDrift.isEmpty || !openUnreachable.isEmpty }
}

/// Which part of a manifest one watcher takes: `--shard K/N`.
package struct Shard: Sendable, Equatable {
    package var index: Int
    package var count: Int

    /// `2/3`: the second of three.
    package init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// Deterministic on every machine and run: FNV-1a of `name@environment`, not Swift's
    /// per-process seeded hashing.
    package func contains(_ service: WatchedService) -> Bool {
        contains(key: service.key)
    }

    /// Whether the part holds this `name@environment` key.
    package func contains(key: String) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(count)) == index - 1
    }
}

/// Watches the services of a manifest: reads them, keeps the history, queues and sends alerts.
package final class Watcher: Sendable {
    package let manifest: Manifest
    package let services: [WatchedService]
    package let shard: Shard?
    package let store: any WatchStore
    /// The AWS client of the store or the manifest, whose requests `/metrics` counts.
    package let aws: AWSClient?
    private let state = Locked(WatchState())
    private let lastReadings = Locked<[String: [InstanceReading]]>([:])
    private let cycles = Locked((count: 0, lastDuration: Duration.zero))
    private let userAgent = "versioncheck/\(DeployVerifyVersion.current)"
    private let log: @Sendable (String) -> Void
    private let loaded = Locked(false)
    /// Deliveries left in the outbox after the last delivery round.
    private let pendingCount = Locked(0)
    /// Announces CodeDeploy deployments of registered applications, each cycle (with an AWS client).
    package let notifier: DeploymentNotifier?

    /// Says what the store found on opening (a repaired file, alerts on the wire when the last
    /// watcher stopped).
    /// - Parameter aws: the AWS client of the store or the manifest: CodeDeploy is polled with it
    ///   for the manifest's registrations and those added through the API (nil: not polled), and
    ///   `/metrics` counts its requests.
    package init(manifest: Manifest, shard: Shard?, store: any WatchStore, aws: AWSClient? = nil,
                 log: @escaping @Sendable (String) -> Void) {
        self.aws = aws
        self.manifest = manifest
        self.services = manifest.services.filter { shard?.contains($0) ?? true }
        self.shard = shard
        self.store = store
        self.log = log
        notifier = aws.map { DeploymentNotifier(manifest: manifest, store: store, client: $0, shard: shard, log: log) }
        for note in store.takeNotes() { log(note) }
    }

    /// Whether the store has been read (by a cycle).
    package var hasState: Bool { loaded.current }

    package var currentState: WatchState { state.current }

    // MARK: One cycle

    /// Reads every service once and records what changed. A cancelled cycle records nothing.
    package func cycle(now: Date = Date()) async throws -> CycleReport {
        let started = ContinuousClock.now
        var report = CycleReport()
        // CodeDeploy is polled while the services are read.
        let polling = notifier.map { notifier in Task { await notifier.poll(now: now) } }
        defer { polling?.cancel() }
        let prober = try Prober(options: probeOptions()) // a new one per cycle: no connection carries over
        // The recorded state is read while the services are.
        let services = self.services, store = self.store
        let stored = Task { try await store.state(of: services) }
        let expectations = await resolveExpectations(prober: prober, report: &report)
        var requests: [(url: String, options: ProbeOptions)] = []
        for service in services {
            var options = prober.options
            options.headers = [("Accept", "application/json")] + service.headers
            for url in service.urls { requests.append((url, options)) }
        }
        let results = await prober.probeAll(requests)
        if Task.isCancelled {
            stored.cancel()
            throw CancellationError()
        }
        let (recordedState, unalerted) = try await stored.value
        loaded.withLock { $0 = true }
        if !unalerted.isEmpty { try await queueAlerts(of: unalerted, state: recordedState) }

        var changes: [ServiceChange] = []
        var readingsByService: [String: [InstanceReading]] = [:]
        var cursor = 0
        for service in services {
            let reader = VersionReader(field: service.field, expectation: nil, revision: nil)
            let readings = service.urls.map { url -> InstanceReading in
                let sample = reader.read(results[cursor])
                cursor += 1
                return InstanceReading(instance: Redaction.url(url), version: sample.version, revision: sample.revision,
                                       failure: sample.version == nil ? "\(sample.errorClass ?? "unreadable"): \(sample.message ?? "")" : nil)
            }
            readingsByService[service.key] = readings
            let previous = recordedState.services[service.key]
            var serviceState = previous ?? WatchState.Service()
            let events = EventDetector.detect(service: service, readings: readings, expectation: expectations[service.key] ?? nil,
                                              state: &serviceState, unreachableAfter: manifest.settings.unreachableAfter, now: now)
            if serviceState.instances.values.contains(where: \.drift) {
                serviceState.driftSince = serviceState.driftSince ?? now
            } else {
                serviceState.driftSince = nil
                serviceState.reminders = 0
            }
            let reminder = reminder(for: service, state: &serviceState, now: now)
            let change = ServiceChange(service: service, previous: previous, state: serviceState, events: events, reminder: reminder)
            if change.isChanged { changes.append(change) }
        }

        let deliveries: @Sendable (ServiceChange, [WatchEvent]) -> [Delivery] = { [manifest] change, events in
            var alerts = Alert.group(events, state: change.state)
            if let reminder = change.reminder { alerts.append(reminder) }
            return Self.deliveries(for: alerts, service: change.service, manifest: manifest)
        }
        let recorded = try await store.record(changes, deliveries: deliveries)
        var snapshot = recorded.state
        for key in recorded.lostRaces {
            snapshot.services[key] = recordedState.services[key]
            log("\(key): another watcher recorded this cycle's change first; compared again next cycle")
        }
        state.withLock { $0 = snapshot }
        lastReadings.withLock { $0 = readingsByService }

        report.events = recorded.events
        report.alertsQueued = recorded.queued
        report.services = services.count
        report.instances = requests.count
        for service in services {
            guard let serviceState = snapshot.services[service.key] else { continue }
            let drift = serviceState.driftSince != nil
            let unreachable = serviceState.instances.values.contains(where: \.unreachable)
            guard drift || unreachable || serviceState.instances.count > 1 else { continue }
            let label = "\(service.name) (\(service.environment))"
            if drift { report.openDrift.append(label) }
            if unreachable { report.openUnreachable.append(label) }
            let versions = Dictionary(grouping: serviceState.instances.values.compactMap(\.version), by: { $0 })
            if versions.count > 1 {
                report.mixed.append((label, versions.sorted { ($1.value.count, $0.key) < ($0.value.count, $1.key) }
                    .map { "\($0.value.count)× \($0.key)" }.joined(separator: ", ")))
            }
        }
        if let polling {
            let poll = await polling.value
            report.deployments = poll.notified
            report.alertsQueued += poll.queued
        }
        report.duration = ContinuousClock.now - started
        cycles.withLock { $0 = ($0.count + 1, report.duration) }
        return report
    }

    /// Queues the alerts of events recorded before a crash kept their alerts out of the outbox.
    private func queueAlerts(of events: [WatchEvent], state: WatchState) async throws {
        let byCycle = Dictionary(grouping: events) { "\($0.service)@\($0.environment)|\($0.time.timeIntervalSince1970)" }
        var queue: [Delivery] = []
        for (_, events) in byCycle.sorted(by: { $0.value[0].sequence < $1.value[0].sequence }) {
            guard let service = services.first(where: { $0.key == "\(events[0].service)@\(events[0].environment)" }) else { continue }
            let serviceState = state.services[service.key] ?? WatchState.Service()
            queue += Self.deliveries(for: Alert.group(events, state: serviceState), service: service, manifest: manifest)
        }
        try await store.enqueueReplayed(queue)
    }

    private func probeOptions() -> ProbeOptions {
        var options = ProbeOptions()
        options.userAgent = userAgent
        options.timeout = manifest.settings.timeout
        options.connectTimeout = min(options.connectTimeout, manifest.settings.timeout)
        options.concurrency = manifest.settings.concurrency
        return options
    }

    /// The expected version of each service this cycle (nil where none is configured or it
    /// could not be read; drift is then not judged for that service this cycle).
    private func resolveExpectations(prober: Prober, report: inout CycleReport) async -> [String: VersionExpectation?] {
        var expectations: [String: VersionExpectation?] = [:]
        for service in services {
            switch service.expect {
            case nil:
                expectations[service.key] = .some(nil)
            case .literal(let expectation):
                expectations[service.key] = expectation
            case .file(let path):
                let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmed ?? ""
                if let expectation = try? VersionExpectation(text) {
                    expectations[service.key] = expectation
                } else {
                    expectations[service.key] = .some(nil)
                    report.expectProblems.append("\(service.name) (\(service.environment)): cannot read the expected version from \(path)")
                }
            case .url(let url, let field):
                let result = await prober.probe(url)
                var text: String?
                if result.failure == nil {
                    if let document = try? JSONParser().parse(result.body) {
                        text = (field.map { $0.value(in: document) } ?? document["version"])?.scalarText
                    } else {
                        text = String(decoding: result.body, as: UTF8.self).trimmed
                    }
                }
                if let text, let expectation = try? VersionExpectation(text) {
                    expectations[service.key] = expectation
                } else {
                    expectations[service.key] = .some(nil)
                    report.expectProblems.append("\(service.name) (\(service.environment)): cannot read the expected version from \(Redaction.url(url))")
                }
            }
        }
        return expectations
    }

    /// A drift reminder when drift has lasted another `remindEvery`; its id is derived from the
    /// drift's start and the reminder's number, so a restart cannot send it twice.
    private func reminder(for service: WatchedService, state: inout WatchState.Service, now: Date) -> Alert? {
        guard let every = manifest.settings.remindEvery, let since = state.driftSince else { return nil }
        // Clamped: a drift start read from a damaged state (year 1) must not overflow Int.
        let due = Int(min(max(now.timeIntervalSince(since) / every.seconds, 0), 1e15))
        guard due > state.reminders else { return nil }
        state.reminders = due
        let drifting = state.instances.filter(\.value.drift)
        let fleet = Dictionary(grouping: state.instances.values.compactMap(\.version), by: { $0 })
            .map { (version: $0.key, count: $0.value.count) }.sorted { ($1.count, $0.version) < ($0.count, $1.version) }
        return Alert(id: "reminder-\(service.key)-\(Int(since.timeIntervalSince1970))-\(due)", kind: .drift, reminder: true,
                     service: service.name, environment: service.environment, to: drifting.first?.value.version,
                     expected: nil, instances: drifting.keys.sorted(), instanceCount: state.instances.count, fleet: fleet, time: now)
    }

    private static func deliveries(for alerts: [Alert], service: WatchedService, manifest: Manifest) -> [Delivery] {
        alerts.flatMap { alert in
            service.notify.compactMap { name -> Delivery? in
                guard let channel = manifest.channels[name], AlertRenderer.wants(channel, alert, settings: manifest.settings) else { return nil }
                return Delivery(id: "\(alert.id):\(name)", channel: name, alert: alert)
            }
        }
    }

    // MARK: Delivery

    package func deliverPending(deadline: ContinuousClock.Instant?) async -> [String: AlertDeliverer.Outcome] {
        var outcomes: [String: AlertDeliverer.Outcome] = [:]
        while true {
            let pending: [Delivery]
            do {
                pending = try await store.pending(shard: shard)
            } catch {
                log("cannot read the outbox of \(store.name): \(error)")
                return outcomes
            }
            for note in store.takeNotes() { log(note) }
            pendingCount.withLock { $0 = pending.count }
            guard !pending.isEmpty, let prober = try? Prober(options: probeOptions()) else { return outcomes }
            let deliverer = AlertDeliverer(channels: manifest.channels, settings: manifest.settings, prober: prober,
                                           redactor: manifest.redactor, userAgent: userAgent, log: log)
            outcomes.merge(await deliverer.deliver(pending, outbox: store.outbox, deadline: deadline)) { $1 }
            pendingCount.withLock { $0 = outcomes.values.filter { $0 == .postponed }.count }
            // Deliveries another watcher claimed: when its claim runs out before the deadline,
            // they are this run's to send (that watcher may have been killed mid-send), so a
            // `--once` run that drains the outbox waits for it rather than leave them behind.
            guard let deadline, let held = store.claimsHeldUntil, !Task.isCancelled else { return outcomes }
            let wait = Duration.milliseconds(max(Int(held.timeIntervalSinceNow * 1000), 0) + 50)
            guard ContinuousClock.now + wait < deadline else { return outcomes }
            do { try await CancellableSleep.sleep(for: wait) } catch { return outcomes }
        }
    }

    // MARK: Metrics

    /// Prometheus text: the version each service runs, whether each instance answered, when each
    /// service last changed, open drift, and the watcher's own cycles and alert backlog.
    package func metrics() -> String {
        let state = self.state.current
        let readings = lastReadings.current
        let escape = { (text: String) in
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        var lines = [
            "# HELP versioncheck_version_info Versions live per service: 1 for each version at least one instance reports.",
            "# TYPE versioncheck_version_info gauge",
        ]
        var instancesPerVersion: [String] = [
            "# HELP versioncheck_version_instances Instances of the service that report the version.",
            "# TYPE versioncheck_version_instances gauge",
        ]
        var up = ["# HELP versioncheck_up Whether the instance answered with a version at the last cycle.", "# TYPE versioncheck_up gauge"]
        var changes = [
            "# HELP versioncheck_last_change_timestamp_seconds When the service last changed version (deployed or rolled back).",
            "# TYPE versioncheck_last_change_timestamp_seconds gauge",
        ]
        var drift = ["# HELP versioncheck_drift Whether an instance of the service reports another version than expected.",
                     "# TYPE versioncheck_drift gauge"]
        for service in services {
            let labels = "service=\"\(escape(service.name))\",environment=\"\(escape(service.environment))\""
            let serviceState = state.services[service.key] ?? WatchState.Service()
            let versions = Dictionary(grouping: serviceState.instances.values.compactMap(\.version), by: { $0 })
            for (version, list) in versions.sorted(by: { $0.key < $1.key }) {
                lines.append("versioncheck_version_info{\(labels),version=\"\(escape(version))\"} 1")
                instancesPerVersion.append("versioncheck_version_instances{\(labels),version=\"\(escape(version))\"} \(list.count)")
            }
            for reading in readings[service.key] ?? [] {
                up.append("versioncheck_up{\(labels),instance=\"\(escape(reading.instance))\"} \(reading.version == nil ? 0 : 1)")
            }
            if let last = serviceState.lastChange {
                changes.append("versioncheck_last_change_timestamp_seconds{\(labels)} \(String(format: "%.3f", last.timeIntervalSince1970))")
            }
            drift.append("versioncheck_drift{\(labels)} \(serviceState.instances.values.contains(where: \.drift) ? 1 : 0)")
        }
        let cycles = self.cycles.current
        let own = [
            "# HELP versioncheck_cycles_total Watch cycles completed.", "# TYPE versioncheck_cycles_total counter",
            "versioncheck_cycles_total \(cycles.count)",
            "# HELP versioncheck_cycle_duration_seconds Duration of the last cycle.", "# TYPE versioncheck_cycle_duration_seconds gauge",
            "versioncheck_cycle_duration_seconds \(String(format: "%.3f", cycles.lastDuration.seconds))",
            "# HELP versioncheck_alerts_pending Alert deliveries waiting in the outbox.", "# TYPE versioncheck_alerts_pending gauge",
            "versioncheck_alerts_pending \(pendingCount.current)",
        ] + (aws.map { aws in
            ["# HELP versioncheck_aws_requests_total Requests sent to AWS (retries included), by service: what the watcher costs.",
             "# TYPE versioncheck_aws_requests_total counter"]
                + aws.requestsSent.sorted { $0.key < $1.key }.map { "versioncheck_aws_requests_total{service=\"\($0.key)\"} \($0.value)" }
        } ?? [])
        return (lines + instancesPerVersion + up + changes + drift + own).joined(separator: "\n") + "\n"
    }
}

/// Serves the watcher's `/metrics` (and versioncheck's own `/info` and `/health`), and the
/// CodeDeploy registrations API when it is enabled (`/registrations` answers 404 otherwise).
package struct WatchMetricsHandler: HTTPHandler {
    package let watcher: Watcher
    package let info: InfoResponder
    package let registrations: RegistrationsAPI?

    package init(watcher: Watcher, registrations: RegistrationsAPI? = nil) {
        self.watcher = watcher
        self.info = InfoResponder(info: ServiceInfo(name: "versioncheck", version: DeployVerifyVersion.current))
        self.registrations = registrations
    }

    package func respondImmediately(to request: HTTPRequest) -> InfoResponse? {
        // The API reads and writes the store: answered on a task.
        if registrations != nil, RegistrationsAPI.handles(request.path) { return nil }
        guard request.path == "/metrics" else { return info.respondImmediately(to: request) }
        guard request.method == "GET" || request.method == "HEAD" else {
            return InfoResponse(status: 405, contentType: "text/plain", body: "use GET\n", headers: [("Allow", "GET, HEAD")])
        }
        return InfoResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: watcher.metrics())
    }

    package func respond(to request: HTTPRequest) async -> InfoResponse {
        if let registrations, RegistrationsAPI.handles(request.path) { return await registrations.respond(to: request) }
        return respondImmediately(to: request) ?? InfoResponse(status: 404, contentType: "text/plain", body: "not found\n")
    }
}
