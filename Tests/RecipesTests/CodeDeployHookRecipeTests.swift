import Foundation
import Testing
import TestSupport

/// recipes/codedeploy-ecs-lambda: hookrunner itself as CodeDeploy's hook functions. The SAM
/// templates linted by cfn-lint (a warning fails as an error does) and transformed by
/// aws-sam-translator, what they set up held to the recipe's promises, and the hook package
/// (the binary as bootstrap, hook/hooks.json beside it) run as each function would be, against
/// a real service, a local Runtime API and a CodeDeploy that checks signatures with botocore.
extension RecipesTests {
    static let hookRecipe = recipes + "/codedeploy-ecs-lambda"

    /// The parts of recipes_lint.py --cloudformation's facts these tests read.
    struct HookFacts: Decodable {
        struct Function: Decodable {
            var id: String
            var runtime: String?
            var handler: String?
            var timeout: Int?
            var role: String?
            var environment: [String: String]
            var logGroup: String?
            var functionName: String?
        }

        struct Alias: Decodable {
            var name: String?
            var function: String?
            var application: String?
            var deploymentGroup: String?
            var beforeAllowTrafficHook: String?
            var afterAllowTrafficHook: String?
        }

        struct DeploymentGroup: Decodable {
            var id: String
            var application: String?
            var deploymentConfig: String?
            var alarms: [String]
            var autoRollbackEvents: [String]
        }

        struct Alarm: Decodable {
            var id: String
            var namespace: String?
            var metric: String?
            var dimensions: [String: String]
        }

        var resources: [String: String]
        var functions: [Function]
        var aliases: [Alias]
        var deploymentGroups: [DeploymentGroup]
        var alarms: [Alarm]
        var roles: [CloudFormation.Role]
        var codeUri: [String: String]
        var transformed: Bool

        func function(_ id: String) -> Function? { functions.first { $0.id == id } }
        func role(_ id: String) -> CloudFormation.Role? { roles.first { $0.id == id } }
        /// The hook functions: those running hookrunner lambda.
        var hooks: [Function] { functions.filter { $0.environment["HOOKRUNNER_PHASE"] != nil } }
    }

    /// What a hook role holds: reporting on `deploymentGroup` and writing its log, nothing else.
    static func expectHookRole(_ role: CloudFormation.Role?, deploymentGroup: String, _ file: String) {
        #expect(role?.services == ["lambda.amazonaws.com"], "\(file)")
        #expect(role?.managedPolicies == [], "\(file): no managed policy (AWSLambdaBasicExecutionRole would allow logs on *)")
        #expect(role?.grants == [
            "codedeploy:PutLifecycleEventHookExecutionStatus": [deploymentGroup],
            "logs:CreateLogStream": ["${HookLogGroup.Arn}"], "logs:PutLogEvents": ["${HookLogGroup.Arn}"],
        ], "\(file): \(role?.grants ?? [:])")
    }

    /// What both templates' hook functions share: the release binary as bootstrap on
    /// provided.al2023, hook/ as the package, the shared role and log group, a name CodeDeploy's
    /// managed role may invoke, and a timeout that leaves hookrunner minutes.
    static func expectHookFunction(_ function: HookFacts.Function, codeUri: String?, _ file: String) {
        #expect(function.runtime == "provided.al2023" && function.handler == "bootstrap", "\(file) \(function.id)")
        #expect(codeUri == "hook/", "\(file) \(function.id): the folder with bootstrap and hooks.json")
        #expect(function.role == "${HookRole.Arn}" && function.logGroup == "${HookLogGroup}", "\(file) \(function.id)")
        #expect(function.functionName?.hasPrefix("CodeDeployHook_${ServiceName}-") == true, "\(file) \(function.id): \(function.functionName ?? "no name")")
        #expect((60...900).contains(function.timeout ?? 0), "\(file) \(function.id): timeout \(function.timeout ?? 0)")
        #expect(function.environment["HOOKRUNNER_ARGS"] == nil, "the default, lambda")
        #expect(function.environment["VERSION"] == "${Version}")
    }

    @Test func hookTemplatesPassCfnLintWithoutAWarning() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var paths: [String] = []
        for name in ["template", "ecs-hooks"] {
            let transformed = "\(directory)/\(name).transformed.json"
            _ = try await Self.cloudFormation("\(Self.hookRecipe)/\(name).yaml", as: HookFacts.self, writingTransformedTo: transformed)
            paths += ["\(Self.hookRecipe)/\(name).yaml", transformed]
        }
        for path in paths {
            let (status, output) = try await Self.cfnLint(path)
            #expect(status == 0, "cfn-lint \(path): \(Self.lintVerdict(status))\n\(output)")
        }

        // The hooks cannot depend on the alias CodeDeploy moves (its update names them): the
        // linter finds the cycle that the alias's own URL in a hook's variables would make.
        let template = try String(contentsOfFile: "\(Self.hookRecipe)/template.yaml", encoding: .utf8)
        let cyclic = template.replacingOccurrences(of: "          LIVE_URL: !Ref LiveUrl\n", with: "          LIVE_URL: !GetAtt CheckoutFunctionUrl.FunctionUrl\n")
        #expect(cyclic != template)
        let path = "\(directory)/cyclic.yaml"
        try cyclic.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try await Self.cfnLint(path)
        #expect(status & 2 != 0 && output.contains("E3004"), "\(Self.lintVerdict(status))\n\(output)")
    }

    @Test func samTemplateShiftsInCanaryStepsWithHookrunnerAsBothHooks() async throws {
        let file = "template.yaml"
        let template = try await Self.cloudFormation("\(Self.hookRecipe)/\(file)", as: HookFacts.self)
        #expect(template.transformed)

        // The alias CodeDeploy moves, with the two hooks around the shift.
        let alias = try #require(template.aliases.first)
        #expect(template.aliases.count == 1)
        #expect(alias.name == "live" && alias.function == "${CheckoutFunction}")
        #expect(alias.beforeAllowTrafficHook == "${PreTrafficHook}" && alias.afterAllowTrafficHook == "${PostTrafficHook}")
        #expect(alias.application == "${ServerlessDeploymentApplication}" && alias.deploymentGroup == "${CheckoutFunctionDeploymentGroup}")

        let group = try #require(template.deploymentGroups.first)
        #expect(group.id == "CheckoutFunctionDeploymentGroup")
        #expect(group.deploymentConfig == "CodeDeployDefault.LambdaCanary10Percent5Minutes")
        #expect(group.alarms == ["${CheckoutErrorsAlarm}"])
        #expect(Set(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]).isSubset(of: group.autoRollbackEvents), "a failed hook or the alarm rolls back")
        let alarm = try #require(template.alarms.first { $0.id == "CheckoutErrorsAlarm" })
        #expect(alarm.namespace == "AWS/Lambda" && alarm.metric == "Errors")
        #expect(alarm.dimensions["Resource"] == "${CheckoutFunction}:live" && alarm.dimensions["FunctionName"] == "${CheckoutFunction}")
        #expect(alarm.dimensions["ExecutedVersion"]?.hasPrefix("${CheckoutFunctionVersion") == true, "the new version's errors")

        let pre = try #require(template.function("PreTrafficHook"))
        let post = try #require(template.function("PostTrafficHook"))
        #expect(template.hooks.map(\.id).sorted() == ["PostTrafficHook", "PreTrafficHook"])
        for hook in [pre, post] { Self.expectHookFunction(hook, codeUri: template.codeUri[hook.id], file) }
        #expect(pre.environment["HOOKRUNNER_PHASE"] == "pre-traffic" && post.environment["HOOKRUNNER_PHASE"] == "post-traffic")
        #expect(pre.environment["TEST_URL"] == "https://Select(2, Split(/, ${CandidateUrl.FunctionUrl}))", "the new code before the alias moves")
        #expect(post.environment["LIVE_URL"] == "${LiveUrl}")
        #expect(template.resources["CandidateUrl"] == "AWS::Lambda::Url")
        Self.expectHookRole(template.role("HookRole"), deploymentGroup:
            "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${ServerlessDeploymentApplication}/${CheckoutFunctionDeploymentGroup}",
            file)
    }

    @Test func ecsAppSpecCallsTheHookFunctionsOfItsTemplate() async throws {
        let file = "ecs-hooks.yaml"
        let template = try await Self.cloudFormation("\(Self.hookRecipe)/\(file)", as: HookFacts.self)
        let test = try #require(template.function("TestTrafficHook"))
        let live = try #require(template.function("LiveTrafficHook"))
        for hook in [test, live] { Self.expectHookFunction(hook, codeUri: template.codeUri[hook.id], file) }
        #expect(test.environment["HOOKRUNNER_PHASE"] == "pre-traffic" && test.environment["TEST_URL"] == "${TestUrl}")
        #expect(live.environment["HOOKRUNNER_PHASE"] == "post-traffic" && live.environment["LIVE_URL"] == "${LiveUrl}")
        Self.expectHookRole(template.role("HookRole"), deploymentGroup:
            "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${CodeDeployApplication}/${CodeDeployDeploymentGroup}",
            file)

        // appspec-ecs.yaml names the functions as the template does with ServiceName's default,
        // each at the event whose phase it runs.
        let appspec = try String(contentsOfFile: "\(Self.hookRecipe)/appspec-ecs.yaml", encoding: .utf8)
        let hooks = appspec.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0].hasPrefix("- "), parts[1].hasPrefix("\"") else { return nil }
            return (String(parts[0].dropFirst(2)), parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
        let named = { (function: HookFacts.Function) in function.functionName?.replacingOccurrences(of: "${ServiceName}", with: "checkout") }
        #expect(hooks.map(\.0) == ["AfterAllowTestTraffic", "AfterAllowTraffic"])
        #expect(hooks.map(\.1) == [named(test), named(live)], "\(hooks)")
    }

    @Test func theHookPackageRunsAsEachFunctionAndReportsToCodeDeploy() async throws {
        let lambda = try await Self.cloudFormation("\(Self.hookRecipe)/template.yaml", as: HookFacts.self)
        let ecs = try await Self.cloudFormation("\(Self.hookRecipe)/ecs-hooks.yaml", as: HookFacts.self)
        let codeDeploy = try await SignedCodeDeploy()
        defer { codeDeploy.stop() }
        let (service, port) = try await ExampleService.launch(version: "1.4.2")
        defer { service.send(signal: SIGKILL) }
        let url = "http://127.0.0.1:\(port)"

        /// One invocation of a function as the template configures it (parameters filled in),
        /// the recipe's hook/ folder as its package; what CodeDeploy was told.
        func invoke(_ function: HookFacts.Function, version: String, deployment: String) async throws -> (post: LambdaRuntimeAPIServer.Post?, log: String) {
            var environment = Self.environment(["LAMBDA_TASK_ROOT": "\(Self.hookRecipe)/hook"]).filter { !$0.key.hasPrefix("AWS_") }
            for (name, value) in function.environment {
                environment[name] = value == "${Version}" ? version : name.hasSuffix("_URL") ? url : value
            }
            let runtime = try LambdaRuntimeAPIServer()
            let bootstrap = ChildProcess(try Products.executable("hookrunner"), [],
                                         environment: codeDeploy.environment(environment.merging(runtime.environment) { _, new in new }))
            try bootstrap.start()
            defer { bootstrap.send(signal: SIGKILL) }
            runtime.enqueue(.init(requestID: deployment, body: #"{"DeploymentId": "\#(deployment)", "LifecycleEventHookExecutionId": "eyJ\#(deployment)"}"#))
            let post = await runtime.waitForPost(deployment)
            await runtime.stop()
            _ = try? await bootstrap.waitForExit(timeout: .seconds(10))
            return (post, bootstrap.output)
        }

        let functions = lambda.hooks + ecs.hooks
        #expect(functions.count == 4)
        for (index, function) in functions.enumerated() {
            let (post, log) = try await invoke(function, version: "1.4.2", deployment: "d-RECIPE00\(index)")
            #expect(post?.kind == .response, "\(function.id): \(post?.text ?? "no answer") \(log)")
            #expect(log.contains("\(function.environment["HOOKRUNNER_PHASE"] ?? "?") (HOOKRUNNER_PHASE)"), "\(function.id): \(log)")
        }
        let (failed, log) = try await invoke(try #require(ecs.function("TestTrafficHook")), version: "9.9.9", deployment: "d-RECIPE0XX")
        #expect(failed?.kind == .response)
        #expect(log.contains("expected 9.9.9"), "\(log)")
        let records = try await codeDeploy.waitForRecords(5)
        #expect(records.map { "\($0.deploymentID ?? "") \($0.status ?? "") \($0.accepted)" } == [
            "d-RECIPE000 Succeeded true", "d-RECIPE001 Succeeded true", "d-RECIPE002 Succeeded true", "d-RECIPE003 Succeeded true",
            "d-RECIPE0XX Failed true",
        ])
    }
}
