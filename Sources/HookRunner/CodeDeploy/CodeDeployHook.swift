import DeployVerifyKit
import Foundation
import InfoEndpoint

/// One execution of a CodeDeploy lifecycle hook of an ECS or Lambda deployment: what CodeDeploy
/// hands a hook function (`{"DeploymentId", "LifecycleEventHookExecutionId"}`) and what
/// `PutLifecycleEventHookExecutionStatus` must name.
package struct CodeDeployHook: Sendable, Equatable {
    /// `d-AB1CDEF23`.
    package var deploymentID: String
    /// An opaque token (base64 text, often a few hundred characters).
    package var executionID: String

    package init(deploymentID: String, executionID: String) {
        self.deploymentID = deploymentID
        self.executionID = executionID
    }

    /// `--codedeploy-hook DEPLOYMENT_ID:EXECUTION_ID`, split at the first colon (neither id has one).
    package init(argument: String) throws(ValueError) {
        guard let colon = argument.firstIndex(of: ":") else {
            throw ValueError("'\(argument.prefix(40))' is not DEPLOYMENT_ID:EXECUTION_ID")
        }
        let deployment = String(argument[..<colon]), execution = String(argument[argument.index(after: colon)...])
        for (name, value) in [("the deployment id", deployment), ("the execution id", execution)] {
            if let problem = Self.problem(value) { throw ValueError("\(name) \(problem)") }
        }
        self.init(deploymentID: deployment, executionID: execution)
    }

    /// The ids from a hook invocation's event; nil with why when it does not carry both.
    package static func parse(event: JSONValue) -> Result<CodeDeployHook, HookEventError> {
        guard case .object = event else {
            return .failure(HookEventError("the event is not a JSON object; a CodeDeploy hook event is {\"DeploymentId\": …, \"LifecycleEventHookExecutionId\": …}"))
        }
        var ids: [String] = []
        for key in ["DeploymentId", "LifecycleEventHookExecutionId"] {
            guard let value = event[key]?.stringValue else {
                return .failure(HookEventError("the event has no \(key) (a CodeDeploy hook event has DeploymentId and LifecycleEventHookExecutionId)"))
            }
            if let problem = problem(value) { return .failure(HookEventError("the event's \(key) \(problem)")) }
            ids.append(value)
        }
        return .success(CodeDeployHook(deploymentID: ids[0], executionID: ids[1]))
    }

    /// Why a value cannot be an id: empty, too long, or with spaces or control characters.
    static func problem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value.utf8.count > 4096 { return "is longer than 4096 bytes" }
        if value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) { return "contains spaces or control characters" }
        return nil
    }

    /// The value of `--codedeploy-hook` in a command line that could not be parsed (so that a
    /// usage error still reports `Failed` when the ids are known); nil when it has none or an
    /// unusable one.
    package static func scan(_ arguments: [String]) -> CodeDeployHook? {
        var index = 0
        while index < arguments.count, arguments[index] != "--" {
            let argument = arguments[index]
            index += 1
            var value: String?
            if argument == "--codedeploy-hook", index < arguments.count {
                value = arguments[index]
            } else if argument.hasPrefix("--codedeploy-hook=") {
                value = String(argument.dropFirst("--codedeploy-hook=".count))
            }
            if let value, let hook = try? CodeDeployHook(argument: value) { return hook }
        }
        return nil
    }

    /// The execution id for messages: its start (the whole token is long and says nothing).
    package var shortExecutionID: String {
        executionID.count > 16 ? executionID.prefix(16) + "…" : executionID
    }

    /// `deployment d-AB1CDEF23 (hook execution eyJlbmNyeXB0ZWRE…)`.
    package var described: String { "deployment \(deploymentID) (hook execution \(shortExecutionID))" }

    /// The status a run's exit status reports: `Succeeded` for 0 (every check passed), `Failed`
    /// for anything else (a failed check, a configuration error, a blocker, the deadline).
    package static func status(forExitStatus status: Int32) -> String {
        status == 0 ? "Succeeded" : "Failed"
    }

    /// hookrunner's exit status when the status could not be reported to CodeDeploy.
    package static let undeliveredExitStatus: Int32 = 5
}

/// A hook invocation's event without the ids CodeDeploy sends: nothing can be reported.
package struct HookEventError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// What became of reporting a run to CodeDeploy; part of the reports.
package struct CodeDeployHookResult: Sendable {
    package var hook: CodeDeployHook
    /// `Succeeded` or `Failed`.
    package var status: String
    /// CodeDeploy accepted the status.
    package var reported: Bool
    /// Why it was not reported (an AWS error, no credentials, the deadline); never a secret.
    package var error: String?

    /// `{"deploymentId", "lifecycleEventHookExecutionId", "status", "reported", "error"}`.
    package func write(into json: inout JSONText) {
        json.object { json in
            json.member("deploymentId", hook.deploymentID)
            json.member("lifecycleEventHookExecutionId", hook.executionID)
            json.member("status", status)
            json.key("reported")
            json.bool(reported)
            json.member("error", error)
        }
    }

    /// One line for a log or a TAP comment.
    package var summary: String {
        reported ? "reported \(status) to CodeDeploy for \(hook.described)"
            : "could not report \(status) to CodeDeploy for \(hook.described): \(error ?? "unknown error")"
    }
}

/// Why CodeDeploy cannot be told anything: no region, an endpoint that cannot be used, no
/// credentials. The message names the deployment; never a secret.
package struct HookReportError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Reports one hook execution's status to CodeDeploy, once, through DeployVerify's AWS client
/// (SigV4, the SDKs' credentials chain and region, `AWS_ENDPOINT_URL_CODEDEPLOY`, retries on
/// throttling and 5xx).
package final class CodeDeployHookReporter: Sendable {
    package let hook: CodeDeployHook
    private let client: AWSClient
    private let quiet: Bool
    private let delivered = Locked<CodeDeployHookResult?>(nil)
    private let console = Console()

    private init(hook: CodeDeployHook, client: AWSClient, quiet: Bool) {
        self.hook = hook
        self.client = client
        self.quiet = quiet
    }

    /// A reporter whose region, endpoint and credentials are usable, found before anything runs
    /// (a verdict nobody can deliver is not worth waiting for).
    package static func prepare(_ hook: CodeDeployHook, client: Result<AWSClient, AWSError>, quiet: Bool) async -> Result<CodeDeployHookReporter, HookReportError> {
        let prefix = "cannot report to CodeDeploy for \(hook.described)"
        switch client {
        case .failure(let error):
            return .failure(HookReportError("\(prefix): \(error.message)"))
        case .success(let client):
            do {
                _ = try client.endpoint(.codeDeploy)
                _ = try await client.credentials.credentials()
            } catch let error as AWSError {
                return .failure(HookReportError("\(prefix): \(error.message)"))
            } catch {
                return .failure(HookReportError("\(prefix): \(error)"))
            }
            return .success(CodeDeployHookReporter(hook: hook, client: client, quiet: quiet))
        }
    }

    /// The AWS client for reporting, or why there is none (no region, unreadable shared files).
    package static func client(environment: [String: String]) -> Result<AWSClient, AWSError> {
        do {
            return .success(try AWSClient(environment: environment))
        } catch {
            return .failure(error)
        }
    }

    /// What was reported, once `deliver` has run.
    package var result: CodeDeployHookResult? { delivered.current }

    /// Reports the status for a run's exit status (only 0 is `Succeeded`), once: a second call
    /// returns the first one's result. With a deadline, gives up when it passes. Logs the
    /// outcome (a failure always, a success unless quiet).
    @discardableResult
    package func deliver(exitStatus: Int32, deadline: ContinuousClock.Instant? = nil) async -> CodeDeployHookResult {
        if let done = delivered.current { return done }
        let status = CodeDeployHook.status(forExitStatus: exitStatus)
        var result = CodeDeployHookResult(hook: hook, status: status, reported: false, error: nil)
        do {
            try await put(status, deadline: deadline)
            result.reported = true
            if !quiet { console.line("hookrunner: \(result.summary)") }
        } catch {
            result.error = Self.explain(error)
            console.error("hookrunner: \(result.summary)")
        }
        delivered.withLock { $0 = result }
        return result
    }

    /// Reports the run's verdict into `report` (which then names the deployment and the status)
    /// and returns the exit status: the run's, or 5 when CodeDeploy could not be told.
    package func conclude(_ report: inout PhaseReport, exitStatus: Int32, deadline: ContinuousClock.Instant? = nil) async -> Int32 {
        let result = await deliver(exitStatus: exitStatus, deadline: deadline)
        if !report.deployment.contains(where: { $0.name == "DEPLOYMENT_ID" }) {
            report.deployment.insert(("DEPLOYMENT_ID", hook.deploymentID), at: 0)
        }
        report.codeDeployHook = result
        return result.reported ? exitStatus : CodeDeployHook.undeliveredExitStatus
    }

    private func put(_ status: String, deadline: ContinuousClock.Instant?) async throws {
        let (client, hook) = (self.client, self.hook)
        guard let deadline else {
            try await client.putLifecycleEventHookExecutionStatus(deploymentID: hook.deploymentID, executionID: hook.executionID, status: status)
            return
        }
        // The client retries with backoff; the invocation's deadline ends that.
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await client.putLifecycleEventHookExecutionStatus(deploymentID: hook.deploymentID, executionID: hook.executionID, status: status)
                return true
            }
            group.addTask {
                try? await CancellableSleep.sleep(until: deadline)
                return false
            }
            defer { group.cancelAll() }
            if try await group.next() != true {
                throw HookReportError("CodeDeploy PutLifecycleEventHookExecutionStatus: no answer before the invocation's deadline")
            }
        }
    }

    /// The error, with what to do about the common ones.
    static func explain(_ error: any Error) -> String {
        guard let error = error as? AWSError else { return "\(error)" }
        if error.code == "LifecycleEventAlreadyCompletedException" {
            return "\(error); the hook execution was reported already, or CodeDeploy stopped waiting for it"
        }
        if error.isAccessProblem {
            return "\(error); check the credentials, and that the role may codedeploy:PutLifecycleEventHookExecutionStatus on the deployment group"
        }
        return "\(error)"
    }
}

extension HookRunnerCommand {
    /// `hookrunner PHASE --codedeploy-hook D:E`: the run, then its status to CodeDeploy. Exit 5
    /// (and nothing run) when CodeDeploy cannot be told; a configuration error reports `Failed`.
    static func runReporting(_ hook: CodeDeployHook, _ options: Options, environment: [String: String]) async -> Int32 {
        let console = Console()
        let reporter: CodeDeployHookReporter
        switch await CodeDeployHookReporter.prepare(hook, client: CodeDeployHookReporter.client(environment: environment), quiet: options.quiet) {
        case .failure(let error):
            console.error("hookrunner: \(error); the phase was not run")
            return CodeDeployHook.undeliveredExitStatus
        case .success(let prepared):
            reporter = prepared
        }
        do {
            return try await run(options, environment: environment, hook: reporter)
        } catch {
            console.error("hookrunner: \(error)")
            let result = await reporter.deliver(exitStatus: 2)
            return result.reported ? 2 : CodeDeployHook.undeliveredExitStatus
        }
    }

    /// A command line that could not be parsed but names the hook: `Failed` to CodeDeploy.
    static func reportUnusable(_ hook: CodeDeployHook, environment: [String: String]) async -> Int32 {
        switch await CodeDeployHookReporter.prepare(hook, client: CodeDeployHookReporter.client(environment: environment), quiet: false) {
        case .failure(let error):
            Console().error("hookrunner: \(error)")
            return CodeDeployHook.undeliveredExitStatus
        case .success(let reporter):
            return await reporter.deliver(exitStatus: 2).reported ? 2 : CodeDeployHook.undeliveredExitStatus
        }
    }
}
