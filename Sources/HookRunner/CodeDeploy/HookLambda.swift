import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `hookrunner lambda`: a CodeDeploy hook function for ECS and Lambda deployments. The static
/// binary is the function's `bootstrap` on `provided.al2023` and speaks the Runtime API itself.
/// Each invocation's event names a hook execution; the phase chosen for it runs with the checks
/// file packaged beside the binary, its verdict goes to CodeDeploy (only a pass is `Succeeded`),
/// and the invocation is answered with the JSON report. An invocation whose status could not
/// be reported, or whose event names no hook execution, is answered with an error.
enum HookLambda {
    /// The command line when Lambda starts `bootstrap` without arguments: `HOOKRUNNER_ARGS`
    /// split on whitespace, `lambda` when it is unset or blank.
    static func arguments(_ environment: [String: String]) -> [String] {
        guard let line = environment["HOOKRUNNER_ARGS"], !line.trimmed.isEmpty else { return ["lambda"] }
        return line.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// The `--timeout` of one invocation's phase: the time left less a margin for stopping the
    /// checks, reporting to CodeDeploy and answering (10 % of it, at least 5 s and at most 10 s);
    /// a shorter `--timeout` given on the command line wins. Zero when no time is left.
    static func phaseTimeout(remaining: Duration, requested: Duration?) -> Duration {
        let margin = min(max(remaining / 10, .seconds(5)), .seconds(10))
        let available = max(.zero, remaining - margin)
        return requested.map { min($0, available) } ?? available
    }

    /// The phase an invocation runs and what chose it.
    struct PhaseChoice: Equatable {
        var phase: String
        /// The CodeDeploy lifecycle event, when the event named it.
        var lifecycleEvent: String?
        /// `HOOKRUNNER_PHASE`, `the command line` …, for the log.
        var reason: String
    }

    /// The phase for one invocation, first rule that applies: PHASE on the command line; the
    /// event's `LifecycleEvent` (not sent by CodeDeploy; for invocations by hand or by a
    /// wrapper), mapped through the file's `lifecycleEvents`; `HOOKRUNNER_PHASES`
    /// (`FUNCTION=PHASE,…`, FUNCTION the invoked function's name, or `NAME:ALIAS`); then
    /// `HOOKRUNNER_PHASE`. CodeDeploy's event does not say which hook it is for, so a function
    /// serves one hook unless the mapping tells its names apart.
    static func choosePhase(commandLine: String?, event: JSONValue, functionARN: String?, environment: [String: String],
                            file: HooksFile) throws(ConfigError) -> PhaseChoice {
        let phases = file.phaseNames.joined(separator: ", ")
        func known(_ phase: String, _ reason: String, event: String? = nil) throws(ConfigError) -> PhaseChoice {
            guard file.phases[phase] != nil else {
                throw ConfigError(file: file.path, location: "phases", message: "\(reason) names phase '\(phase)', which this file does not have (\(phases))")
            }
            return PhaseChoice(phase: phase, lifecycleEvent: event, reason: reason)
        }
        if let commandLine { return try known(commandLine, "the command line") }
        if let lifecycleEvent = event["LifecycleEvent"]?.stringValue, !lifecycleEvent.isEmpty {
            guard let phase = file.lifecycleEvents[lifecycleEvent] else {
                throw ConfigError(file: file.path, location: "lifecycleEvents",
                                  message: "the event's LifecycleEvent \(lifecycleEvent) has no phase; map it, e.g. \"lifecycleEvents\": {\"\(lifecycleEvent)\": \"post-traffic\"}")
            }
            return try known(phase, "the event's LifecycleEvent \(lifecycleEvent)", event: lifecycleEvent)
        }
        let single = environment["HOOKRUNNER_PHASE"].map { $0.trimmed }.flatMap { $0.isEmpty ? nil : $0 }
        if let mapping = environment["HOOKRUNNER_PHASES"], !mapping.trimmed.isEmpty {
            let entries = try phaseMap(mapping, file: file.path)
            let names = functionNames(arn: functionARN, environment: environment)
            if let name = names.first(where: { entries[$0] != nil }), let phase = entries[name] {
                return try known(phase, "HOOKRUNNER_PHASES for \(name)")
            }
            guard single != nil else {
                throw ConfigError(file: file.path, location: nil,
                                  message: "HOOKRUNNER_PHASES has no entry for this function (\(names.last ?? "its name is unknown")) and HOOKRUNNER_PHASE is not set")
            }
        }
        if let single { return try known(single, "HOOKRUNNER_PHASE") }
        throw ConfigError(file: file.path, location: nil, message: """
            no phase for this invocation: set HOOKRUNNER_PHASE (\(phases)) on the function; CodeDeploy's event does \
            not say which hook it is for, so a function serves one hook (HOOKRUNNER_PHASES maps function names)
            """)
    }

    /// `FUNCTION=PHASE,FUNCTION=PHASE` as a dictionary.
    static func phaseMap(_ text: String, file: String) throws(ConfigError) -> [String: String] {
        var entries: [String: String] = [:]
        for entry in text.split(separator: ",").map({ $0.trimmed }) where !entry.isEmpty {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, entry.index(after: equals) != entry.endIndex else {
                throw ConfigError(file: file, location: nil, message: "HOOKRUNNER_PHASES: '\(entry.prefix(80))' is not FUNCTION=PHASE")
            }
            entries[String(entry[..<equals]).trimmed] = String(entry[entry.index(after: equals)...]).trimmed
        }
        return entries
    }

    /// The names the invoked function goes by, most specific first: `NAME:QUALIFIER` (an alias
    /// or version, when the ARN has one), then `NAME`; from `AWS_LAMBDA_FUNCTION_NAME` without
    /// an ARN.
    static func functionNames(arn: String?, environment: [String: String]) -> [String] {
        // arn:aws:lambda:us-east-1:123456789012:function:NAME[:QUALIFIER]
        let parts = (arn ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 7, parts[0] == "arn", parts[5] == "function", !parts[6].isEmpty {
            return parts.count >= 8 && !parts[7].isEmpty ? ["\(parts[6]):\(parts[7])", parts[6]] : [parts[6]]
        }
        return environment["AWS_LAMBDA_FUNCTION_NAME"].flatMap { $0.isEmpty ? nil : [$0] } ?? []
    }

    // MARK: The function

    /// Serves invocations until the Runtime API goes away. A command line that cannot be used
    /// still serves: each invocation reports `Failed` (CodeDeploy would otherwise wait an hour).
    static func serve(_ setup: Result<HookRunnerCommand.Options, UsageError>, environment: [String: String]) async -> Int32 {
        guard let endpoint = environment[LambdaRuntime.endpointVariable], !endpoint.isEmpty else {
            Console().error("hookrunner: lambda runs as a Lambda function's bootstrap only: \(LambdaRuntime.endpointVariable) is not set")
            return 2
        }
        let client = CodeDeployHookReporter.client(environment: environment)
        return await LambdaRuntime.run(environment: environment) { invocation in
            try await handle(invocation, setup: setup, client: client, environment: environment)
        }
    }

    /// One invocation: its hook, its phase, the run, the report to CodeDeploy, the answer.
    static func handle(_ invocation: LambdaInvocation, setup: Result<HookRunnerCommand.Options, UsageError>,
                       client: Result<AWSClient, AWSError>, environment: [String: String]) async throws -> [UInt8] {
        let console = Console()
        let remaining = invocation.remainingTime()
        // CodeDeploy is told before the deadline less a second, which answering the invocation takes.
        let reportDeadline = ContinuousClock.now + max(.zero, remaining - .seconds(1))
        let event: JSONValue
        do {
            event = try invocation.jsonBody()
        } catch {
            throw HookEventError("the event is not JSON (\(error)); a CodeDeploy hook event is {\"DeploymentId\": …, \"LifecycleEventHookExecutionId\": …}")
        }
        let hook = try CodeDeployHook.parse(event: event).get()
        let options = try? setup.get()
        let reporter = try await CodeDeployHookReporter.prepare(hook, client: client, quiet: options?.quiet ?? false).get()

        /// Anything that keeps the phase from running reports `Failed` too.
        func refuse(_ message: String, phase: String?) async throws -> [UInt8] {
            console.error("hookrunner: \(message)")
            let result = await reporter.deliver(exitStatus: 2, deadline: reportDeadline)
            guard result.reported else { throw HookReportError("\(result.summary) (the run: \(message))") }
            return Array(errorAnswer(message, phase: phase, hook: result).utf8)
        }

        var run: HookRunnerCommand.Options
        switch setup {
        case .failure(let error): return try await refuse("HOOKRUNNER_ARGS: \(error)", phase: nil)
        case .success(let parsed): run = parsed
        }
        if !run.configGiven, let root = environment["LAMBDA_TASK_ROOT"], !root.isEmpty {
            run.config = (root as NSString).appendingPathComponent("hooks.json")
        }
        run.timeout = phaseTimeout(remaining: remaining, requested: run.timeoutGiven ? run.timeout : nil)
        let file: HooksFile
        let choice: PhaseChoice
        do {
            file = try HooksFile.load(path: run.config)
            choice = try choosePhase(commandLine: run.phase, event: event, functionARN: invocation.invokedFunctionARN,
                                     environment: environment, file: file)
        } catch {
            return try await refuse("\(error)", phase: nil)
        }
        if !run.quiet {
            console.line("hookrunner: \(hook.described): \(choice.phase) (\(choice.reason)), within \(DurationText.format(.seconds(run.timeout.components.seconds)))")
        }
        let terminal = TerminalReporter(terminal: Terminal.detect(environment: environment, noColorFlag: run.noColor), quiet: run.quiet)
        var report: PhaseReport
        do {
            report = try await HookRunnerCommand.execute(file: file, phase: choice.phase, lifecycleEvent: choice.lifecycleEvent, options: run,
                                                         environment: environment, metadata: ["DEPLOYMENT_ID": hook.deploymentID],
                                                         events: terminal.handle, stop: { await Task.never() })
        } catch {
            return try await refuse("\(error)", phase: choice.phase)
        }
        terminal.summary(report)
        let status = await reporter.conclude(&report, exitStatus: report.exitCode, deadline: reportDeadline)
        if status == CodeDeployHook.undeliveredExitStatus, let result = report.codeDeployHook {
            throw HookReportError("\(result.summary) (the run: \(report.phase) \(report.passed ? "passed" : "did not pass"): \(report.tally))")
        }
        return Array(JSONReport.render(report).utf8)
    }

    /// The answer when the phase could not run but `Failed` was reported.
    static func errorAnswer(_ message: String, phase: String?, hook: CodeDeployHookResult) -> String {
        var json = JSONText()
        json.object { json in
            json.member("phase", phase)
            json.member("result", "error")
            json.key("exitCode")
            json.number(2)
            json.member("error", message)
            json.key("codedeployHook")
            hook.write(into: &json)
        }
        return json.text
    }
}
