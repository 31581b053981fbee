import Foundation
import Testing
import TestSupport

/// recipes/aws-scheduled-watch: the SAM and Fargate templates linted by the real cfn-lint (a
/// warning fails as an error does), the SAM template transformed by aws-sam-translator, and what
/// both set up held to the watcher's least-privilege policy. Without cfn-lint or
/// aws-sam-translator these tests fail, saying what to install.
extension RecipesTests {
    static let awsRecipe = recipes + "/aws-scheduled-watch"
    static let installCloudFormationTools = "pip install cfn-lint aws-sam-translator"

    /// cfn-lint, aws-sam-translator and PyYAML, installed from PyPI when missing.
    static func ensureTools() async throws {
        try await PythonPackages.ensure(modules: ["cfnlint", "samtranslator", "yaml"], packages: ["cfn-lint", "aws-sam-translator", "PyYAML"])
    }

    /// What recipes_lint.py --cloudformation reports a template sets up (after the SAM transform
    /// when it has one); references read `${Name}`, attributes `${Name.Attribute}`.
    struct CloudFormation: Decodable {
        struct Table: Decodable {
            var id: String
            var keySchema: [String]
            var attributes: [String]
            var billingMode: String?
            var pointInTimeRecovery: Bool
            var deletionProtection: Bool
            var deletionPolicy: String?
            var updateReplacePolicy: String?
            var globalSecondaryIndexes: Int
        }

        struct Statement: Decodable {
            var sid: String?
            var effect: String?
            var actions: [String]
            var resources: [String]
            /// The template condition the statement exists under (an `Fn::If` around it).
            var condition: String?
            /// Whether the statement has an IAM `Condition`.
            var iamCondition: Bool
        }

        struct Role: Decodable {
            var id: String
            var services: [String]
            var trustConditions: [Bool]
            var managedPolicies: [String]
            var statements: [Statement]

            /// Each action with the resources the role's statements allow it on.
            var grants: [String: [String]] {
                var grants: [String: [String]] = [:]
                for statement in statements {
                    for action in statement.actions { grants[action, default: []] += statement.resources }
                }
                return grants
            }
        }

        struct Function: Decodable {
            var id: String
            var runtime: String?
            var handler: String?
            var architectures: [String]
            var memorySize: Int?
            var timeout: Int?
            var role: String?
            var environment: [String: String]
            var logGroup: String?
        }

        struct Schedule: Decodable {
            var id: String
            var expression: String?
            var flexibleTimeWindow: String?
            var target: String?
            var role: String?
            var launchType: String?
            var taskDefinition: String?
            var network: [String: String]
        }

        struct Container: Decodable {
            var taskDefinition: String
            var compatibilities: [String]
            var taskRole: String?
            var executionRole: String?
            var image: String?
            var command: [String]
            var logDriver: String?
            var logGroup: String?
        }

        var resources: [String: String]
        var parameters: [String: [String]]
        var tables: [Table]
        var roles: [Role]
        var functions: [Function]
        var schedules: [Schedule]
        var containers: [Container]
        var transformed: Bool
        var codeUri: [String: String]

        func role(_ id: String) -> Role? { roles.first { $0.id == id } }
    }

    /// recipes_lint.py --cloudformation on TEMPLATE, the transformed template written to
    /// `transformedPath` when given.
    static func cloudFormation(_ template: String, writingTransformedTo transformedPath: String? = nil) async throws -> CloudFormation {
        try await cloudFormation(template, as: CloudFormation.self, writingTransformedTo: transformedPath)
    }

    /// The same facts, decoded as `Facts` (another recipe's test reads other parts of them).
    static func cloudFormation<Facts: Decodable>(_ template: String, as: Facts.Type,
                                                 writingTransformedTo transformedPath: String? = nil) async throws -> Facts {
        try await ensureTools()
        let script = root.appendingPathComponent("Tests/RecipesTests/recipes_lint.py").path
        let python = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                  ["nice", "-n", "19", "python3", script, "--cloudformation", template] + (transformedPath.map { ["--write-transformed", $0] } ?? []))
        let status = try await python.run(timeout: .seconds(120))
        guard status == 0 else {
            let hint = python.standardError.contains(installCloudFormationTools) ? "" : " (the tests need `\(installCloudFormationTools)`)"
            throw TestFailure("recipes_lint.py --cloudformation \(template) exited \(status): \(python.standardError)\(hint)")
        }
        return try JSONDecoder().decode(Facts.self, from: Data(python.standardOutput.utf8))
    }

    /// cfn-lint on PATH with every finding counted (`--non-zero-exit-code informational`): the
    /// status is 0 when clean, otherwise the sum of 2 (errors), 4 (warnings) and 8
    /// (informational findings); 1 when cfn-lint itself failed.
    static func cfnLint(_ path: String) async throws -> (status: Int32, output: String) {
        try await ensureTools()
        let lint = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                ["nice", "-n", "19", "cfn-lint", "--non-zero-exit-code", "informational", "--format", "parseable", "--", path])
        let status = try await lint.run(timeout: .seconds(180))
        if status == 127 {
            throw TestFailure("cfn-lint is not installed here (\(lint.standardError.trimmingCharacters(in: .whitespacesAndNewlines))): \(installCloudFormationTools)")
        }
        return (status, lint.output)
    }

    /// cfn-lint's exit status in words: which kinds of findings it had.
    static func lintVerdict(_ status: Int32) -> String {
        if status == 1 { return "cfn-lint failed" }
        let kinds = [(2, "errors"), (4, "warnings"), (8, "informational findings")].filter { status & $0.0 != 0 }.map(\.1)
        return kinds.isEmpty ? "exit \(status)" : kinds.joined(separator: ", ")
    }

    /// The watcher's policy, identical in both templates: each action on its own resource, `*`
    /// nowhere (CodeDeploy's three actions take application and deployment-group ARNs).
    static func watcherGrants(stateTable: [String]) -> [String: [String]] {
        let application = "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:application:${CodeDeployApplication}"
        let deploymentGroup = "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${CodeDeployApplication}/${CodeDeployDeploymentGroups}"
        var grants = ["s3:GetObject": ["arn:${AWS::Partition}:s3:::${ManifestBucket}/${ManifestKey}"],
                      "codedeploy:ListDeploymentGroups": [application],
                      "codedeploy:ListDeployments": [deploymentGroup],
                      "codedeploy:BatchGetDeployments": [deploymentGroup]]
        // TransactWriteItems has no IAM action of its own: it is authorized by PutItem,
        // UpdateItem, DeleteItem and ConditionCheckItem on each item it writes.
        for action in ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem",
                       "ConditionCheckItem", "DescribeTable"] {
            grants["dynamodb:" + action] = stateTable
        }
        return grants
    }

    /// What both templates' watcher roles must hold besides the exact grants.
    static func expectLeastPrivilege(_ role: CloudFormation.Role, _ file: String) {
        #expect(role.managedPolicies.isEmpty, "\(file) \(role.id): managed policies \(role.managedPolicies)")
        for statement in role.statements {
            #expect(statement.effect == "Allow", "\(file) \(role.id) \(statement.sid ?? "")")
            #expect(!statement.actions.contains { $0.contains("*") }, "\(file) \(role.id): \(statement.actions)")
            let codeDeploy = statement.actions.allSatisfy { $0.hasPrefix("codedeploy:") }
            #expect(statement.condition == (codeDeploy ? "UsesCodeDeploy" : nil),
                    "\(file) \(role.id) \(statement.sid ?? ""): CodeDeploy's statements exist only when an application is named")
        }
        for (action, resources) in role.grants {
            #expect(!resources.isEmpty && !resources.contains { $0.contains("*") }, "\(file) \(role.id): \(action) on \(resources)")
            #expect(!["dynamodb:Scan", "dynamodb:CreateTable", "dynamodb:*"].contains(action), "\(file) \(role.id): \(action)")
        }
    }

    /// The state table both templates create: versioncheck's key schema, on demand, kept.
    static func expectStateTable(_ table: CloudFormation.Table?, _ file: String) {
        #expect(table?.keySchema == ["pk HASH", "sk RANGE"], "\(file): the key schema versioncheck state init creates")
        #expect(table?.attributes == ["pk S", "sk S"], "\(file)")
        #expect(table?.billingMode == "PAY_PER_REQUEST", "\(file)")
        #expect(table?.globalSecondaryIndexes == 0, "\(file): no index, so the policy names the table alone")
        // The audit trail survives the stack.
        #expect(table?.pointInTimeRecovery == true && table?.deletionProtection == true, "\(file)")
        #expect(table?.deletionPolicy == "Retain" && table?.updateReplacePolicy == "Retain", "\(file)")
    }

    @Test func awsTemplatesPassCfnLintWithoutAWarning() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // cfn-lint lints a SAM template after its own transform but leaves some rules out there
        // (an action IAM does not have goes unnoticed); the transformed template is linted too.
        let transformed = "\(directory)/template.transformed.json"
        _ = try await Self.cloudFormation("\(Self.awsRecipe)/template.yaml", writingTransformedTo: transformed)
        for path in ["\(Self.awsRecipe)/template.yaml", "\(Self.awsRecipe)/fargate.yaml", transformed] {
            let (status, output) = try await Self.cfnLint(path)
            #expect(status == 0, "cfn-lint \(path): \(Self.lintVerdict(status))\n\(output)")
        }

        // The linter is real and strict: an unknown property is an error, an action IAM does not
        // have is a warning, and either fails.
        let fargate = try String(contentsOfFile: "\(Self.awsRecipe)/fargate.yaml", encoding: .utf8)
        let mistakes = [
            ("      BillingMode: PAY_PER_REQUEST\n", "      BillingMode: PAY_PER_REQUEST\n      Billing: ON_DEMAND\n", Int32(2)),
            ("                  - dynamodb:ConditionCheckItem\n",
             "                  - dynamodb:ConditionCheckItem\n                  - dynamodb:TransactWriteItems\n", Int32(4)),
        ]
        for (index, (line, replacement, expected)) in mistakes.enumerated() {
            let wrong = fargate.replacingOccurrences(of: line, with: replacement)
            #expect(wrong != fargate)
            let path = "\(directory)/wrong-\(index).yaml"
            try wrong.write(toFile: path, atomically: true, encoding: .utf8)
            let (status, output) = try await Self.cfnLint(path)
            #expect(status == expected, "\(replacement): \(Self.lintVerdict(status))\n\(output)")
        }
    }

    @Test func samTemplateTransformsToTheWatcherFunctionOnAFiveMinuteSchedule() async throws {
        let file = "template.yaml"
        let template = try await Self.cloudFormation("\(Self.awsRecipe)/\(file)")
        #expect(template.transformed)
        #expect(template.codeUri == ["WatcherFunction": "lambda/"], "the folder the README has dist/versioncheck copied to as bootstrap")
        #expect(template.parameters["Architecture"] == ["x86_64", "arm64"])

        #expect(template.functions.count == 1)
        let function = try #require(template.functions.first)
        #expect(function.runtime == "provided.al2023" && function.handler == "bootstrap")
        #expect(function.architectures == ["${Architecture}"])
        #expect(function.memorySize == 256)
        #expect((60...120).contains(function.timeout ?? 0), "timeout \(function.timeout ?? 0)")
        #expect(function.role == "${WatcherRole.Arn}")
        #expect(function.logGroup == "${WatcherLogGroup}")
        #expect(function.environment["VERSIONCHECK_ARGS"]
            == "watch --once --manifest s3://${ManifestBucket}/${ManifestKey} --state dynamodb://${StateTable} --deliver-within 45s")
        #expect(function.environment["SLACK_WEBHOOK_URL"]?.contains("{{resolve:secretsmanager:${SlackWebhookSecret}}}") == true,
                "the webhook from Secrets Manager, not from a parameter")

        #expect(template.schedules.count == 1)
        let schedule = try #require(template.schedules.first)
        #expect(template.resources[schedule.id] == "AWS::Scheduler::Schedule", "EventBridge Scheduler (ScheduleV2)")
        #expect(schedule.expression == "rate(5 minutes)" && schedule.flexibleTimeWindow == "OFF")
        #expect(schedule.target == "${WatcherFunction.Arn}")
        let invokerID = schedule.role.flatMap { $0.hasPrefix("${") && $0.hasSuffix(".Arn}") ? String($0.dropFirst(2).dropLast(5)) : nil }
        let invoker = try #require(invokerID.flatMap { template.role($0) }, "the role SAM made for the schedule: \(schedule.role ?? "none")")
        #expect(invoker.services == ["scheduler.amazonaws.com"])
        #expect(invoker.grants == ["lambda:InvokeFunction": ["${WatcherFunction.Arn}"]])

        #expect(template.tables.count == 1)
        Self.expectStateTable(template.tables.first, file)

        let role = try #require(template.role("WatcherRole"))
        #expect(role.services == ["lambda.amazonaws.com"])
        var expected = Self.watcherGrants(stateTable: ["${StateTable.Arn}"])
        expected["logs:CreateLogStream"] = ["${WatcherLogGroup.Arn}"]
        expected["logs:PutLogEvents"] = ["${WatcherLogGroup.Arn}"]
        #expect(role.grants == expected)
        Self.expectLeastPrivilege(role, file)
        #expect(Set(template.resources.values) == ["AWS::DynamoDB::Table", "AWS::Logs::LogGroup", "AWS::IAM::Role", "AWS::Lambda::Function",
                                                  "AWS::Lambda::EventInvokeConfig", "AWS::Scheduler::Schedule"], "\(template.resources)")
    }

    @Test func fargateTemplateRunsTheSameWatcherAsAScheduledTask() async throws {
        let file = "fargate.yaml"
        let template = try await Self.cloudFormation("\(Self.awsRecipe)/\(file)")
        #expect(!template.transformed)

        #expect(template.containers.count == 1)
        let container = try #require(template.containers.first)
        #expect(container.compatibilities == ["FARGATE"])
        #expect(container.image == "${Image}")
        #expect(container.command == ["watch", "--once", "--manifest", "s3://${ManifestBucket}/${ManifestKey}",
                                      "--state", "dynamodb://If(CreateStateTable, ${StateTable}, ${ExistingStateTable})",
                                      "--deliver-within", "60s"])
        #expect(container.logDriver == "awslogs" && container.logGroup == "${WatcherLogGroup}")
        #expect(container.taskRole == "${TaskRole.Arn}" && container.executionRole == "${ExecutionRole.Arn}")

        #expect(template.schedules.count == 1)
        let schedule = try #require(template.schedules.first)
        #expect(schedule.expression == "rate(5 minutes)" && schedule.flexibleTimeWindow == "OFF")
        #expect(schedule.target == "${Cluster.Arn}" && schedule.role == "${SchedulerRole.Arn}")
        #expect(schedule.launchType == "FARGATE" && schedule.taskDefinition == "${\(container.taskDefinition)}")
        #expect(schedule.network == ["Subnets": "${Subnets}", "SecurityGroups": "${SecurityGroups}", "AssignPublicIp": "${AssignPublicIp}"])

        // The scheduler starts this task definition (in this cluster) and hands over the two roles.
        let scheduler = try #require(template.role("SchedulerRole"))
        #expect(scheduler.services == ["scheduler.amazonaws.com"])
        #expect(scheduler.grants == ["ecs:RunTask": ["${TaskDefinition}"], "iam:PassRole": ["${TaskRole.Arn}", "${ExecutionRole.Arn}"]])
        #expect(scheduler.statements.map(\.iamCondition) == [true, true], "RunTask in the cluster only, PassRole to ECS tasks only")

        Self.expectStateTable(template.tables.first, file)
        let task = try #require(template.role("TaskRole"))
        #expect(task.services == ["ecs-tasks.amazonaws.com"])
        #expect(task.grants == Self.watcherGrants(stateTable: [
            "${StateTable.Arn}", "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ExistingStateTable}",
        ]))
        Self.expectLeastPrivilege(task, file)

        // Pulling the image, writing the log, reading the webhook secret; `*` only where ECR
        // has no resource to name.
        let execution = try #require(template.role("ExecutionRole"))
        #expect(execution.grants == [
            "logs:CreateLogStream": ["${WatcherLogGroup.Arn}"], "logs:PutLogEvents": ["${WatcherLogGroup.Arn}"],
            "ecr:GetAuthorizationToken": ["*"],
            "ecr:BatchGetImage": ["arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${EcrRepository}"],
            "ecr:GetDownloadUrlForLayer": ["arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${EcrRepository}"],
            "secretsmanager:GetSecretValue": ["${SlackWebhookSecretArn}"],
        ])
        for role in [task, execution, scheduler] {
            #expect(role.trustConditions == [true], "\(role.id): assumed for this account only (aws:SourceAccount)")
        }
    }

    @Test func awsCommandLinesAreFoundAndAccepted() async throws {
        guard let lint = try await Self.lint() else {
            Issue.record("python3 with PyYAML is needed: \(Self.installCloudFormationTools) brings it")
            return
        }
        let expected = [
            "recipes/aws-scheduled-watch/template.yaml: WatcherFunction VERSIONCHECK_ARGS":
                ["versioncheck", "watch", "--once", "--manifest", "s3://X/fleet.json", "--state", "dynamodb://X", "--deliver-within", "45s"],
            "recipes/aws-scheduled-watch/fargate.yaml: TaskDefinition versioncheck":
                ["versioncheck", "watch", "--once", "--manifest", "s3://X/fleet.json", "--state", "dynamodb://X", "--deliver-within", "60s"],
        ]
        for (file, argv) in expected {
            let found = lint.commands.filter { $0.file == file }
            #expect(found.map(\.argv) == [argv], "\(file): \(lint.commands.map(\.file))")
            let result = try await runProduct("versioncheck", Array(argv.dropFirst()) + ["--help"])
            #expect(result.status == 0, "\(file): \(result.stderr)")
        }
        #expect(lint.embedded.contains { $0.file == "recipes/aws-scheduled-watch/fleet.json" && $0.kind == "manifest" })
    }
}
