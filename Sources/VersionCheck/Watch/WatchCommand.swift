import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `versioncheck watch`, `versioncheck history` and `versioncheck status`.
package enum WatchCommand {
    package static let help = """
    usage: versioncheck watch --manifest FILE [--state DIR] [--every DURATION | --once] [options]
           versioncheck history [SERVICE] [--env ENV] [--since DATE] [--limit N] [--state DIR] [--format table|json]
           versioncheck status --manifest FILE [--format table|json]

    watch reads every service of the manifest each cycle, compares each instance with what
    history says, records the changes (first-seen, deployed, rolled-back, drift, unreachable,
    recovered) in an append-only history, and alerts the service's channels (slack, teams,
    discord, webhook, pagerduty, command). Alerts go through a durable outbox written before
    sending: retried on network errors, 429 and 5xx, recorded when they fail for good. Each alert
    and channel has an Idempotency-Key; only a crash in mid-send sends one again, with that key.

    watch options:
      -m, --manifest FILE       the services and channels (schema: schemas/manifest.schema.json)
          --state DIR           history, outbox and lock (default versioncheck-state); one watcher per DIR
          --every DURATION      time between cycles (default 5m)
          --once                one cycle, deliver the alerts, exit: 1 if drift or an unreachable
                                service is open, 0 otherwise (cron, Kubernetes CronJob)
          --deliver-within D    with --once, how long to keep retrying alerts (default 60s); what is
                                left stays in the outbox for the next run
          --metrics-port PORT   serve Prometheus /metrics (and /info, /health) on this port
          --metrics-host HOST   (default 0.0.0.0)
          --shard K/N           watch only the K-th of N deterministic parts of the manifest
      -q, --quiet               print only problems

    history options:
      SERVICE                   only this service
          --env ENV             only this environment
          --since DATE          2026-11-20, 2026-11-20T10:00:00Z, or a duration ago: 24h, 7d
          --limit N             the last N events
          --format table|json

    exit status: 0 fine; 1 (watch --once, status) drift or an unreachable service is open;
    2 the manifest or the command line is wrong (the message names the JSON path or flag);
    3 the state directory cannot be used (another watcher holds it, not writable).
    """

    static let spec: ArgumentList.Spec = {
        var spec = ArgumentList.Spec()
        spec.flag("--help", "-h")
        spec.flag("--once")
        spec.flag("--quiet", "-q")
        spec.flag("--no-color")
        spec.option("--manifest", "-m", hint: "a path to the manifest")
        spec.option("--state", hint: "a directory")
        spec.option("--every", hint: "a duration: 30s, 5m")
        spec.option("--deliver-within", hint: "a duration: 30s, 5m")
        spec.option("--metrics-port", hint: "a port from 0 to 65535")
        spec.option("--metrics-host", hint: "an address to listen on")
        spec.option("--shard", hint: "K/N, such as 2/3")
        spec.option("--env", hint: "an environment name")
        spec.option("--since", hint: "a date (2026-11-20) or a duration ago (24h, 7d)")
        spec.option("--limit", hint: "a whole number")
        spec.option("--format", hint: "table or json")
        return spec
    }()

    package static func main(_ command: String, _ arguments: [String], environment: [String: String]) async -> Int32 {
        let console = Console()
        do {
            let list = try ArgumentList(arguments, spec: spec)
            if list.has("--help") {
                console.line(help)
                return 0
            }
            // One spec for the three commands: a flag of another one is an error, not ignored.
            let belongs: [String: [String]] = [
                "watch": ["--env", "--since", "--limit", "--format"],
                "history": ["--manifest", "--every", "--once", "--deliver-within", "--shard", "--metrics-port", "--metrics-host", "--quiet"],
                "status": ["--state", "--every", "--once", "--deliver-within", "--shard", "--metrics-port", "--metrics-host",
                           "--env", "--since", "--limit", "--quiet"],
            ]
            for flag in belongs[command] ?? [] where list.has(flag) || list.value(flag) != nil {
                throw UsageError("\(flag) does not apply to versioncheck \(command)")
            }
            switch command {
            case "watch": return try await watch(list, environment: environment)
            case "history": return try history(list)
            default: return try await status(list, environment: environment)
            }
        } catch let error as UsageError {
            console.error("versioncheck \(command): \(error.description)")
            console.error("run 'versioncheck \(command) --help' for usage")
            return 2
        } catch let error as ManifestError {
            console.error("versioncheck \(command): \(error.description)")
            return 2
        } catch let error as StoreError {
            console.error("versioncheck \(command): \(error.description)")
            return 3
        } catch {
            console.error("versioncheck \(command): \(error)")
            return 3
        }
    }

    static func manifest(_ list: ArgumentList, environment: [String: String]) throws -> Manifest {
        guard let path = list.value("--manifest") else { throw UsageError("--manifest FILE is required") }
        return try Manifest.load(path: path, environment: environment)
    }

    static func duration(_ list: ArgumentList, _ option: String) throws(UsageError) -> Duration? {
        try list.value(option) { text in
            let value = try DurationText.parse(text)
            guard value > .zero else { throw ValueError("the duration must be more than zero") }
            return value
        }
    }

    // MARK: watch

    static func watch(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        for flag in ["--env", "--since", "--limit", "--format"] where list.value(flag) != nil {
            throw UsageError("\(flag) applies to versioncheck history")
        }
        let manifest = try self.manifest(list, environment: environment)
        let once = list.has("--once")
        let every = try duration(list, "--every") ?? .seconds(300)
        if once, list.value("--every") != nil { throw UsageError("--every and --once contradict each other") }
        let deliverWithin = try duration(list, "--deliver-within") ?? .seconds(60)
        let shard = try list.value("--shard") { text in
            guard let shard = Shard(text) else { throw ValueError("'\(text)' is not K/N with 1 <= K <= N, such as 2/3") }
            return shard
        }
        let metricsPort = try list.value("--metrics-port") { text in
            guard let port = Int(text), (0...65535).contains(port) else { throw ValueError("'\(text)' is not a port from 0 to 65535") }
            return port
        }
        let quiet = list.has("--quiet")
        let console = Console()
        let redactor = manifest.redactor
        let log: @Sendable (String) -> Void = { console.error("versioncheck watch: " + redactor.redact($0)) }

        let directory = try StateDirectory(path: list.value("--state") ?? "versioncheck-state")
        let watcher = Watcher(manifest: manifest, shard: shard, directory: directory, log: log)
        if watcher.services.isEmpty { log("no service of the manifest falls in shard \(list.value("--shard") ?? "")") }

        var server: HTTPServer?
        if let metricsPort {
            server = HTTPServer(configuration: InfoServer.Configuration(host: list.value("--metrics-host") ?? "0.0.0.0", port: metricsPort),
                                handler: WatchMetricsHandler(watcher: watcher))
            do {
                try server!.start()
            } catch {
                throw StoreError("--metrics-port \(metricsPort): \(error)")
            }
            if !quiet { console.line("versioncheck watch: metrics on " + server!.addresses.map { "http://\($0)/metrics" }.joined(separator: " ")) }
        }

        let signals = StopSignals()
        let loop = Task { () -> Int32 in
            while true {
                let report: CycleReport
                do {
                    report = try await watcher.cycle()
                } catch is CancellationError {
                    return 0
                } catch {
                    log("cycle failed: \(error)")
                    // A state directory that cannot be read at all is not retried: exit 3 as for a lock.
                    if once || !watcher.hasState { return 3 }
                    try? await Task.sleep(for: every)
                    if Task.isCancelled { return 0 }
                    continue
                }
                print(report, quiet: quiet, console: console, redactor: redactor)
                let next = ContinuousClock.now + every
                _ = await watcher.deliverPending(deadline: once ? .now + deliverWithin : next)
                if once { return report.hasOpenProblems ? 1 : 0 }
                do {
                    try await Task.sleep(until: next)
                } catch {
                    return 0
                }
            }
        }
        let stopper = Task {
            let number = await signals.wait()
            if !quiet { log("received \(number == SIGINT ? "SIGINT" : "SIGTERM"), stopping") }
            loop.cancel()
        }
        let status = await loop.value
        stopper.cancel()
        await server?.stop(gracePeriod: .seconds(2))
        directory.unlock()
        keptUntilExit.withLock { $0 = watcher }
        return status
    }

    /// The process exits right after a watch: freeing a large fleet's state first would only
    /// delay the exit (the directory's lock is released above).
    private static let keptUntilExit = Locked<Watcher?>(nil)

    static func print(_ report: CycleReport, quiet: Bool, console: Console, redactor: Redactor) {
        let time = Timestamps.iso8601(Date())
        for event in report.events where !quiet || [.drift, .unreachable].contains(event.kind) {
            var change = ""
            switch event.kind {
            case .firstSeen: change = "at \(event.to ?? "?")"
            case .deployed, .rolledBack: change = "\(event.from ?? "?") → \(event.to ?? "?")"
            case .drift: change = "\(event.to ?? "?"), expected \(event.expected ?? "?")"
            case .unreachable: change = event.detail ?? ""
            case .recovered: change = "from \(event.problem ?? "?")" + (event.to.map { ", at \($0)" } ?? "")
            }
            console.line(redactor.redact("\(time)  \(event.kind.rawValue)  \(event.service) (\(event.environment))  \(change)  \(event.instance)"))
        }
        for problem in report.expectProblems { console.error("versioncheck watch: \(redactor.redact(problem))") }
        guard !quiet else { return }
        var summary = "\(time)  cycle: \(report.services) services, \(report.instances) instances, \(report.events.count) events, "
            + "\(report.alertsQueued) alerts queued, \(VersionCheckOutput.format(report.duration))"
        if !report.openDrift.isEmpty { summary += "; drift: " + report.openDrift.joined(separator: ", ") }
        if !report.openUnreachable.isEmpty { summary += "; unreachable: " + report.openUnreachable.joined(separator: ", ") }
        if !report.mixed.isEmpty { summary += "; mixed fleet: " + report.mixed.map { "\($0.service) \($0.fleet)" }.joined(separator: "; ") }
        console.line(redactor.redact(summary))
    }

    // MARK: history

    static func history(_ list: ArgumentList) throws -> Int32 {
        guard list.positional.count <= 1 else { throw UsageError("unexpected argument '\(list.positional[1])'") }
        let directory = list.value("--state") ?? "versioncheck-state"
        let path = "\(directory)/history.jsonl"
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError("no history in \(directory) (give the watcher's --state DIR)")
        }
        let since = try list.value("--since") { text -> Date in
            if let date = Timestamps.parse(text) ?? Timestamps.parse(text + "T00:00:00Z") { return date }
            if text.hasSuffix("d"), let days = Double(text.dropLast()), days > 0 { return Date().addingTimeInterval(-days * 86400) }
            guard let ago = try? DurationText.parse(text) else {
                throw ValueError("'\(text)' is not a date (2026-11-20, 2026-11-20T10:00:00Z) or a duration ago (24h, 7d)")
            }
            return Date().addingTimeInterval(-ago.seconds)
        }
        let limit = try list.value("--limit") { text -> Int in
            guard let limit = Int(text), limit > 0 else { throw ValueError("'\(text)' is not a positive whole number") }
            return limit
        }
        let format = list.value("--format") ?? "table"
        guard format == "table" || format == "json" else { throw UsageError("--format: '\(format)' is not table or json") }
        let service = list.positional.first, environment = list.value("--env")
        let console = Console()
        if format == "json", limit == nil {
            // Streamed as stored: a store of millions of events is never held in memory.
            var output = Array("[".utf8)
            var first = true
            try HistoryStore.scan(path: path, service: service, environment: environment, since: since) { line in
                if !first { output.append(contentsOf: ",\n".utf8) }
                first = false
                output.append(contentsOf: line)
                if output.count > 1 << 20 {
                    FileHandle.standardOutput.write(Data(output))
                    output.removeAll(keepingCapacity: true)
                }
            }
            output.append(contentsOf: "]\n".utf8)
            FileHandle.standardOutput.write(Data(output))
            return 0
        }
        // With --limit, only the last N lines are kept (a ring), and only they are parsed.
        var lines: [[UInt8]] = []
        var next = 0
        try HistoryStore.scan(path: path, service: service, environment: environment, since: since) { line in
            if let limit, lines.count == limit {
                lines[next] = Array(line)
                next = (next + 1) % limit
            } else {
                lines.append(Array(line))
            }
        }
        lines = Array(lines[next...] + lines[..<next])
        if format == "json" {
            console.line("[" + lines.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",\n") + "]")
            return 0
        }
        let events = lines.compactMap { WatchEvent(jsonLine: $0) }
        var rows = [["TIME", "SERVICE", "ENVIRONMENT", "EVENT", "CHANGE", "INSTANCE"]]
        for event in events {
            let change: String
            switch event.kind {
            case .deployed, .rolledBack: change = "\(event.from ?? "?") → \(event.to ?? "?")"
            case .firstSeen: change = event.to ?? ""
            case .drift: change = "\(event.to ?? "?") (expected \(event.expected ?? "?"))"
            case .unreachable: change = event.detail.map { String($0.prefix(60)) } ?? ""
            case .recovered: change = "\(event.problem ?? "") resolved" + (event.to.map { ", \($0)" } ?? "")
            }
            rows.append([Timestamps.iso8601(event.time), event.service, event.environment, event.kind.rawValue, change, event.instance])
        }
        for line in TextTable.render(rows) { console.line(line) }
        if events.isEmpty { console.line("(no events)") }
        return 0
    }

    // MARK: status

    /// Every service in every environment, read now: the live version, flagged where staging
    /// and production differ and where the expected version is not met.
    static func status(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        let manifest = try self.manifest(list, environment: environment)
        let format = list.value("--format") ?? "table"
        guard format == "table" || format == "json" else { throw UsageError("--format: '\(format)' is not table or json") }
        var options = ProbeOptions()
        options.userAgent = "versioncheck/\(DeployVerifyVersion.current)"
        options.timeout = manifest.settings.timeout
        options.concurrency = manifest.settings.concurrency
        let prober = try Prober(options: options)
        var requests: [(url: String, options: ProbeOptions)] = []
        for service in manifest.services {
            var serviceOptions = options
            serviceOptions.headers = [("Accept", "application/json")] + service.headers
            for url in service.urls { requests.append((url, serviceOptions)) }
        }
        let results = await prober.probeAll(requests)

        struct Cell {
            var versions: [(version: String, count: Int)]
            var unreachable: Int
            var expected: VersionExpectation?
            var drift: Bool
            var display: String {
                var text = versions.isEmpty ? "-" : versions.count == 1 ? versions[0].version
                    : versions.map { "\($0.count)× \($0.version)" }.joined(separator: ", ")
                if unreachable > 0 { text += versions.isEmpty ? " (unreachable)" : " (+\(unreachable) unreachable)" }
                return text
            }
        }
        var cells: [String: [String: Cell]] = [:]
        var serviceOrder: [String] = []
        var environments: [String] = []
        var cursor = 0
        for service in manifest.services {
            let reader = VersionReader(field: service.field, expectation: nil, revision: nil)
            var counts: [String: Int] = [:]
            var unreachable = 0
            for _ in service.urls {
                if let version = reader.read(results[cursor]).version { counts[version, default: 0] += 1 } else { unreachable += 1 }
                cursor += 1
            }
            var expectation: VersionExpectation?
            if case .literal(let literal)? = service.expect { expectation = literal }
            let drift = expectation.map { expected in counts.keys.contains { !expected.matches($0) } } ?? false
            let versions = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
            cells[service.name, default: [:]][service.environment] = Cell(versions: versions, unreachable: unreachable,
                                                                         expected: expectation, drift: drift)
            if !serviceOrder.contains(service.name) { serviceOrder.append(service.name) }
            if !environments.contains(service.environment) { environments.append(service.environment) }
        }
        let rank = ["development": 0, "dev": 0, "test": 1, "qa": 1, "staging": 2, "stage": 2, "preprod": 3, "production": 4, "prod": 4]
        environments.sort { (rank[$0] ?? 5, $0) < (rank[$1] ?? 5, $1) }

        var problems = false
        var notes: [String] = []
        for service in serviceOrder {
            for environment in environments {
                guard let cell = cells[service]?[environment] else { continue }
                if cell.drift {
                    problems = true
                    notes.append("\(service) (\(environment)): expected \(cell.expected!.description), live \(cell.display)")
                }
                if cell.unreachable > 0 {
                    problems = true
                    notes.append("\(service) (\(environment)): \(cell.unreachable) instance\(cell.unreachable == 1 ? "" : "s") unreachable")
                }
            }
            let byEnvironment = cells[service] ?? [:]
            let staging = byEnvironment.first { ["staging", "stage"].contains($0.key) }?.value
            let production = byEnvironment.first { ["production", "prod"].contains($0.key) }?.value
            if let staging, let production, Set(staging.versions.map(\.version)) != Set(production.versions.map(\.version)) {
                notes.append("\(service): staging runs \(staging.display), production \(production.display)")
            }
        }

        let console = Console()
        if format == "json" {
            var json = JSONText()
            json.object { json in
                json.key("services")
                json.array { json in
                    for service in serviceOrder {
                        for environment in environments {
                            guard let cell = cells[service]?[environment] else { continue }
                            json.object { json in
                                json.member("service", service)
                                json.member("environment", environment)
                                json.key("versions")
                                json.versionCounts(cell.versions)
                                json.key("unreachable")
                                json.number(cell.unreachable)
                                json.member("expected", cell.expected?.description)
                                json.key("drift")
                                json.bool(cell.drift)
                            }
                        }
                    }
                }
                json.key("notes")
                json.array { json in for note in notes { json.string(note) } }
            }
            console.line(manifest.redactor.redact(json.text))
        } else {
            var rows = [["SERVICE"] + environments.map { $0.uppercased() }]
            for service in serviceOrder {
                rows.append([service] + environments.map { environment in
                    guard let cell = cells[service]?[environment] else { return "" }
                    return cell.display + (cell.drift ? " ≠ \(cell.expected!.description)" : "")
                })
            }
            for line in TextTable.render(rows) { console.line(line) }
            if !notes.isEmpty {
                console.line("")
                for note in notes { console.line("  " + manifest.redactor.redact(note)) }
            }
        }
        return problems ? 1 : 0
    }
}
