import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `versioncheck watch`, `versioncheck history` and `versioncheck status`.
package enum WatchCommand {
    package static let help = """
    usage: versioncheck watch --manifest MANIFEST [--state STATE] [--every DURATION | --once] [options]
           versioncheck history [SERVICE] [--env ENV] [--since DATE] [--limit N] [--state STATE] [--format table|json]
           versioncheck status --manifest MANIFEST [--state STATE] [--format table|json|html] [--since DATE] [--until DATE]
                               [--approvals PATH]
           versioncheck serve --manifest MANIFEST [--state STATE] [--approvals PATH] [--port PORT] [options]
           versioncheck state init STATE

    watch reads every service of the manifest each cycle, compares each instance with what
    history says, records the changes (first-seen, deployed, rolled-back, drift, unreachable,
    recovered) in an append-only history, and alerts the service's channels (slack, teams,
    discord, webhook, pagerduty, command). Alerts go through a durable outbox written before
    sending: retried on network errors, 429 and 5xx, recorded when they fail for good. Each alert
    and channel has an Idempotency-Key; only a crash in mid-send sends one again, with that key.

    MANIFEST is a file, s3://BUCKET/KEY or an http(s):// URL, in YAML or JSON.
    With a codedeploy object, watch also announces the end of each deployment of the registered
    CodeDeploy applications on their channels, once per deployment (needs AWS, and
    codedeploy:ListDeploymentGroups, ListDeployments and BatchGetDeployments).

    STATE is a directory (default versioncheck-state; one watcher at a time) or dynamodb://TABLE
    (shared by any number of watchers; create it with 'versioncheck state init dynamodb://TABLE').
    AWS settings come from the environment as the AWS CLI reads them (AWS_REGION, AWS_PROFILE,
    credentials of Lambda, ECS, EKS or EC2, AWS_ENDPOINT_URL).

    watch options:
      -m, --manifest MANIFEST   the services and channels (schema: schemas/manifest.schema.json)
          --state STATE         history, last-seen versions, outbox
          --every DURATION      time between cycles (default 5m)
          --once                one cycle, deliver the alerts, exit: 1 if drift or an unreachable
                                service is open, 0 otherwise (cron, Kubernetes CronJob, Lambda)
          --deliver-within D    with --once, how long to keep retrying alerts (default 60s); what is
                                left stays in the outbox for the next run
          --metrics-port PORT   serve Prometheus /metrics (and /info, /health) on this port
          --metrics-host HOST   (default 0.0.0.0)
          --registrations-token-file PATH
                                serve the CodeDeploy registrations API (/registrations) on the
                                metrics port, requiring "Authorization: Bearer <token>", the token
                                read from PATH
          --shard K/N           watch only the K-th of N deterministic parts of the manifest
      -q, --quiet               print only problems

    history options:
      SERVICE                   only this service
          --env ENV             only this environment
          --since DATE          2026-11-20, 2026-11-20T10:00:00Z, or a duration ago: 24h, 7d
          --limit N             the last N events
          --format table|json

    status reads every service now; with --state it shows what the watchers last recorded instead.
    --format html writes the status page: one self-contained file (no outside scripts, fonts or
    styles, readable without JavaScript) with a grid of services × environments and, with
    --state, a timeline of the history from --since (default 7d) to --until (default now).
    --approvals PATH adds the decisions of hookrunner's approval steps from their trail (approved,
    roll-back decided, timed out, pre-approved; refused attempts are not shown) to the timeline
    of the record's service, in its environment or, without one, in all of them.

    serve serves that page live, with GET /api/status and GET /api/history (JSON), /metrics,
    /info and /health. It reads the state without locking it (watchers keep running) and
    watches nothing itself.

    serve options:
          --approvals PATH          hookrunner's approval trail (approvals.jsonl): its decisions join
                                    the timeline, followed as the file grows
          --port PORT               (default 8080; 0: any free port, printed)
          --host HOST               (default 0.0.0.0; 127.0.0.1 with --trusted-proxy-header)
          --token-file PATH         require "Authorization: Bearer <token>" (browsers sign in
                                    once with a form and keep a cookie), the token read from PATH
          --trusted-proxy-header NAME
                                    let in requests that carry the header NAME, set by an
                                    authenticating proxy in front (X-Forwarded-User,
                                    X-Auth-Request-Email); either this or the token suffices
          --refresh DURATION        how often the page updates itself (default 10s)

    As an AWS Lambda function (provided.al2023, the binary as bootstrap): 'watch --once' runs one
    cycle per invocation and answers with its summary; without arguments the command line is
    taken from VERSIONCHECK_ARGS.

    exit status: 0 fine (serve: stopped by SIGTERM or SIGINT); 1 (watch --once, status) drift or
    an unreachable service is open;
    2 the manifest, an AWS setting (no region, a bad endpoint) or the command line is wrong (the
    message names the JSON path, setting or flag); 3 the state cannot be used (another watcher
    holds the directory, no such table), or AWS credentials are missing or refused (the message
    lists the sources tried), or AWS cannot be reached (serve: also when its port cannot be
    listened on).
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
        spec.option("--registrations-token-file", hint: "a file holding the bearer token")
        spec.option("--shard", hint: "K/N, such as 2/3")
        spec.option("--env", hint: "an environment name")
        spec.option("--since", hint: "a date (2026-11-20) or a duration ago (24h, 7d)")
        spec.option("--limit", hint: "a whole number")
        spec.option("--format", hint: "table, json or html")
        spec.option("--until", hint: "a date (2026-11-20) or a duration ago (1h)")
        spec.option("--port", hint: "a port from 0 to 65535")
        spec.option("--host", hint: "an address to listen on")
        spec.option("--token-file", hint: "a file holding the bearer token")
        spec.option("--trusted-proxy-header", hint: "a header name, such as X-Forwarded-User")
        spec.option("--refresh", hint: "a duration: 5s, 1m")
        spec.option("--approvals", hint: "a path to hookrunner's approval trail (approvals.jsonl)")
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
            let serveOnly = ["--port", "--host", "--token-file", "--trusted-proxy-header", "--refresh"]
            let belongs: [String: [String]] = [
                "watch": ["--env", "--since", "--until", "--limit", "--format", "--approvals"] + serveOnly,
                "history": ["--manifest", "--every", "--once", "--deliver-within", "--shard", "--metrics-port", "--metrics-host", "--quiet",
                            "--registrations-token-file", "--until", "--approvals"] + serveOnly,
                "status": ["--every", "--once", "--deliver-within", "--shard", "--metrics-port", "--metrics-host",
                           "--env", "--limit", "--quiet", "--registrations-token-file"] + serveOnly,
                "state": ["--manifest", "--state", "--every", "--once", "--deliver-within", "--shard", "--metrics-port",
                          "--metrics-host", "--env", "--since", "--until", "--limit", "--format", "--registrations-token-file",
                          "--approvals"] + serveOnly,
                "serve": ["--every", "--once", "--deliver-within", "--shard", "--metrics-port", "--metrics-host", "--env", "--since",
                          "--until", "--limit", "--format", "--registrations-token-file"],
            ]
            for flag in belongs[command] ?? [] where list.has(flag) || list.value(flag) != nil {
                throw UsageError("\(flag) does not apply to versioncheck \(command)")
            }
            switch command {
            case "watch": return try await watch(list, environment: environment)
            case "history": return try await history(list, environment: environment)
            case "state": return try await state(list, environment: environment)
            case "serve": return try await serve(list, environment: environment)
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
        } catch let error as AWSError {
            // Settings that cannot work are the user's input (2); credentials refused, a table
            // missing, AWS out of reach keep the state from being used (3).
            console.error("versioncheck \(command): \(error.description)")
            return error.kind == .configuration ? 2 : 3
        } catch {
            console.error("versioncheck \(command): \(error)")
            return 3
        }
    }

    static func duration(_ list: ArgumentList, _ option: String) throws(UsageError) -> Duration? {
        try list.value(option) { text in
            let value = try DurationText.parse(text)
            guard value > .zero else { throw ValueError("the duration must be more than zero") }
            return value
        }
    }

    // MARK: watch

    /// What `watch` was asked to do.
    struct WatchRun: Sendable {
        var source: ManifestSource
        var location: StoreLocation
        var once: Bool
        var every: Duration
        var deliverWithin: Duration
        var shard: Shard?
        var shardText: String?
        var metricsPort: Int?
        var metricsHost: String
        /// The registrations API's bearer token (`--registrations-token-file`): never printed.
        var registrationsToken: String?
        var quiet: Bool
        var environment: [String: String]
    }

    static func watch(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        for flag in ["--env", "--since", "--limit", "--format"] where list.value(flag) != nil {
            throw UsageError("\(flag) applies to versioncheck history")
        }
        guard let manifestText = list.value("--manifest") else { throw UsageError("--manifest FILE is required") }
        let once = list.has("--once")
        if once, list.value("--every") != nil { throw UsageError("--every and --once contradict each other") }
        var run = WatchRun(
            source: try ManifestSource(manifestText),
            location: try StoreLocation(list.value("--state") ?? "versioncheck-state"),
            once: once, every: try duration(list, "--every") ?? .seconds(300),
            deliverWithin: try duration(list, "--deliver-within") ?? .seconds(60),
            metricsHost: list.value("--metrics-host") ?? "0.0.0.0", quiet: list.has("--quiet"), environment: environment)
        run.shardText = list.value("--shard")
        run.shard = try list.value("--shard") { text in
            guard let shard = Shard(text) else { throw ValueError("'\(text)' is not K/N with 1 <= K <= N, such as 2/3") }
            return shard
        }
        run.metricsPort = try list.value("--metrics-port") { text in
            guard let port = Int(text), (0...65535).contains(port) else { throw ValueError("'\(text)' is not a port from 0 to 65535") }
            return port
        }
        if let path = list.value("--registrations-token-file") {
            guard run.metricsPort != nil else {
                throw UsageError("--registrations-token-file needs --metrics-port: the registrations API is served on the metrics port")
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.trimmed.isEmpty else {
                throw UsageError("--registrations-token-file: cannot read a token from \(path)")
            }
            run.registrationsToken = text.trimmed
        }
        var aws = try awsClient(for: run)
        if once, environment[LambdaRuntime.endpointVariable] != nil {
            return await WatchLambda.serve(run, aws: aws)
        }
        let manifest = try await run.source.load(environment: environment, aws: aws)
        if aws == nil { aws = try awsClient(for: run, manifest: manifest) }
        let store = try await openStore(run.location, aws: aws, settings: manifest.settings)
        if aws == nil, let stored = try? await store.documents(DeploymentNotifier.registrationKind), !stored.isEmpty {
            // Registrations added through the API on an earlier run are polled too.
            do {
                aws = try AWSClient(environment: environment)
            } catch {
                Console().error("versioncheck watch: \(stored.count) CodeDeploy registration\(stored.count == 1 ? "" : "s") of \(store.name) not polled: \(error)")
            }
        }
        return await watch(run, manifest: manifest, store: store, aws: aws)
    }

    /// The AWS client when the manifest or the state is in AWS, or CodeDeploy is polled (the
    /// manifest has registrations, or the registrations API is served).
    static func awsClient(for run: WatchRun, manifest: Manifest? = nil) throws(AWSError) -> AWSClient? {
        var needed = run.source.needsAWS || run.registrationsToken != nil
        if case .dynamoDB = run.location { needed = true }
        if let manifest, !manifest.codeDeploy.registrations.isEmpty { needed = true }
        return needed ? try AWSClient(environment: run.environment) : nil
    }

    /// The state directory (locked for this watcher) or the DynamoDB table (checked).
    static func openStore(_ location: StoreLocation, aws: AWSClient?, settings: WatchSettings) async throws -> any WatchStore {
        switch location {
        case .directory(let path):
            return try LocalWatchStore(path: path)
        case .dynamoDB(let table):
            guard let aws else { throw StoreError("\(location): no AWS client") }
            // A claim outlives any request on the wire: a dead watcher's deliveries wait this long.
            let lease = settings.timeout * 2 + .seconds(2)
            return try await DynamoWatchStore.open(client: aws, table: table, lease: lease)
        }
    }

    /// Cycles until stopped (or once), delivering alerts between cycles.
    static func watch(_ run: WatchRun, manifest: Manifest, store: any WatchStore, aws: AWSClient?) async -> Int32 {
        let console = Console()
        let redactor = manifest.redactor
        let log: @Sendable (String) -> Void = { console.error("versioncheck watch: " + redactor.redact($0)) }
        let watcher = Watcher(manifest: manifest, shard: run.shard, store: store, aws: aws, log: log)
        if watcher.services.isEmpty, !manifest.services.isEmpty { log("no service of the manifest falls in shard \(run.shardText ?? "")") }

        var server: HTTPServer?
        if let metricsPort = run.metricsPort {
            var configuration = InfoServer.Configuration(host: run.metricsHost, port: metricsPort)
            configuration.maxBodyBytes = 64 << 10 // a registration; without the API, /registrations is 404 whatever is sent
            let registrations = run.registrationsToken.map { RegistrationsAPI(manifest: manifest, store: store, token: $0) }
            let metrics = HTTPServer(configuration: configuration, handler: WatchMetricsHandler(watcher: watcher, registrations: registrations))
            do {
                try metrics.start()
            } catch {
                log("--metrics-port \(metricsPort): \(error)")
                store.close()
                return 3
            }
            server = metrics
            if !run.quiet { console.line("versioncheck watch: metrics on " + metrics.addresses.map { "http://\($0)/metrics" }.joined(separator: " ")) }
            if !run.quiet, registrations != nil {
                console.line("versioncheck watch: registrations API on " + metrics.addresses.map { "http://\($0)/registrations" }.joined(separator: " "))
            }
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
                    // A store that cannot be read at all is not retried: exit 3 as for a lock.
                    if run.once || !watcher.hasState { return 3 }
                    try? await Task.sleep(for: run.every)
                    if Task.isCancelled { return 0 }
                    continue
                }
                print(report, quiet: run.quiet, console: console, redactor: redactor)
                let next = ContinuousClock.now + run.every
                _ = await watcher.deliverPending(deadline: run.once ? .now + run.deliverWithin : next)
                if run.once {
                    // What this run cost in AWS requests (manifest, state, outbox), for the bill.
                    if let aws, !run.quiet {
                        log("AWS requests: " + aws.requestsSent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                    }
                    return report.hasOpenProblems ? 1 : 0
                }
                do {
                    try await Task.sleep(until: next)
                } catch {
                    return 0
                }
            }
        }
        let stopper = Task {
            let number = await signals.wait()
            if !run.quiet { log("received \(number == SIGINT ? "SIGINT" : "SIGTERM"), stopping") }
            loop.cancel()
        }
        let status = await loop.value
        stopper.cancel()
        await server?.stop(gracePeriod: .seconds(2))
        store.close()
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
        for (alert, channels) in report.deployments where !quiet || alert.deployment?.outcome != .succeeded {
            console.line(redactor.redact("\(time)  deployment  \(alert.subject)  \(alert.headline)  → \(channels.joined(separator: ", "))"))
        }
        for problem in report.expectProblems { console.error("versioncheck watch: \(redactor.redact(problem))") }
        guard !quiet else { return }
        var summary = "\(time)  cycle: \(report.services) services, \(report.instances) instances, \(report.events.count) events, "
            + "\(report.alertsQueued) alerts queued, \(VersionCheckOutput.format(report.duration))"
        if !report.openDrift.isEmpty { summary += "; drift: " + report.openDrift.joined(separator: ", ") }
        if !report.openUnreachable.isEmpty { summary += "; unreachable: " + report.openUnreachable.joined(separator: ", ") }
        if !report.deployments.isEmpty { summary += "; codedeploy: \(report.deployments.count) deployment\(report.deployments.count == 1 ? "" : "s") announced" }
        if !report.mixed.isEmpty { summary += "; mixed fleet: " + report.mixed.map { "\($0.service) \($0.fleet)" }.joined(separator: "; ") }
        console.line(redactor.redact(summary))
    }

    // MARK: state init

    /// `versioncheck state init dynamodb://TABLE` creates the table (on-demand billing) and says
    /// so; for a directory, creates it.
    static func state(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        guard list.positional.count == 2, list.positional[0] == "init" else {
            throw UsageError("expected 'state init dynamodb://TABLE' (or a directory)")
        }
        let console = Console()
        switch try StoreLocation(list.positional[1]) {
        case .directory(let path):
            let store = try LocalWatchStore(path: path)
            store.close()
            console.line("state directory \(path) is ready")
        case .dynamoDB(let table):
            let aws = try AWSClient(environment: environment)
            console.line(try await DynamoWatchStore.initialize(client: aws, table: table))
        }
        return 0
    }

    // MARK: history

    static func history(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        guard list.positional.count <= 1 else { throw UsageError("unexpected argument '\(list.positional[1])'") }
        let location = try StoreLocation(list.value("--state") ?? "versioncheck-state")
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
        let service = list.positional.first, environmentName = list.value("--env")
        let console = Console()
        var lines: [[UInt8]] = []
        switch location {
        case .dynamoDB(let table):
            let aws = try AWSClient(environment: environment)
            lines = try await DynamoHistory(table: DynamoDB(client: aws, table: table))
                .events(service: service, environment: environmentName, since: since).map { Array($0.jsonLine.utf8) }
            if let limit, lines.count > limit { lines = Array(lines.suffix(limit)) }
        case .directory(let directory):
            let path = "\(directory)/history.jsonl"
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreError("no history in \(directory) (give the watcher's --state DIR)")
            }
            if format == "json", limit == nil {
                try streamJSON(path: path, service: service, environment: environmentName, since: since)
                return 0
            }
            lines = try lastLines(path: path, service: service, environment: environmentName, since: since, limit: limit)
        }
        return render(lines, format: format, console: console)
    }

    /// The history file as one JSON array, streamed as stored: a store of millions of events is
    /// never held in memory.
    static func streamJSON(path: String, service: String?, environment: String?, since: Date?) throws(StoreError) {
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
    }

    /// The matching events' lines; with `limit`, only the last N are kept (a ring).
    static func lastLines(path: String, service: String?, environment: String?, since: Date?, limit: Int?) throws(StoreError) -> [[UInt8]] {
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
        return Array(lines[next...] + lines[..<next])
    }

    /// Events as JSON or as a table.
    static func render(_ lines: [[UInt8]], format: String, console: Console) -> Int32 {
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

    /// The version each instance reports now (nil where it cannot be read).
    static func readNow(_ manifest: Manifest) async -> [[String?]] {
        var options = ProbeOptions()
        options.userAgent = "versioncheck/\(DeployVerifyVersion.current)"
        options.timeout = manifest.settings.timeout
        options.concurrency = manifest.settings.concurrency
        guard let prober = try? Prober(options: options) else { return manifest.services.map { $0.urls.map { _ in nil } } }
        var requests: [(url: String, options: ProbeOptions)] = []
        for service in manifest.services {
            var serviceOptions = options
            serviceOptions.headers = [("Accept", "application/json")] + service.headers
            for url in service.urls { requests.append((url, serviceOptions)) }
        }
        var results = await prober.probeAll(requests)[...]
        return manifest.services.map { service in
            let reader = VersionReader(field: service.field, expectation: nil, revision: nil)
            return service.urls.map { _ in reader.read(results.removeFirst()).version }
        }
    }

    /// What the watchers last recorded, read without taking the directory's lock.
    static func recordedState(_ location: StoreLocation, aws: AWSClient?, services: [WatchedService]) async throws -> WatchState {
        switch location {
        case .directory(let path):
            return try StateDirectory.readState(path: path)
        case .dynamoDB(let table):
            guard let aws else { throw StoreError("\(location): no AWS client") }
            let store = DynamoWatchStore(client: aws, table: table, lease: .seconds(1))
            try await store.check()
            return try await store.state(of: services).state
        }
    }

    /// Every service in every environment, read now: the live version, flagged where staging
    /// and production differ and where the expected version is not met. As a table, JSON, or
    /// the status page (HTML, with the history's timeline when `--state` is given, and the
    /// approval trail's decisions with `--approvals`).
    static func status(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        guard let manifestText = list.value("--manifest") else { throw UsageError("--manifest FILE is required") }
        let source = try ManifestSource(manifestText)
        let location = try list.value("--state").map { text throws(UsageError) in try StoreLocation(text) }
        let format = list.value("--format") ?? "table"
        guard ["table", "json", "html"].contains(format) else { throw UsageError("--format: '\(format)' is not table, json or html") }
        var query = StatusQuery()
        for option in ["--since", "--until"] {
            guard let value = list.value(option) else { continue }
            guard format == "html" else { throw UsageError("\(option) applies to --format html (the timeline's range)") }
            try query.set(String(option.dropFirst(2)), value)
        }
        try query.check()
        let approvals = list.value("--approvals")
        if let approvals {
            guard format == "html" else { throw UsageError("--approvals applies to --format html (the timeline)") }
            guard FileManager.default.fileExists(atPath: approvals) else {
                throw UsageError("--approvals: no approval trail at \(approvals) (hookrunner's --approvals PATH, default approvals.jsonl)")
            }
        }
        var needsAWS = source.needsAWS
        if case .dynamoDB? = location { needsAWS = true }
        let aws = needsAWS ? try AWSClient(environment: environment) : nil
        let manifest = try await source.load(environment: environment, aws: aws)
        let status: FleetStatus
        var snapshot: StatusSnapshot?
        if let location {
            if format == "html" {
                // The page: the status and the history, read as `serve` reads them.
                snapshot = try await StatusSource(manifest: manifest, location: location, aws: aws, minimumInterval: .zero,
                                                  approvals: approvals).current()
                status = snapshot!.status
            } else {
                let state = try await recordedState(location, aws: aws, services: manifest.services)
                status = FleetStatus(manifest: manifest, observed: FleetStatus.observed(in: state, manifest: manifest), state: state)
            }
        } else {
            status = FleetStatus(manifest: manifest, observed: await readNow(manifest))
            if let approvals {
                // No watchers' history: a timeline of the decisions alone.
                var reader = ApprovalTrailReader(path: approvals)
                var index = HistoryIndex()
                try reader.read { index.add($0) }
                index.sort()
                snapshot = StatusSnapshot(status: status, index: index, generation: 0,
                                          notes: ["No history: give the watchers' --state to see what changed, and when. "
                                              + "Approval decisions are read from \(approvals)."])
            }
        }

        let console = Console()
        switch format {
        case "json":
            console.line(status.json)
        case "html":
            var page = StatusPage(status: status, timeline: snapshot.map { Timeline(index: $0.index, query: query) }, query: query, mode: .file)
            page.redactor = manifest.redactor
            page.notes = snapshot?.notes ?? ["No history: give the watchers' --state to see what changed, and when."]
            console.out(page.render())
        default:
            for line in status.tableLines { console.line(line) }
        }
        return status.hasProblems ? 1 : 0
    }
}
