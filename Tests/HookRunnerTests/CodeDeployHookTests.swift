import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport
@testable import DeployVerifyKit
@testable import HookRunner

/// A scratch directory with a checks file: `pre-traffic` passes (and leaves `ran` behind),
/// `post-traffic` fails, `slow` outlives any deadline.
private struct HookWorkspace {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "hookrunner-codedeploy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        {"phases": {
          "pre-traffic": [{"name": "the release answers", "command": ["sh", "-c", "touch '\(directory)/ran'; echo ok"]}],
          "post-traffic": [{"name": "production answers", "command": ["sh", "-c", "echo 'connection refused' >&2; exit 7"]}],
          "slow": [{"name": "a soak that never ends", "command": ["sleep", "120"]}]
        }}
        """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    var config: String { directory + "/hooks.json" }
    var ran: Bool { FileManager.default.fileExists(atPath: directory + "/ran") }
    func path(_ name: String) -> String { directory + "/" + name }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

private func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
}

/// A realistic execution id: CodeDeploy's are long base64 tokens.
private func executionID() -> String {
    Data("{\"encryptedData\":\"\(UUID().uuidString)\",\"iv\":\"x\"}".utf8).base64EncodedString()
}

/// `hookrunner PHASE --codedeploy-hook` and `hookrunner lambda` against a local CodeDeploy that
/// checks every request's SigV4 signature with botocore (scripts/codedeploy_hook_server.py),
/// hookrunner run as a real child process, the Lambda Runtime API a local stand-in.
@Suite("hookrunner reports CodeDeploy ECS and Lambda hooks")
struct CodeDeployHookTests {
    private func hookrunner(_ arguments: [String], _ workspace: HookWorkspace, environment: [String: String]) async throws -> CommandResult {
        try await runProduct("hookrunner", arguments + ["--config", workspace.config], environment: environment)
    }

    // MARK: --codedeploy-hook

    @Test func aPassIsOneSucceededAndTheReportsNameTheDeploymentAndTheStatus() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let execution = executionID()
        let result = try await hookrunner(["pre-traffic", "--codedeploy-hook", "d-AB1CDEF23:\(execution)", "--report", "json=\(workspace.path("r.json"))",
                                           "--report", "junit=\(workspace.path("r.xml"))", "--report", "tap=\(workspace.path("r.tap"))"],
                                          workspace, environment: codeDeploy.environment())
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("reported Succeeded to CodeDeploy for deployment d-AB1CDEF23"), "\(result.output)")
        let records = try await codeDeploy.waitForRecords(1)
        #expect(records.count == 1)
        #expect(records.first?.signature == "valid" && records.first?.accepted == true)
        #expect(records.first?.target == "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus")
        #expect(records.first?.deploymentID == "d-AB1CDEF23" && records.first?.executionID == execution && records.first?.status == "Succeeded")

        let report = try json(workspace.read("r.json"))
        let hook = try #require(report["codedeployHook"] as? [String: Any])
        #expect(hook["deploymentId"] as? String == "d-AB1CDEF23" && hook["lifecycleEventHookExecutionId"] as? String == execution)
        #expect(hook["status"] as? String == "Succeeded" && hook["reported"] as? Bool == true)
        #expect((report["deployment"] as? [String: String])?["DEPLOYMENT_ID"] == "d-AB1CDEF23")
        let junit = try XMLDocument(xmlString: workspace.read("r.xml"))
        let properties = try junit.nodes(forXPath: "//property").compactMap { $0 as? XMLElement }
            .reduce(into: [String: String]()) { $0[$1.attribute(forName: "name")?.stringValue ?? ""] = $1.attribute(forName: "value")?.stringValue }
        #expect(properties["codedeploy.deploymentId"] == "d-AB1CDEF23" && properties["codedeploy.status"] == "Succeeded")
        #expect(properties["codedeploy.reported"] == "true")
        #expect(workspace.read("r.tap").contains("# codedeploy: reported Succeeded to CodeDeploy for deployment d-AB1CDEF23"))
    }

    @Test func aFailedCheckAConfigErrorAndABadCommandLineEachReportOneFailed() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let environment = codeDeploy.environment()
        let failed = try await hookrunner(["post-traffic", "--codedeploy-hook", "d-FAILED001:exec-failed", "--report", "json=\(workspace.path("r.json"))"],
                                          workspace, environment: environment)
        #expect(failed.status == 1, "\(failed.output)")
        #expect(try json(workspace.read("r.json"))["codedeployHook"].flatMap { $0 as? [String: Any] }?["status"] as? String == "Failed")
        let unknownPhase = try await hookrunner(["canary", "--codedeploy-hook", "d-CONFIG001:exec-config"], workspace, environment: environment)
        #expect(unknownPhase.status == 2, "\(unknownPhase.output)")
        #expect(unknownPhase.stderr.contains("no phase 'canary'"))
        // The command line itself is wrong, but it names the hook: CodeDeploy still hears.
        let usage = try await runProduct("hookrunner", ["pre-traffic", "--jobs", "0", "--codedeploy-hook=d-USAGE0001:exec-usage"],
                                         environment: environment)
        #expect(usage.status == 2, "\(usage.output)")
        #expect(usage.stderr.contains("--jobs: '0' is not a whole number"))
        let records = try await codeDeploy.waitForRecords(3)
        #expect(records.map { "\($0.deploymentID ?? "") \($0.status ?? "") \($0.accepted)" }
            == ["d-FAILED001 Failed true", "d-CONFIG001 Failed true", "d-USAGE0001 Failed true"])
        #expect(!workspace.ran, "pre-traffic never ran")
    }

    @Test func throttlingAndA500AreRetriedIntoExactlyOneSucceeded() async throws {
        let codeDeploy = try await SignedCodeDeploy(script: [.init(500, "InternalFailure"), .init(400, "ThrottlingException")])
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--codedeploy-hook", "d-RETRY0001:exec-retry"], workspace, environment: codeDeploy.environment())
        #expect(result.status == 0, "\(result.output)")
        let records = try await codeDeploy.waitForRecords(3)
        #expect(records.map(\.answered) == [500, 400, 200])
        #expect(records.allSatisfy { $0.signature == "valid" && $0.status == "Succeeded" }, "each retry signed anew")
        #expect(records.filter(\.accepted).count == 1)
    }

    @Test func anAlreadyCompletedExecutionIsExitFiveNamingTheDeployment() async throws {
        let codeDeploy = try await SignedCodeDeploy(completed: ["exec-done"])
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--codedeploy-hook", "d-DONE00001:exec-done", "--report", "json=\(workspace.path("r.json"))"],
                                          workspace, environment: codeDeploy.environment())
        #expect(result.status == 5, "\(result.output)")
        #expect(result.stderr.contains("could not report Succeeded to CodeDeploy for deployment d-DONE00001"), "\(result.stderr)")
        #expect(result.stderr.contains("LifecycleEventAlreadyCompletedException"))
        let records = try await codeDeploy.waitForRecords(1)
        #expect(records.count == 1, "not retried: CodeDeploy's answer is final")
        let hook = try #require(try json(workspace.read("r.json"))["codedeployHook"] as? [String: Any])
        #expect(hook["reported"] as? Bool == false)
        #expect((hook["error"] as? String)?.contains("LifecycleEventAlreadyCompletedException") == true)
    }

    @Test func aWrongSecretOrNoCredentialsIsExitFiveWithoutASecretInSight() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let wrongSecret = "wrong-secret-\(UUID().uuidString)"
        let wrong = try await hookrunner(["pre-traffic", "--codedeploy-hook", "d-SIGNED001:exec-signed"], workspace,
                                         environment: codeDeploy.environment(secret: wrongSecret))
        #expect(wrong.status == 5, "\(wrong.output)")
        #expect(wrong.stderr.contains("could not report Succeeded to CodeDeploy for deployment d-SIGNED001"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("InvalidSignatureException"))
        #expect(!wrong.output.contains(wrongSecret) && !wrong.output.contains(codeDeploy.secretAccessKey))
        let records = try await codeDeploy.waitForRecords(1)
        #expect(records.map(\.signature) == ["InvalidSignatureException"], "refused by botocore's verdict, and not retried")

        try FileManager.default.removeItem(atPath: workspace.path("ran"))
        var bare = codeDeploy.environment()
        bare.removeValue(forKey: "AWS_ACCESS_KEY_ID")
        bare.removeValue(forKey: "AWS_SECRET_ACCESS_KEY")
        let missing = try await hookrunner(["pre-traffic", "--codedeploy-hook", "d-NOCREDS01:exec-nocreds"], workspace, environment: bare)
        #expect(missing.status == 5, "\(missing.output)")
        #expect(missing.stderr.contains("cannot report to CodeDeploy for deployment d-NOCREDS01"), "\(missing.stderr)")
        #expect(missing.stderr.contains("no AWS credentials found") && missing.stderr.contains("the phase was not run"))
        #expect(!workspace.ran, "nothing runs when the verdict cannot be delivered")
        #expect(codeDeploy.records.count == 1)
    }

    // MARK: hookrunner lambda

    /// hookrunner as a function's bootstrap: no arguments, the Runtime API and CodeDeploy local.
    private func bootstrap(_ runtime: LambdaRuntimeAPIServer, _ environment: [String: String]) throws -> ChildProcess {
        let process = ChildProcess(try Products.executable("hookrunner"), [], environment: environment.merging(runtime.environment) { _, new in new })
        try process.start()
        return process
    }

    private func hookEvent(_ deployment: String, _ execution: String, extra: String = "") -> String {
        #"{"DeploymentId": "\#(deployment)", "LifecycleEventHookExecutionId": "\#(execution)"\#(extra)}"#
    }

    @Test func asALambdaFunctionEachInvocationReportsOnceAndAnswersWithTheReport() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let runtime = try LambdaRuntimeAPIServer()
        // The checks file beside the binary ($LAMBDA_TASK_ROOT/hooks.json); HOOKRUNNER_ARGS unset: `lambda`.
        let function = try bootstrap(runtime, codeDeploy.environment([
            "LAMBDA_TASK_ROOT": workspace.directory, "HOOKRUNNER_PHASE": "pre-traffic", "AWS_LAMBDA_FUNCTION_NAME": "CodeDeployHook_checkout-pre-traffic",
        ]))
        defer { function.send(signal: SIGKILL) }

        let first = executionID()
        runtime.enqueue(.init(requestID: "inv-pass", body: hookEvent("d-LAMBDA001", first)))
        let pass = try #require(await runtime.waitForPost("inv-pass"))
        #expect(pass.kind == .response, "\(pass.text) \(function.output)")
        let answer = try json(pass.text)
        #expect(answer["phase"] as? String == "pre-traffic" && answer["result"] as? String == "passed")
        let hook = try #require(answer["codedeployHook"] as? [String: Any])
        #expect(hook["status"] as? String == "Succeeded" && hook["reported"] as? Bool == true && hook["lifecycleEventHookExecutionId"] as? String == first)
        #expect(workspace.ran)

        // An event naming its lifecycle event (by hand, not CodeDeploy) picks the phase through the file's mapping.
        runtime.enqueue(.init(requestID: "inv-fail", body: hookEvent("d-LAMBDA002", "exec-fail", extra: #", "LifecycleEvent": "AfterAllowTraffic""#)))
        let fail = try #require(await runtime.waitForPost("inv-fail"))
        #expect(fail.kind == .response, "the verdict reached CodeDeploy: the invocation did its job")
        let failed = try json(fail.text)
        #expect(failed["phase"] as? String == "post-traffic" && failed["result"] as? String == "failed")
        #expect((failed["codedeployHook"] as? [String: Any])?["status"] as? String == "Failed")

        // No ids: nothing can be reported, the invocation fails.
        runtime.enqueue(.init(requestID: "inv-bare", body: #"{"source": "aws.events"}"#))
        let bare = try #require(await runtime.waitForPost("inv-bare"))
        #expect(bare.kind == .error)
        #expect(bare.header("Lambda-Runtime-Function-Error-Type") == "HookEventError")
        #expect(bare.text.contains("the event has no DeploymentId"), "\(bare.text)")

        let records = try await codeDeploy.waitForRecords(2)
        #expect(records.map { "\($0.deploymentID ?? "") \($0.status ?? "") \($0.accepted)" } == ["d-LAMBDA001 Succeeded true", "d-LAMBDA002 Failed true"])
        #expect(function.standardOutput.contains("d-LAMBDA001 (hook execution"), "the log names the deployment")
        #expect(function.standardOutput.contains("pre-traffic (HOOKRUNNER_PHASE)"))
        await runtime.stop()
        _ = try? await function.waitForExit(timeout: .seconds(10))
    }

    @Test func aPhaseStillRunningAtTheDeadlineIsReportedFailedBeforeTheInvocationEnds() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let runtime = try LambdaRuntimeAPIServer()
        let function = try bootstrap(runtime, codeDeploy.environment([
            "LAMBDA_TASK_ROOT": workspace.directory, "HOOKRUNNER_ARGS": "lambda slow",
        ]))
        defer { function.send(signal: SIGKILL) }
        // 8 s left: the phase gets 3 s (the margin is at least 5 s), CodeDeploy hears well before the end.
        let deadline = Date().addingTimeInterval(8)
        runtime.enqueue(.init(requestID: "inv-slow", body: hookEvent("d-DEADLINE1", "exec-slow"), deadline: deadline))
        let post = try #require(await runtime.waitForPost("inv-slow"))
        let answered = Date()
        #expect(post.kind == .response, "\(post.text) \(function.output)")
        let answer = try json(post.text)
        #expect(answer["result"] as? String == "deadline-exceeded")
        #expect((answer["codedeployHook"] as? [String: Any])?["status"] as? String == "Failed")
        let record = try #require(try await codeDeploy.waitForRecords(1).first)
        #expect(record.status == "Failed" && record.accepted)
        #expect(record.time < deadline.addingTimeInterval(-1), "reported \(deadline.timeIntervalSince(record.time))s before the deadline")
        #expect(answered < deadline, "answered \(deadline.timeIntervalSince(answered))s before the deadline")
        await runtime.stop()
        _ = try? await function.waitForExit(timeout: .seconds(10))
    }

    @Test func inLambdaAWrongSecretOrNoCredentialsIsAnInvocationErrorNamingTheDeployment() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let runtime = try LambdaRuntimeAPIServer()
        let wrongSecret = "wrong-secret-\(UUID().uuidString)"
        let function = try bootstrap(runtime, codeDeploy.environment(secret: wrongSecret, [
            "LAMBDA_TASK_ROOT": workspace.directory, "HOOKRUNNER_PHASE": "pre-traffic",
        ]))
        defer { function.send(signal: SIGKILL) }
        runtime.enqueue(.init(requestID: "inv-wrong", body: hookEvent("d-WRONGSIG1", "exec-wrong")))
        let wrong = try #require(await runtime.waitForPost("inv-wrong"))
        #expect(wrong.kind == .error)
        #expect(wrong.header("Lambda-Runtime-Function-Error-Type") == "HookReportError")
        #expect(wrong.text.contains("could not report Succeeded to CodeDeploy for deployment d-WRONGSIG1"), "\(wrong.text)")
        #expect(wrong.text.contains("InvalidSignatureException"))
        #expect(!wrong.text.contains(wrongSecret) && !function.output.contains(wrongSecret))
        #expect(try await codeDeploy.waitForRecords(1).map(\.signature) == ["InvalidSignatureException"])
        await runtime.stop()
        _ = try? await function.waitForExit(timeout: .seconds(10))

        try FileManager.default.removeItem(atPath: workspace.path("ran"))
        let secondRuntime = try LambdaRuntimeAPIServer()
        var bare = codeDeploy.environment(["LAMBDA_TASK_ROOT": workspace.directory, "HOOKRUNNER_PHASE": "pre-traffic"])
        bare.removeValue(forKey: "AWS_ACCESS_KEY_ID")
        bare.removeValue(forKey: "AWS_SECRET_ACCESS_KEY")
        let unsigned = try bootstrap(secondRuntime, bare)
        defer { unsigned.send(signal: SIGKILL) }
        secondRuntime.enqueue(.init(requestID: "inv-nocreds", body: hookEvent("d-NOCREDS02", "exec-nocreds")))
        let missing = try #require(await secondRuntime.waitForPost("inv-nocreds"))
        #expect(missing.kind == .error)
        #expect(missing.text.contains("cannot report to CodeDeploy for deployment d-NOCREDS02"), "\(missing.text)")
        #expect(missing.text.contains("no AWS credentials found"))
        #expect(!workspace.ran)
        #expect(codeDeploy.records.count == 1)
        await secondRuntime.stop()
        _ = try? await unsigned.waitForExit(timeout: .seconds(10))
    }

    @Test func inLambdaAnUnusableCommandLineOrFileStillReportsFailed() async throws {
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let workspace = try HookWorkspace()
        defer { workspace.remove() }
        let runtime = try LambdaRuntimeAPIServer()
        let function = try bootstrap(runtime, codeDeploy.environment(["LAMBDA_TASK_ROOT": workspace.directory, "HOOKRUNNER_ARGS": "lambda --jobs 0"]))
        defer { function.send(signal: SIGKILL) }
        runtime.enqueue(.init(requestID: "inv-args", body: hookEvent("d-BADARGS01", "exec-args")))
        let args = try #require(await runtime.waitForPost("inv-args"))
        #expect(args.kind == .response, "\(args.text)")
        let answer = try json(args.text)
        #expect(answer["result"] as? String == "error" && answer["exitCode"] as? Int == 2)
        #expect((answer["error"] as? String)?.contains("HOOKRUNNER_ARGS: --jobs: '0'") == true, "\(args.text)")
        #expect((answer["codedeployHook"] as? [String: Any])?["status"] as? String == "Failed")
        await runtime.stop()
        _ = try? await function.waitForExit(timeout: .seconds(10))

        // No phase chosen (no HOOKRUNNER_PHASE, no mapping for this function): Failed, saying why.
        let second = try LambdaRuntimeAPIServer()
        let unmapped = try bootstrap(second, codeDeploy.environment([
            "LAMBDA_TASK_ROOT": workspace.directory, "HOOKRUNNER_PHASES": "CodeDeployHook_checkout-live=post-traffic",
        ]))
        defer { unmapped.send(signal: SIGKILL) }
        second.enqueue(.init(requestID: "inv-unmapped", body: hookEvent("d-NOPHASE01", "exec-unmapped"),
                             functionARN: "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_checkout-test"))
        let none = try #require(await second.waitForPost("inv-unmapped"))
        #expect(none.kind == .response, "\(none.text)")
        #expect((try json(none.text)["error"] as? String)?.contains("HOOKRUNNER_PHASES has no entry for this function (CodeDeployHook_checkout-test)") == true,
                "\(none.text)")
        let records = try await codeDeploy.waitForRecords(2)
        #expect(records.map { "\($0.deploymentID ?? "") \($0.status ?? "") \($0.accepted)" } == ["d-BADARGS01 Failed true", "d-NOPHASE01 Failed true"])
        #expect(!workspace.ran)
        await second.stop()
        _ = try? await unmapped.waitForExit(timeout: .seconds(10))
    }

    @Test func lambdaOutsideLambdaIsAUsageError() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "AWS_LAMBDA_RUNTIME_API")
        let result = try await runProduct("hookrunner", ["lambda"], environment: environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains("AWS_LAMBDA_RUNTIME_API is not set"))
        let conflicting = try await runProduct("hookrunner", ["lambda", "--codedeploy-hook", "d-1:e"], environment: environment)
        #expect(conflicting.status == 2 && conflicting.stderr.contains("the event names the hook"), "\(conflicting.output)")
    }

    // MARK: Rules

    @Test func theTimeoutLeavesAMarginOfTenPercentBetweenFiveAndTenSeconds() {
        #expect(HookLambda.phaseTimeout(remaining: .seconds(900), requested: nil) == .seconds(890))
        #expect(HookLambda.phaseTimeout(remaining: .seconds(60), requested: nil) == .seconds(54))
        #expect(HookLambda.phaseTimeout(remaining: .seconds(20), requested: nil) == .seconds(15))
        #expect(HookLambda.phaseTimeout(remaining: .seconds(3), requested: nil) == .zero)
        #expect(HookLambda.phaseTimeout(remaining: .seconds(900), requested: .seconds(60)) == .seconds(60))
        #expect(HookLambda.phaseTimeout(remaining: .seconds(60), requested: .seconds(600)) == .seconds(54), "never past the deadline")
    }

    @Test func thePhaseComesFromTheCommandLineTheEventTheMappingThenTheFunction() throws {
        let file = try HooksFile.parse(Array(#"{"phases": {"pre-traffic": [{"tcp": "127.0.0.1:1"}], "post-traffic": [{"tcp": "127.0.0.1:1"}]}}"#.utf8),
                                       path: "hooks.json")
        func choose(line: String? = nil, event: String = "{}", arn: String? = "arn:aws:lambda:eu-west-1:123456789012:function:CodeDeployHook_checkout-hooks:live",
                    _ environment: [String: String]) throws -> HookLambda.PhaseChoice {
            try HookLambda.choosePhase(commandLine: line, event: try JSONParser().parse(Array(event.utf8)), functionARN: arn,
                                       environment: environment, file: file)
        }
        #expect(try choose(["HOOKRUNNER_PHASE": "post-traffic"]).phase == "post-traffic")
        #expect(try choose(line: "pre-traffic", ["HOOKRUNNER_PHASE": "post-traffic"]).reason == "the command line")
        let byEvent = try choose(event: #"{"LifecycleEvent": "AfterAllowTestTraffic"}"#, ["HOOKRUNNER_PHASE": "post-traffic"])
        #expect(byEvent == .init(phase: "pre-traffic", lifecycleEvent: "AfterAllowTestTraffic", reason: "the event's LifecycleEvent AfterAllowTestTraffic"))
        // The alias-qualified name before the bare one; HOOKRUNNER_PHASE when neither is mapped.
        let mapping = "CodeDeployHook_checkout-hooks=pre-traffic, CodeDeployHook_checkout-hooks:live=post-traffic"
        #expect(try choose(["HOOKRUNNER_PHASES": mapping]).phase == "post-traffic")
        #expect(try choose(arn: "arn:aws:lambda:eu-west-1:123456789012:function:CodeDeployHook_checkout-hooks", ["HOOKRUNNER_PHASES": mapping]).phase == "pre-traffic")
        #expect(try choose(arn: nil, ["HOOKRUNNER_PHASES": mapping, "AWS_LAMBDA_FUNCTION_NAME": "CodeDeployHook_checkout-hooks"]).phase == "pre-traffic")
        #expect(try choose(["HOOKRUNNER_PHASES": "other=pre-traffic", "HOOKRUNNER_PHASE": "post-traffic"]).reason == "HOOKRUNNER_PHASE")
        for (environment, message) in [
            ([:], "set HOOKRUNNER_PHASE (pre-traffic, post-traffic)"),
            (["HOOKRUNNER_PHASE": "canary"], "HOOKRUNNER_PHASE names phase 'canary'"),
            (["HOOKRUNNER_PHASES": "pre-traffic"], "HOOKRUNNER_PHASES: 'pre-traffic' is not FUNCTION=PHASE"),
            (["HOOKRUNNER_PHASES": "other=pre-traffic"], "HOOKRUNNER_PHASES has no entry for this function (CodeDeployHook_checkout-hooks)"),
        ] {
            #expect(throws: ConfigError.self) { try choose(environment) }
            do {
                _ = try choose(environment)
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        #expect(throws: ConfigError.self) { try choose(event: #"{"LifecycleEvent": "BeforeInstall"}"#, ["HOOKRUNNER_PHASE": "pre-traffic"]) }
    }

    @Test func hookIdsFromTheFlagAndFromTheEvent() throws {
        #expect(try CodeDeployHook(argument: "d-AB1CDEF23:eyJ1bmNyeXB0ZWQ=") == .init(deploymentID: "d-AB1CDEF23", executionID: "eyJ1bmNyeXB0ZWQ="))
        for bad in ["d-1", ":e", "d-1:", "d 1:e", "d-1:e\nx"] {
            #expect(throws: ValueError.self) { try CodeDeployHook(argument: bad) }
        }
        #expect(CodeDeployHook.scan(["x", "--jobs", "0", "--codedeploy-hook", "d-1:e"])?.deploymentID == "d-1")
        #expect(CodeDeployHook.scan(["--codedeploy-hook=d-2:e"])?.deploymentID == "d-2")
        #expect(CodeDeployHook.scan(["--", "--codedeploy-hook", "d-1:e"]) == nil)
        let event = try JSONParser().parse(Array(#"{"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e"}"#.utf8))
        #expect(try CodeDeployHook.parse(event: event).get() == .init(deploymentID: "d-1", executionID: "e"))
        for text in [#"[]"#, #"{"DeploymentId": "d-1"}"#, #"{"DeploymentId": "", "LifecycleEventHookExecutionId": "e"}"#,
                     #"{"DeploymentId": 7, "LifecycleEventHookExecutionId": "e"}"#] {
            let value = try JSONParser().parse(Array(text.utf8))
            #expect(throws: HookEventError.self) { try CodeDeployHook.parse(event: value).get() }
        }
        #expect(CodeDeployHook.status(forExitStatus: 0) == "Succeeded")
        for status: Int32 in [1, 2, 3, 4] { #expect(CodeDeployHook.status(forExitStatus: status) == "Failed") }
    }
}
