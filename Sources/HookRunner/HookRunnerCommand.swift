import DeployVerifyKit
#if os(macOS)
import DeployVerifyURLSession // https through URLSession on macOS; Linux drives libcurl directly
#endif
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `hookrunner`: the command, from arguments to exit status.
package enum HookRunnerCommand {
    package static let help = """
    usage: hookrunner [PHASE] [options]          run a phase's checks (pre-traffic, post-traffic …)
           hookrunner validate [options]         check the file and its variables; run nothing
           hookrunner serve --port PORT [options] answer POST/GET /hooks/PHASE (Flagger, Argo Rollouts)
           hookrunner lambda [PHASE] [options]   a CodeDeploy ECS/Lambda hook function (bootstrap)
           hookrunner approvals [--since DATE] [--format table|json]
                                                 list the approval trail (requests, decisions, refusals)

    Runs a deployment's checks and exits non-zero when they fail, so that the deployment system
    (CodeDeploy hooks, Argo Rollouts jobs, Helm tests, Flagger webhooks, CI steps) rolls back.
    Without PHASE, CodeDeploy's LIFECYCLE_EVENT chooses it: BeforeAllowTraffic and
    AfterAllowTestTraffic run pre-traffic, AfterAllowTraffic and ValidateService post-traffic
    (the file's lifecycleEvents can map others).

    CodeDeploy hooks of ECS and Lambda deployments are Lambda functions that must report
    Succeeded or Failed: --codedeploy-hook reports the run (only a pass is Succeeded), and
    `hookrunner lambda` is such a function itself (the static binary as bootstrap on
    provided.al2023; without arguments it reads HOOKRUNNER_ARGS, default 'lambda'). Each
    invocation's phase: PHASE, else the event's LifecycleEvent (mapped as LIFECYCLE_EVENT is),
    else HOOKRUNNER_PHASES (FUNCTION=PHASE,… by the invoked function's name), else
    HOOKRUNNER_PHASE: CodeDeploy's event does not say which hook it is, so one function serves
    one hook. The checks file is $LAMBDA_TASK_ROOT/hooks.json unless --config says otherwise;
    --timeout defaults to the invocation's time left less 10% (5 s to 10 s); the answer is the
    JSON report.

    options:
      -c, --config PATH        the checks file (default hooks.json); its schema: schemas/hooks.schema.json
          --var NAME=VALUE     set a variable (beats the environment and the file's vars); repeatable
          --secret NAME        never show this variable's value; repeatable (also the file's "secrets")
      -j, --jobs N             checks run at once in a parallel group or a repeat (default 8)
          --keep-going         run every step after a failure (default: stop at the first failed
                               step; steps with "always": true run regardless)
          --fail-fast          the default, stated
          --timeout DURATION   for the whole phase (default 55m, under CodeDeploy's 1 h hook limit);
                               when it passes, running checks stop, their commands are killed, and
                               the reports are still written
          --override-blockers REASON
                               let a recovery deploy through: blockers (alarms, window, steps with
                               "blocker": true) are still evaluated and reported, but do not hold;
                               REASON appears in every report and in serve mode's answers
          --report FMT=PATH    write a report: junit=PATH, json=PATH or tap=PATH; repeatable
                           (a missing directory is created)
          --codedeploy-hook DEPLOYMENT_ID:EXECUTION_ID
                               report the run to CodeDeploy (PutLifecycleEventHookExecutionStatus):
                               Succeeded when every check passed, Failed otherwise, errors too
      -q, --quiet              no progress or summary (reports and the exit status remain)
          --no-color           (colour is used only on a terminal, never with NO_COLOR)
      -h, --help, --version

    approval options (steps with "approval": a person approves or rolls back through links):
          --approvals PATH     the trail of requests and decisions, JSON Lines (default
                               approvals.jsonl); shared by the waiting step and hookrunner serve
          --approval-key-file PATH
                               the key the links' tokens are signed with (or the environment's
                               HOOKRUNNER_APPROVAL_KEY; at least 16 characters; never printed)
          --public-url URL     where people reach the links: a hookrunner serve, or the address
                               of --approval-listen behind a proxy
          --approval-listen HOST:PORT
                               the step serves its links itself while it waits
          --trusted-user-header NAME
                               who decides comes from this header, set by an authenticating proxy
                               (X-Forwarded-User behind oauth2-proxy); else a name typed on the page
          --pre-approve        approvals pass without waiting, their request still posted and the
                               decision recorded (lower environments; "preApprove" in the file
                               does the same, e.g. "${PRE_APPROVE}" with PRE_APPROVE=true)

    serve options:
          --port PORT          required (0 picks a free port, printed when listening)
          --host HOST          (default 0.0.0.0)
          --token-file PATH    require "Authorization: Bearer <token>", the token read from PATH
                               (not on /approvals/: its links carry tokens of their own)
          --approvals PATH, --approval-key-file PATH, --trusted-user-header NAME
                               serve approval links (/approvals/…) and record decisions in the
                               trail, where steps waiting in other processes find them

    approvals options:
          --since DATE         2026-11-20, 2026-11-20T10:00:00Z, or a duration ago: 24h, 7d
          --format FORMAT      table (default) or json

    When GITHUB_ACTIONS=true, failed checks become ::error annotations and a Markdown summary is
    appended to $GITHUB_STEP_SUMMARY.

    Blockers run before every other step of the phase: alarms and window checks, and steps with
    "blocker": true. When one holds (an alarm fires, the window is closed, or it cannot be
    evaluated: AWS or Alertmanager unreachable, credentials refused, a named alarm missing),
    nothing else runs and hookrunner exits 4. A bake keeps its checks running for a while; its
    first failure ends the phase at once (exit 1). An approval posts approve and roll-back links
    to its channels and waits: approved, it passes; rolled back or timed out, it fails (exit 1).

    exit status:
      0  every check passed
      1  a check failed: roll back (an approval too: rolled back, or not decided in time)
      2  the file, a variable or the command line is wrong; the message names the file, the
         JSON path (phases.pre-traffic[1].expect[0]) or the flag
      3  the --timeout passed or the run was interrupted (SIGINT, SIGTERM)
      4  blocked: a blocker holds the deployment, no release was judged (serve: POST answers 423,
         GET answers 200 with "ok": false and "exitCode": 4)
      5  --codedeploy-hook: the status could not be reported to CodeDeploy (no region or
         credentials, refused, unreachable, already completed); the message names the
         deployment and the cause, and CodeDeploy fails the deployment after an hour
    """

    struct Options {
        var command = "run"
        var phase: String?
        var config = "hooks.json"
        var variables: [String: String] = [:]
        var secrets: [String] = []
        var run = RunOptions()
        var timeout: Duration = .seconds(55 * 60)
        var reports: [(format: ReportFormat, path: String)] = []
        var quiet = false
        var noColor = false
        var port: Int?
        var host = "0.0.0.0"
        var tokenFile: String?
        /// `--codedeploy-hook`: report the run's status to CodeDeploy.
        var codeDeployHook: CodeDeployHook?
        /// Whether `--config` and `--timeout` were given (`lambda` has defaults of its own).
        var configGiven = false
        var timeoutGiven = false
        /// `--approval-key-file`: read with the environment's HOOKRUNNER_APPROVAL_KEY by `main`.
        var approvalKeyFile: String?
        /// `hookrunner approvals`: `--since` and `--format`.
        var since: Date?
        var format = "table"
    }

    static let spec: ArgumentList.Spec = {
        var spec = ArgumentList.Spec()
        spec.flag("--help", "-h")
        spec.flag("--version")
        spec.flag("--quiet", "-q")
        spec.flag("--no-color")
        spec.flag("--keep-going")
        spec.flag("--fail-fast")
        spec.option("--config", "-c", hint: "a path to the checks file")
        spec.option("--var", hint: "NAME=VALUE", repeatable: true)
        spec.option("--secret", hint: "a variable name", repeatable: true)
        spec.option("--jobs", "-j", hint: "a whole number from 1 to 256")
        spec.option("--timeout", hint: "a duration: 30s, 10m, 55m")
        spec.option("--override-blockers", hint: "the reason for letting the deployment through")
        spec.option("--report", hint: "junit=PATH, json=PATH or tap=PATH", repeatable: true)
        spec.option("--port", hint: "a port from 0 to 65535")
        spec.option("--host", hint: "an address to listen on")
        spec.option("--token-file", hint: "a file holding the bearer token")
        spec.option("--codedeploy-hook", hint: "DEPLOYMENT_ID:EXECUTION_ID")
        spec.option("--approvals", hint: "a path to the approval trail (JSON Lines)")
        spec.option("--approval-key-file", hint: "a file holding the key approval links are signed with")
        spec.option("--public-url", hint: "an http:// or https:// URL")
        spec.option("--approval-listen", hint: "HOST:PORT")
        spec.option("--trusted-user-header", hint: "a header name, e.g. X-Forwarded-User")
        spec.flag("--pre-approve")
        spec.option("--since", hint: "a date (2026-11-20) or a duration ago (24h, 7d)")
        spec.option("--format", hint: "table or json")
        return spec
    }()

    /// Runs the command and returns the exit status.
    package static func main(_ arguments: [String], environment: [String: String]) async -> Int32 {
        let console = Console()
        var arguments = arguments
        if arguments.isEmpty, environment[LambdaRuntime.endpointVariable] != nil {
            // Lambda runs `bootstrap` without arguments: the function's configuration gives them.
            arguments = HookLambda.arguments(environment)
        }
        let options: Options
        do {
            let list = try ArgumentList(arguments, spec: spec)
            if list.has("--help") {
                console.line(help)
                return 0
            }
            if list.has("--version") {
                console.line(DeployVerifyVersion.describe(tool: "hookrunner"))
                return 0
            }
            var parsed = try parse(list)
            if parsed.command != "approvals" {
                parsed.run.approvals.key = try ApprovalKey.load(file: parsed.approvalKeyFile, environment: environment)
            }
            options = parsed
        } catch {
            console.error("hookrunner: \(error.description)")
            console.error("run 'hookrunner --help' for usage")
            // Whoever waits for a verdict still gets one: Failed.
            if arguments.first == "lambda" { return await HookLambda.serve(.failure(error), environment: environment) }
            if !["validate", "serve", "approvals"].contains(arguments.first ?? ""), let hook = CodeDeployHook.scan(arguments) {
                return await reportUnusable(hook, environment: environment)
            }
            return 2
        }
        do {
            switch options.command {
            case "validate": return try validate(options, environment: environment)
            case "serve": return try await HookServer.serve(options, environment: environment)
            case "lambda": return await HookLambda.serve(.success(options), environment: environment)
            case "approvals": return try ApprovalsCommand.list(options)
            default:
                if let hook = options.codeDeployHook { return await runReporting(hook, options, environment: environment) }
                return try await run(options, environment: environment)
            }
        } catch {
            console.error("hookrunner: \(error)")
            return 2
        }
    }

    static func parse(_ list: ArgumentList) throws(UsageError) -> Options {
        var options = Options()
        var positional = list.positional
        if let first = positional.first, ["validate", "serve", "run", "lambda", "approvals"].contains(first) {
            options.command = positional.removeFirst()
        }
        guard positional.count <= 1, !["validate", "serve", "approvals"].contains(options.command) || positional.isEmpty else {
            throw UsageError("unexpected argument '\(positional.last!)'")
        }
        options.phase = positional.first
        options.config = list.value("--config") ?? options.config
        options.configGiven = list.value("--config") != nil
        options.timeoutGiven = list.value("--timeout") != nil
        for assignment in list.values("--var") {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw UsageError("--var: '\(assignment.prefix(40))' is not NAME=VALUE")
            }
            options.variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        options.secrets = list.values("--secret")
        options.run.jobs = try list.value("--jobs") { text in
            guard let jobs = Int(text), (1...256).contains(jobs) else { throw ValueError("'\(text)' is not a whole number from 1 to 256") }
            return jobs
        } ?? options.run.jobs
        if list.has("--keep-going"), list.has("--fail-fast") { throw UsageError("--keep-going and --fail-fast contradict each other") }
        options.run.keepGoing = list.has("--keep-going")
        options.timeout = try list.value("--timeout") { text in
            let value = try DurationText.parse(text)
            guard value > .zero else { throw ValueError("the duration must be more than zero") }
            return value
        } ?? options.timeout
        for entry in list.values("--report") {
            guard let equals = entry.firstIndex(of: "="), let format = ReportFormat(rawValue: String(entry[..<equals])) else {
                throw UsageError("--report: '\(entry)' is not junit=PATH, json=PATH or tap=PATH")
            }
            let path = String(entry[entry.index(after: equals)...])
            guard !path.isEmpty else { throw UsageError("--report \(format.rawValue)= needs a path") }
            let directory = (path as NSString).deletingLastPathComponent
            // Created when missing (reports/junit.xml in a fresh CI workspace), as test runners do.
            var isDirectory: ObjCBool = false
            if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    throw UsageError("--report \(format.rawValue)=\(path): cannot create the directory \(directory)")
                }
            }
            options.reports.append((format, path))
        }
        if let reason = list.value("--override-blockers") {
            guard !reason.trimmed.isEmpty else { throw UsageError("--override-blockers needs a reason: it appears in every report") }
            options.run.overrideReason = reason.trimmed
        }
        options.quiet = list.has("--quiet")
        options.noColor = list.has("--no-color")
        if options.command == "serve" {
            guard let port = try list.value("--port", { text in
                guard let port = Int(text), (0...65535).contains(port) else { throw ValueError("'\(text)' is not a port from 0 to 65535") }
                return port
            }) else { throw UsageError("serve needs --port PORT") }
            options.port = port
            options.host = list.value("--host") ?? options.host
            options.tokenFile = list.value("--token-file")
        } else {
            for flag in ["--port", "--host", "--token-file"] where list.value(flag) != nil {
                throw UsageError("\(flag) applies to hookrunner serve")
            }
        }
        try parseApprovalOptions(list, into: &options)
        options.codeDeployHook = try list.value("--codedeploy-hook") { text in try CodeDeployHook(argument: text) }
        if options.codeDeployHook != nil, options.command != "run" {
            throw UsageError("--codedeploy-hook applies to a phase run" + (options.command == "lambda" ? " (in lambda, the event names the hook)" : ""))
        }
        if options.command == "lambda", !options.reports.isEmpty {
            throw UsageError("--report does not apply to hookrunner lambda: the invocation's answer is the JSON report")
        }
        return options
    }

    /// The approval flags, each where it applies: the trail everywhere; the key, public URL and
    /// trusted header for runs and serve; the listener and pre-approval for runs; `--since` and
    /// `--format` for `approvals`.
    static func parseApprovalOptions(_ list: ArgumentList, into options: inout Options) throws(UsageError) {
        let command = options.command
        let isRun = command == "run" || command == "lambda"
        func only(_ flags: [String], _ applies: Bool, _ scope: String) throws(UsageError) {
            for flag in flags where list.value(flag) != nil || list.has(flag) {
                guard applies else { throw UsageError("\(flag) applies to \(scope)") }
            }
        }
        try only(["--approval-listen", "--pre-approve"], isRun, "a phase run")
        try only(["--approval-key-file", "--public-url", "--trusted-user-header"], isRun || command == "serve", "a phase run and hookrunner serve")
        try only(["--since", "--format"], command == "approvals", "hookrunner approvals")
        if let path = list.value("--approvals") {
            guard !path.isEmpty else { throw UsageError("--approvals needs a path") }
            options.run.approvals.trailPath = path
        }
        options.approvalKeyFile = list.value("--approval-key-file")
        if let url = list.value("--public-url") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), case .success = ProbeTarget.parse(url) else {
                throw UsageError("--public-url: '\(url)' is not an http:// or https:// URL")
            }
            options.run.approvals.publicURL = url
        }
        options.run.approvals.listen = try list.value("--approval-listen") { text in try ApprovalSettings.ListenAddress(text) }
        if let header = list.value("--trusted-user-header") {
            guard !header.isEmpty, header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw UsageError("--trusted-user-header: '\(header)' is not a header name")
            }
            if isRun, options.run.approvals.listen == nil {
                throw UsageError("--trusted-user-header applies to the links a step serves (--approval-listen) or hookrunner serve")
            }
            options.run.approvals.trustedUserHeader = header
        }
        options.run.approvals.preApprove = list.has("--pre-approve")
        options.since = try list.value("--since") { text -> Date in
            if let date = Timestamps.parse(text) ?? Timestamps.parse(text + "T00:00:00Z") { return date }
            if text.hasSuffix("d"), let days = Double(text.dropLast()), days > 0 { return Date().addingTimeInterval(-days * 86400) }
            guard let ago = try? DurationText.parse(text) else {
                throw ValueError("'\(text)' is not a date (2026-11-20, 2026-11-20T10:00:00Z) or a duration ago (24h, 7d)")
            }
            return Date().addingTimeInterval(-ago.seconds)
        }
        if let format = list.value("--format") {
            guard format == "table" || format == "json" else { throw UsageError("--format: '\(format)' is not table or json") }
            options.format = format
        }
    }

    // MARK: validate

    static func validate(_ options: Options, environment: [String: String]) throws -> Int32 {
        let file = try HooksFile.load(path: options.config)
        var scope = try VariableScope(file: file, environment: environment, overrides: options.variables, secretNames: options.secrets)
        var summary: [String] = []
        for (name, value) in file.channels {
            _ = try PhasePlan.channel(name, value, file: file.path, scope: &scope)
        }
        for phase in file.phaseNames {
            let steps = file.phases[phase]!
            _ = try PhasePlan.make(steps, file: file.path, channels: file.channels, scope: &scope)
            let checks = steps.reduce(0) { $0 + $1.checks.count }
            let blockers = steps.filter(\.blocker).count
            let approvals = steps.filter { step in step.checks.contains { if case .approval = $0.kind { true } else { false } } }.count
            var notes: [String] = []
            if blockers > 0 { notes.append("\(blockers) blocker\(blockers == 1 ? "" : "s")") }
            if approvals > 0 { notes.append("\(approvals) approval\(approvals == 1 ? "" : "s")") }
            summary.append("\(phase): \(checks) check\(checks == 1 ? "" : "s")" + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))"))
        }
        if !options.quiet { Console().line("\(file.path): valid (\(summary.joined(separator: "; ")))") }
        return 0
    }

    // MARK: run

    static func run(_ options: Options, environment: [String: String], hook: CodeDeployHookReporter? = nil) async throws -> Int32 {
        let file = try HooksFile.load(path: options.config)
        let (phase, lifecycleEvent) = try choosePhase(options.phase, file: file, environment: environment)
        let terminal = Terminal.detect(environment: environment, noColorFlag: options.noColor)
        let reporter = TerminalReporter(terminal: terminal, quiet: options.quiet)

        let signals = StopSignals()
        var report = try await execute(file: file, phase: phase, lifecycleEvent: lifecycleEvent, options: options,
                                       environment: environment, metadata: [:], events: reporter.handle,
                                       stop: { _ = await signals.wait() })
        reporter.summary(report)
        var status = report.exitCode
        if let hook { status = await hook.conclude(&report, exitStatus: status) } // --codedeploy-hook: 5 when undelivered
        try writeReports(report, options.reports)
        if environment["GITHUB_ACTIONS"] == "true" { publishToGitHub(report, environment: environment) }
        return status
    }

    /// Plans and runs one phase under the overall timeout; `stop` returns when the run must
    /// end early (a signal, a client gone). Throws only configuration errors.
    static func execute(file: HooksFile, phase: String, lifecycleEvent: String?, options: Options,
                        environment: [String: String], metadata: [String: String],
                        events: @escaping @Sendable (RunEvent) -> Void,
                        stop: @escaping @Sendable () async -> Void) async throws -> PhaseReport {
        var scope = try VariableScope(file: file, environment: environment, metadata: metadata,
                                      overrides: options.variables, secretNames: options.secrets)
        // The approval key is a secret like any other: a command that prints its environment
        // shows it masked.
        if let key = options.run.approvals.key { scope.addSecret(String(decoding: key, as: UTF8.self)) }
        let steps = try PhasePlan.make(file.phases[phase]!, file: file.path, channels: file.channels, scope: &scope)
        var runOptions = options.run
        runOptions.approvals.phase = phase
        runOptions.approvals.configFile = file.path
        // A step that waits needs its key and its links' address: a usage error before anything runs.
        if !runOptions.approvals.preApprove, let missing = runOptions.approvals.missingForWaiting {
            for step in steps {
                for planned in step.checks {
                    if case .approval(let approval) = planned.target, !approval.preApproved {
                        throw UsageError("\(file.path): \(planned.check.path): \(missing)")
                    }
                }
            }
        }
        var probeOptions = ProbeOptions()
        probeOptions.userAgent = "hookrunner/\(DeployVerifyVersion.current)"
        probeOptions.concurrency = options.run.jobs
        #if os(macOS)
        probeOptions.secureTransport = URLSessionTransport(maxConnectionsPerHost: 64, userAgent: probeOptions.userAgent)
        #endif
        let prober = try Prober(options: probeOptions)
        let runner = PhaseRunner(steps: steps, scope: scope, prober: prober, options: runOptions,
                                 awsClients: AWSClients(environment: environment), events: events)

        let startedAt = Date()
        let started = ContinuousClock.now
        let ending = Locked<(deadline: Bool, stopped: Bool)>((false, false))
        let work = Task { await runner.run() }
        let deadline = Task {
            do { try await CancellableSleep.sleep(for: options.timeout) } catch { return }
            ending.withLock { $0.deadline = true }
            work.cancel()
        }
        let watcher = Task {
            await stop()
            guard !Task.isCancelled else { return }
            ending.withLock { $0.stopped = true }
            work.cancel()
        }
        let checks = await work.value
        deadline.cancel()
        watcher.cancel()
        let ended = ending.current
        let deployment = PhaseReport.deploymentVariables.compactMap { name in environment[name].map { (name, $0) } }
        var report = PhaseReport(phase: phase, configFile: file.path, lifecycleEvent: lifecycleEvent, deployment: deployment,
                                 started: startedAt, duration: ContinuousClock.now - started, checks: checks)
        report.deadlineExceeded = ended.deadline
        report.interrupted = ended.stopped && !ended.deadline
        report.overrideReason = options.run.overrideReason
        return report
    }

    static func choosePhase(_ requested: String?, file: HooksFile, environment: [String: String]) throws(ConfigError) -> (String, String?) {
        let phases = file.phaseNames.joined(separator: ", ")
        if let requested {
            guard file.phases[requested] != nil else {
                throw ConfigError(file: file.path, location: "phases", message: "no phase '\(requested)' (this file has \(phases))")
            }
            return (requested, nil)
        }
        guard let event = environment["LIFECYCLE_EVENT"], !event.isEmpty else {
            throw ConfigError(file: file.path, location: nil,
                              message: "name the phase to run (\(phases)), or run under CodeDeploy, which sets LIFECYCLE_EVENT")
        }
        guard let phase = file.lifecycleEvents[event] else {
            throw ConfigError(file: file.path, location: "lifecycleEvents",
                              message: "LIFECYCLE_EVENT=\(event) has no phase; map it, e.g. \"lifecycleEvents\": {\"\(event)\": \"post-traffic\"}")
        }
        guard file.phases[phase] != nil else {
            throw ConfigError(file: file.path, location: "phases",
                              message: "LIFECYCLE_EVENT=\(event) runs phase '\(phase)', which this file does not have (\(phases))")
        }
        return (phase, event)
    }

    static func writeReports(_ report: PhaseReport, _ reports: [(format: ReportFormat, path: String)]) throws {
        for (format, path) in reports {
            do {
                try format.render(report).write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw UsageError("--report \(format.rawValue)=\(path): cannot write: \(error.localizedDescription)")
            }
        }
    }

    static func publishToGitHub(_ report: PhaseReport, environment: [String: String]) {
        let console = Console()
        for line in GitHubActions.annotations(report) { console.line(line) }
        guard let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty else { return }
        let summary = Data(GitHubActions.summary(report).utf8)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(summary)
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: summary)
        }
    }
}
