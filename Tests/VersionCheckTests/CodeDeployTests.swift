import DeployVerifyKit
import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import VersionCheck

private typealias Deployment = CodeDeployStandIn.Deployment

/// A watch set-up for CodeDeploy notifications: a temporary directory with the manifest and the
/// state, and the environment `versioncheck` gets (AWS pointed at the CodeDeploy stand-in, or at
/// moto for DynamoDB with CodeDeploy at the stand-in).
private final class NotificationFixture: @unchecked Sendable {
    let directory: String
    var environment: [String: String]
    private let output = Locked("")
    /// Everything the versioncheck runs of this fixture printed.
    var printed: String { output.current }

    init(codeDeploy: CodeDeployStandIn, moto: MotoServer? = nil, extra: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "codedeploy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let moto {
            environment = moto.environment(["AWS_ENDPOINT_URL_CODEDEPLOY": codeDeploy.url])
        } else {
            environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
            environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
            environment["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
            environment["AWS_REGION"] = "us-east-1"
            environment["AWS_ENDPOINT_URL_CODEDEPLOY"] = codeDeploy.url
            environment["AWS_EC2_METADATA_DISABLED"] = "true"
            environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/deployverify-tests/credentials"
            environment["AWS_CONFIG_FILE"] = "/nonexistent/deployverify-tests/config"
        }
        environment.merge(extra) { _, new in new }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var manifestPath: String { "\(directory)/fleet.json" }
    var state: String { "\(directory)/state" }

    func writeManifest(_ text: String) throws {
        try text.write(toFile: manifestPath, atomically: true, encoding: .utf8)
    }

    func versioncheck(_ arguments: [String]) async throws -> CommandResult {
        let result = try await runProduct("versioncheck", arguments, environment: environment)
        output.withLock { $0 += result.output }
        return result
    }

    /// One `watch --once` cycle on `state` (a directory by default).
    func cycle(state: String? = nil, _ extra: [String] = []) async throws -> CommandResult {
        try await versioncheck(["watch", "--once", "--manifest", manifestPath, "--state", state ?? self.state] + extra)
    }

    func loop(_ extra: [String]) throws -> ChildProcess {
        let process = ChildProcess(try Products.executable("versioncheck"),
                                   ["watch", "--manifest", manifestPath, "--state", state] + extra, environment: environment)
        try process.start()
        return process
    }
}

private func now() -> Double { Date().timeIntervalSince1970 }

private let s3Revision = #"{"revisionType": "S3", "s3Location": {"bucket": "releases-bucket", "key": "checkout/1.4.2.zip", "bundleType": "zip", "version": "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd", "eTag": "a1b2c3d4"}}"#
private let gitHubRevision = #"{"revisionType": "GitHub", "gitHubLocation": {"repository": "example/checkout", "commitId": "56c9700d0f1e2d3c4b5a69788796a5b4c3d2e1f0"}}"#
private let healthMessage = "The overall deployment failed because too many individual instances failed deployment, too few healthy instances are available for deployment, or some instances in your deployment group are experiencing problems."

/// A deployment that ended now (or `offset` seconds from now) after `seconds` of running.
private func ended(_ id: String, _ group: String, status: String, seconds: Double = 252, offset: Double = 0,
                   application: String = "checkout") -> Deployment {
    let end = ((now() + offset) * 1000).rounded() / 1000 // whole milliseconds, as CodeDeploy's times
    var deployment = Deployment(id: id, application: application, group: group, status: status, createTime: end - seconds - 5)
    deployment.startTime = end - seconds
    deployment.completeTime = end
    deployment.revision = gitHubRevision
    return deployment
}

/// Waits until the process has printed `count` cycle lines in all.
private func waitForCycles(_ process: ChildProcess, _ count: Int, timeout: Duration = .seconds(30)) async throws {
    let deadline = ContinuousClock.now + timeout
    while process.standardOutput.components(separatedBy: "  cycle: ").count - 1 < count {
        guard ContinuousClock.now < deadline else { throw TestFailure("fewer than \(count) cycles: \(process.output)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}

private func json(_ response: RawResponse) -> [String: Any] { response.json ?? [:] }

@Suite("CodeDeploy deployment notifications", .serialized)
struct CodeDeployTests {
    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    // MARK: The client

    @Test func theClientCreatesListsAndReadsDeploymentsAtSignatureCheckingMoto() async throws {
        let moto = try await MotoServer.shared()
        let client = try AWSClient(environment: moto.environment())
        let application = Self.unique("checkout")
        #expect(try await client.createApplication(application) != nil)
        for group in ["prod", "staging"] {
            try await client.createDeploymentGroup(application: application, group: group,
                                                   serviceRole: "arn:aws:iam::123456789012:role/CodeDeployService")
        }
        #expect(try await client.listDeploymentGroups(application: application).sorted() == ["prod", "staging"])

        // More than one BatchGetDeployments holds (25).
        var created: [String] = []
        for index in 0..<27 {
            created.append(try await client.createDeployment(
                application: application, group: "prod",
                revision: .s3(bucket: "releases", key: "checkout/1.4.\(index).zip", version: "v\(index)", eTag: nil, bundleType: "zip"),
                description: "release 1.4.\(index)"))
        }
        let github = try await client.createDeployment(application: application, group: "staging",
                                                       revision: .gitHub(repository: "example/checkout", commitID: "56c9700d"))
        let listed = try await client.listDeployments(application: application, group: "prod", createdAfter: Date() - 3600)
        #expect(Set(listed) == Set(created))
        #expect(try await client.listDeployments(application: application, group: "staging") == [github])

        let before = client.requestsSent["CodeDeploy", default: 0]
        let deployments = try await client.batchGetDeployments(created + [github, "d-UNKNOWN00"])
        #expect(client.requestsSent["CodeDeploy", default: 0] - before == 2, "28 ids in two calls of at most 25")
        #expect(deployments.map(\.id) == created + [github], "in the order asked, unknown ids left out")
        let first = try #require(deployments.first)
        #expect(first.application == application && first.group == "prod")
        #expect(first.status == "Created" && !first.isTerminal && first.duration == nil)
        #expect(first.creator == "user")
        #expect(first.revision == .s3(bucket: "releases", key: "checkout/1.4.0.zip", version: "v0", eTag: nil, bundleType: "zip"))
        #expect(first.revision?.text == "s3://releases/checkout/1.4.0.zip (version v0)")
        #expect(first.note == "release 1.4.0")
        let createTime = try #require(first.createTime)
        #expect(abs(createTime.timeIntervalSinceNow) < 300)
        #expect(deployments.last?.revision == .gitHub(repository: "example/checkout", commitID: "56c9700d"))
        #expect(deployments.last?.revision?.location == "example/checkout@56c9700d")
    }

    @Test func pagesAreFollowedBatchesChunkedAndTheHookStatusReported() async throws {
        let codeDeploy = try CodeDeployStandIn(pageSize: 2)
        codeDeploy.addGroup("blue", application: "api")
        codeDeploy.addGroup("green", application: "api")
        codeDeploy.addGroup("canary", application: "api")
        let start = now()
        for index in 0..<30 {
            var deployment = ended("d-\(1000 + index)", "blue", status: index % 3 == 0 ? "Failed" : "Succeeded", application: "api")
            deployment.createTime = start - Double(index * 60)
            codeDeploy.put(deployment)
        }
        let fixture = try NotificationFixture(codeDeploy: codeDeploy)
        let client = try AWSClient(environment: fixture.environment)
        #expect(try await client.listDeploymentGroups(application: "api") == ["blue", "green", "canary"])
        #expect(codeDeploy.bodies("ListDeploymentGroups").map { $0["nextToken"] as? String } == [nil, "page-2"])

        let failed = try await client.listDeployments(application: "api", group: "blue", createdAfter: Date(timeIntervalSince1970: start - 600),
                                                      statuses: ["Failed"])
        #expect(failed == ["d-1000", "d-1003", "d-1006", "d-1009"], "created within 10 minutes, failed")
        let request = try #require(codeDeploy.bodies("ListDeployments").first)
        #expect(request["applicationName"] as? String == "api" && request["deploymentGroupName"] as? String == "blue")
        #expect(request["includeOnlyStatuses"] as? [String] == ["Failed"])
        let range = try #require(request["createTimeRange"] as? [String: Any])
        #expect((range["start"] as? NSNumber)?.doubleValue == (start - 600).rounded(.down), "epoch seconds, a JSON number")
        #expect(codeDeploy.bodies("ListDeployments").count == 2, "two pages of two")

        let all = try await client.listDeployments(application: "api", group: "blue")
        #expect(all.count == 30)
        let deployments = try await client.batchGetDeployments(all)
        #expect(deployments.count == 30)
        #expect(codeDeploy.bodies("BatchGetDeployments").map { ($0["deploymentIds"] as? [String])?.count } == [25, 5])
        let one = try #require(deployments.first { $0.id == "d-1000" })
        #expect(one.status == "Failed" && one.isTerminal && one.duration == .seconds(252))
        #expect(one.deploymentConfig == "CodeDeployDefault.OneAtATime" && one.computePlatform == "Server")

        // What hookrunner reports for an ECS or Lambda hook.
        #expect(try await client.putLifecycleEventHookExecutionStatus(deploymentID: "d-1000", executionID: "exec-7", status: "Succeeded") == "exec-7")
        let put = try #require(codeDeploy.requests.last)
        #expect(put.header("X-Amz-Target") == "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus")
        #expect(put.header("Content-Type") == "application/x-amz-json-1.1")
        #expect(put.header("Authorization")?.contains("/us-east-1/codedeploy/aws4_request") == true)
        #expect(codeDeploy.bodies("PutLifecycleEventHookExecutionStatus").first as? [String: String]
            == ["deploymentId": "d-1000", "lifecycleEventHookExecutionId": "exec-7", "status": "Succeeded"])
        #expect(codeDeploy.hookStatuses.map(\.status) == ["Succeeded"])
        do {
            try await client.putLifecycleEventHookExecutionStatus(deploymentID: "d-1000", executionID: "exec-7", status: "Failed")
            Issue.record("a second report was accepted")
        } catch {
            #expect(error.code == "LifecycleEventAlreadyCompletedException")
            #expect(error.description.hasPrefix("CodeDeploy PutLifecycleEventHookExecutionStatus: LifecycleEventAlreadyCompletedException"))
        }
        do {
            _ = try await client.listDeploymentGroups(application: "nope")
            Issue.record("an unknown application was listed")
        } catch {
            #expect(error.code == "ApplicationDoesNotExistException")
        }
        await codeDeploy.stop()
    }

    // MARK: A watcher with a state directory

    @Test func eachDeploymentIsAnnouncedOncePerChannelAfterTheBaseline() async throws {
        // moto cannot move a deployment to Succeeded, Failed or Stopped: CodeDeploy is a scripted
        // stand-in answering with the JSON of AWS's API reference.
        let codeDeploy = try CodeDeployStandIn()
        let receiver = try WebhookReceiver()
        let fixture = try NotificationFixture(codeDeploy: codeDeploy, extra: ["PD_KEY": "PDKEY-SECRET-55"])
        codeDeploy.addGroup("checkout-prod", application: "checkout")
        codeDeploy.addGroup("checkout-staging", application: "checkout")
        // Ended an hour ago, before the first poll: never announced (the baseline).
        codeDeploy.put(ended("d-OLD0000001", "checkout-prod", status: "Failed", offset: -3600))
        // Running at the first poll: announced when it ends.
        var running = Deployment(id: "d-RUN0000001", application: "checkout", group: "checkout-prod", status: "InProgress", createTime: now() - 60)
        running.startTime = now() - 58
        running.revision = gitHubRevision
        codeDeploy.put(running)
        let mail = "\(fixture.directory)/mail"
        try fixture.writeManifest("""
        {
          "channels": {
            "ops": { "type": "webhook", "url": "\(receiver.url("/ops"))" },
            "chat": { "type": "slack", "url": "\(receiver.url("/slack"))" },
            "teams": { "type": "teams", "url": "\(receiver.url("/teams"))" },
            "pd": { "type": "pagerduty", "url": "\(receiver.url("/pd"))", "routingKey": "${PD_KEY}" },
            "mail": { "type": "command", "command": ["/bin/sh", "-c", "env | grep ^VERSIONCHECK_ | sort > \(mail)-$VERSIONCHECK_DEPLOYMENT_ID.env; cat > \(mail)-$VERSIONCHECK_DEPLOYMENT_ID.json"] }
          },
          "codedeploy": {
            "lookback": "24h",
            "registrations": [
              { "id": "checkout-prod", "application": "checkout", "deploymentGroups": ["checkout-prod"], "notify": ["ops", "chat", "teams", "pd", "mail"] },
              { "application": "checkout", "deploymentGroups": ["checkout-staging"], "notify": ["ops"], "outcomes": ["failed"] }
            ]
          }
        }
        """)
        var seen = 0
        func newRequests() -> [String: Int] {
            let all = receiver.requests
            defer { seen = all.count }
            return Dictionary(grouping: all[seen...], by: { String($0.path.dropFirst()) }).mapValues(\.count)
        }

        // 1: the baseline. Nothing is announced.
        let first = try await fixture.cycle()
        #expect(first.status == 0, "\(first.output)")
        #expect(!first.stdout.contains("  deployment  "))
        #expect(newRequests().isEmpty)
        let listings = codeDeploy.bodies("ListDeployments")
        #expect(listings.count == 2 && !codeDeploy.operations.contains("ListDeploymentGroups"), "the groups are given")
        let prod = try #require(listings.first { $0["deploymentGroupName"] as? String == "checkout-prod" })
        #expect(prod["includeOnlyStatuses"] as? [String] == ["Failed", "Stopped", "Succeeded"])
        let staging = try #require(listings.first { $0["deploymentGroupName"] as? String == "checkout-staging" })
        #expect(staging["includeOnlyStatuses"] as? [String] == ["Failed"], "only what the registration wants")
        let start = try #require(((prod["createTimeRange"] as? [String: Any])?["start"] as? NSNumber)?.doubleValue)
        #expect(abs(start - (now() - 86400)) < 60, "the lookback: 24h")

        // 2: the running one succeeds; another fails; in staging one fails and one succeeds.
        codeDeploy.update("d-RUN0000001") { deployment in
            deployment.status = "Succeeded"
            deployment.completeTime = now()
        }
        var failed = ended("d-FAIL000001", "checkout-prod", status: "Failed", offset: 0.5)
        failed.revision = s3Revision
        failed.errorCode = "HEALTH_CONSTRAINTS"
        failed.errorMessage = healthMessage
        failed.rollbackDeploymentID = "d-RB00000001"
        failed.note = "release 1.4.2 by pipeline #77"
        codeDeploy.put(failed)
        codeDeploy.put(ended("d-STGOK00001", "checkout-staging", status: "Succeeded"))
        var stagingFailure = ended("d-STGBAD0001", "checkout-staging", status: "Stopped")
        stagingFailure.errorCode = "MANUAL_STOP"
        codeDeploy.put(stagingFailure)
        codeDeploy.put(ended("d-STGBAD0002", "checkout-staging", status: "Failed", offset: 0.2))
        let second = try await fixture.cycle()
        #expect(second.status == 0, "\(second.output)")
        #expect(newRequests() == ["ops": 3, "slack": 2, "teams": 2, "pd": 2])
        let summary = "checkout/checkout-prod: deployment d-FAIL000001 failed after 4m12s (started by a user; rolled back by d-RB00000001): "
            + "HEALTH_CONSTRAINTS: \(healthMessage)"
        #expect(second.stdout.contains("  deployment  checkout/checkout-prod  deployment d-FAIL000001 failed after 4m12s"))
        #expect(second.stdout.contains("→ ops, chat, teams, pd, mail"))
        #expect(second.stdout.contains("codedeploy: 3 deployments announced"), "\(second.stdout)")

        // The webhook payload.
        let ops = receiver.requests.filter { $0.path == "/ops" }
        #expect(ops.compactMap { $0.header("Idempotency-Key") } == [
            "codedeploy-d-RUN0000001:ops", "codedeploy-d-STGBAD0002:ops", "codedeploy-d-FAIL000001:ops",
        ], "in the order they ended; a stopped staging deployment is not in that registration's outcomes")
        let payload = try #require(ops.last?.json)
        #expect(payload["type"] as? String == "deployment")
        #expect(payload["id"] as? String == "codedeploy-d-FAIL000001")
        #expect(payload["summary"] as? String == summary)
        #expect(payload["service"] as? String == "checkout" && payload["environment"] as? String == "checkout-prod")
        #expect(payload["revision"] as? String == "s3://releases-bucket/checkout/1.4.2.zip (version 3HL4kqtJlcpXroDTDmjVBH40Nrjfkd)")
        let deployment = try #require(payload["deployment"] as? [String: Any])
        #expect(deployment["id"] as? String == "d-FAIL000001")
        #expect(deployment["application"] as? String == "checkout" && deployment["deploymentGroup"] as? String == "checkout-prod")
        #expect(deployment["status"] as? String == "Failed" && deployment["outcome"] as? String == "failed")
        #expect(deployment["creator"] as? String == "user")
        #expect(deployment["durationSeconds"] as? Double == 252)
        #expect(deployment["description"] as? String == "release 1.4.2 by pipeline #77")
        #expect(deployment["error"] as? [String: String] == ["code": "HEALTH_CONSTRAINTS", "message": healthMessage])
        let revision = try #require(deployment["revision"] as? [String: Any])
        #expect(revision["type"] as? String == "S3" && revision["bucket"] as? String == "releases-bucket")
        #expect(revision["key"] as? String == "checkout/1.4.2.zip" && revision["version"] as? String == "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")
        #expect(revision["location"] as? String == "s3://releases-bucket/checkout/1.4.2.zip")
        #expect((deployment["rollback"] as? [String: Any])?["rollbackDeploymentId"] as? String == "d-RB00000001")
        for key in ["createTime", "startTime", "completeTime"] {
            #expect((deployment[key] as? String).flatMap(Timestamps.parse) != nil, "\(key)")
        }
        #expect(payload["time"] as? String == deployment["completeTime"] as? String)

        // Slack: the summary as text, the facts as fields, the error in a section of its own.
        let slack = try #require(receiver.requests.last { $0.path == "/slack" }?.json)
        #expect(slack["text"] as? String == "❌ \(summary)")
        let blocks = try #require(slack["blocks"] as? [[String: Any]])
        #expect((blocks[0]["text"] as? [String: Any])?["text"] as? String
            == "❌ *checkout* / checkout-prod: deployment `d-FAIL000001` failed after 4m12s (started by a user; rolled back by d-RB00000001)")
        let fields = try #require(blocks[1]["fields"] as? [[String: Any]]).compactMap { $0["text"] as? String }
        #expect(fields.contains("*Revision*\ns3://releases-bucket/checkout/1.4.2.zip (version 3HL4kqtJlcpXroDTDmjVBH40Nrjfkd)"))
        #expect(fields.contains("*Started by*\nstarted by a user"))
        #expect(fields.contains("*Duration*\n4m12s"))
        #expect(fields.contains("*Status*\nFailed"))
        #expect((blocks[2]["text"] as? [String: Any])?["text"] as? String == "*Error* HEALTH_CONSTRAINTS: \(healthMessage)")
        #expect(((blocks[3]["elements"] as? [[String: Any]])?.first?["text"] as? String)?.contains("Completed ") == true)

        // Teams: the summary and the facts.
        let teams = try #require(receiver.requests.last { $0.path == "/teams" }?.json)
        let card = try #require(((teams["attachments"] as? [[String: Any]])?.first?["content"]) as? [String: Any])
        let body = try #require(card["body"] as? [[String: Any]])
        #expect(body[0]["text"] as? String == "❌ \(summary)")
        let facts = Dictionary(uniqueKeysWithValues: try #require(body[1]["facts"] as? [[String: String]]).map { ($0["title"] ?? "", $0["value"] ?? "") })
        #expect(facts["Error"] == "HEALTH_CONSTRAINTS: \(healthMessage)")
        #expect(facts["Revision"] == "s3://releases-bucket/checkout/1.4.2.zip (version 3HL4kqtJlcpXroDTDmjVBH40Nrjfkd)")
        #expect(facts["Started by"] == "user" && facts["Duration"] == "4m12s" && facts["Rolled back by"] == "d-RB00000001")
        #expect(facts["Application"] == "checkout" && facts["Deployment group"] == "checkout-prod" && facts["Deployment"] == "d-FAIL000001")

        // PagerDuty: the success resolves (nothing open yet), the failure triggers the group's incident.
        let pagerDuty = receiver.requests.filter { $0.path == "/pd" }.compactMap(\.json)
        #expect(pagerDuty.map { $0["event_action"] as? String } == ["resolve", "trigger"])
        #expect(Set(pagerDuty.compactMap { $0["dedup_key"] as? String }) == ["versioncheck/codedeploy/checkout/checkout-prod"])
        let trigger = try #require((pagerDuty.last?["payload"]) as? [String: Any])
        #expect(trigger["summary"] as? String == summary)
        #expect(trigger["severity"] as? String == "error" && trigger["class"] as? String == "deployment")
        #expect(pagerDuty.last?["routing_key"] as? String == "PDKEY-SECRET-55")

        // The command channel: the deployment in its environment, the payload on stdin.
        let environment = try String(contentsOfFile: "\(mail)-d-FAIL000001.env", encoding: .utf8)
        for line in ["VERSIONCHECK_EVENT=deployment", "VERSIONCHECK_DEPLOYMENT_ID=d-FAIL000001", "VERSIONCHECK_APPLICATION=checkout",
                     "VERSIONCHECK_DEPLOYMENT_GROUP=checkout-prod", "VERSIONCHECK_STATUS=Failed", "VERSIONCHECK_OUTCOME=failed",
                     "VERSIONCHECK_CREATOR=user", "VERSIONCHECK_ERROR_CODE=HEALTH_CONSTRAINTS", "VERSIONCHECK_DURATION_SECONDS=252",
                     "VERSIONCHECK_ROLLBACK_DEPLOYMENT_ID=d-RB00000001", "VERSIONCHECK_EVENT_ID=codedeploy-d-FAIL000001"] {
            #expect(environment.contains(line + "\n"), "\(line)")
        }
        let stdin = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(mail)-d-FAIL000001.json"))) as? [String: Any])
        #expect(stdin["summary"] as? String == summary)
        #expect(FileManager.default.fileExists(atPath: "\(mail)-d-RUN0000001.json"))

        // 3: a restart: nothing is announced again.
        let third = try await fixture.cycle()
        #expect(third.status == 0, "\(third.output)")
        #expect(newRequests().isEmpty)
        #expect(!third.stdout.contains("  deployment  "))

        // 4: the group recovers: PagerDuty resolves the incident the failure opened.
        codeDeploy.put(ended("d-FIX0000001", "checkout-prod", status: "Succeeded", seconds: 45))
        let fourth = try await fixture.cycle()
        #expect(fourth.status == 0, "\(fourth.output)")
        #expect(newRequests() == ["ops": 1, "slack": 1, "teams": 1, "pd": 1])
        let resolve = try #require(receiver.requests.last { $0.path == "/pd" }?.json)
        #expect(resolve["event_action"] as? String == "resolve")
        #expect(resolve["dedup_key"] as? String == "versioncheck/codedeploy/checkout/checkout-prod")
        #expect(receiver.requests.last { $0.path == "/ops" }?.json?["summary"] as? String
            == "checkout/checkout-prod: deployment d-FIX0000001 succeeded after 45s (started by a user)")

        // Never twice: every idempotency key once; nothing about the baseline deployment.
        let keys = receiver.requests.compactMap { $0.header("Idempotency-Key") }
        #expect(keys.count == receiver.requests.count && Set(keys).count == keys.count)
        #expect(!keys.contains { $0.contains("d-OLD0000001") || $0.contains("d-STGOK00001") || $0.contains("d-STGBAD0001") })
        #expect(!fixture.printed.contains("PDKEY-SECRET-55"))
        await receiver.stop()
        await codeDeploy.stop()
    }

    @Test func failingCallsAreOneLineEachAndTheCycleGoesOn() async throws {
        let codeDeploy = try CodeDeployStandIn()
        codeDeploy.addGroup("web-prod", application: "web")
        codeDeploy.deny("ListDeployments")
        let service = try VersionedService(version: "2.0.0")
        let receiver = try WebhookReceiver()
        let fixture = try NotificationFixture(codeDeploy: codeDeploy)
        try fixture.writeManifest("""
        {"channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/ops"))"}},
         "services": [{"name": "web", "environment": "production", "url": "\(service.url)", "notify": ["ops"]}],
         "codedeploy": {"registrations": [{"application": "web", "notify": ["ops"]}, {"application": "ghost", "notify": ["ops"]}]}}
        """)
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("first-seen  web (production)  at 2.0.0"), "the services are read")
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("codedeploy:") }
        #expect(lines.count == 2, "\(result.stderr)")
        #expect(lines.contains { $0.contains("codedeploy: web/web-prod: CodeDeploy ListDeployments: AccessDeniedException")
                && $0.hasSuffix("(the watcher's AWS identity needs codedeploy:ListDeployments)") })
        #expect(lines.contains { $0.contains("codedeploy: application ghost: CodeDeploy ListDeploymentGroups: ApplicationDoesNotExistException") })
        await receiver.stop()
        await service.stop()
        await codeDeploy.stop()
    }

    // MARK: Watchers sharing a DynamoDB table

    @Test func watchersSharingADynamoDBTableAnnounceEachDeploymentOnce() async throws {
        let moto = try await MotoServer.shared()
        let codeDeploy = try CodeDeployStandIn()
        let receiver = try WebhookReceiver()
        let fixture = try NotificationFixture(codeDeploy: codeDeploy, moto: moto)
        let table = "dynamodb://\(Self.unique("watch"))"
        codeDeploy.addGroup("ledger-prod", application: "ledger")
        codeDeploy.addGroup("ledger-dr", application: "ledger")
        var running = Deployment(id: "d-LEDGER0001", application: "ledger", group: "ledger-prod", status: "InProgress", createTime: now() - 30)
        running.revision = s3Revision
        codeDeploy.put(running)
        codeDeploy.put(ended("d-LEDGER0000", "ledger-dr", status: "Failed", offset: -600, application: "ledger"))
        try fixture.writeManifest("""
        {"channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/ops"))"}},
         "codedeploy": {"registrations": [{"application": "ledger", "notify": ["ops"]}]}}
        """)
        let initialized = try await fixture.versioncheck(["state", "init", table])
        #expect(initialized.status == 0, "\(initialized.output)")

        // Two watchers at once for the baseline. (Once deliveries are queued, the watchers take
        // turns: moto's server does not serialize conditional writes of concurrent requests, its
        // DynamoDB backend holds no lock, so two writes racing on one item can both pass there,
        // which DynamoDB itself never lets happen.)
        async let one = fixture.cycle(state: table)
        async let two = fixture.cycle(state: table)
        for result in try await [one, two] { #expect(result.status == 0, "\(result.output)") }
        #expect(receiver.requests.isEmpty, "the baseline: the failure ended before the first poll")
        #expect(codeDeploy.bodies("BatchGetDeployments").contains { ($0["deploymentIds"] as? [String])?.contains("d-LEDGER0000") == true })
        #expect(codeDeploy.operations.contains("ListDeploymentGroups"), "every group of the application")

        codeDeploy.update("d-LEDGER0001") { deployment in
            deployment.status = "Succeeded"
            deployment.completeTime = now()
        }
        codeDeploy.put(ended("d-LEDGER0002", "ledger-dr", status: "Failed", offset: 0.3, application: "ledger"))
        let first = try await fixture.cycle(state: table)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stdout.contains("codedeploy: 2 deployments announced"), "\(first.output)")
        let second = try await fixture.cycle(state: table)
        #expect(second.status == 0, "\(second.output)")
        #expect(!second.stdout.contains("  deployment  "), "the second watcher finds them announced")
        #expect(receiver.requests.compactMap { $0.header("Idempotency-Key") }.sorted()
            == ["codedeploy-d-LEDGER0001:ops", "codedeploy-d-LEDGER0002:ops"], "one each")

        // A later watcher on the same table: nothing again.
        let later = try await fixture.cycle(state: table)
        #expect(later.status == 0, "\(later.output)")
        #expect(receiver.requests.count == 2)
        await receiver.stop()
        await codeDeploy.stop()
    }

    // MARK: The registrations API

    @Test func registrationsAddedThroughTheAPIAreAnnouncedPersistedAndRemoved() async throws {
        let codeDeploy = try CodeDeployStandIn()
        let receiver = try WebhookReceiver()
        let fixture = try NotificationFixture(codeDeploy: codeDeploy)
        codeDeploy.addGroup("billing-prod", application: "billing")
        codeDeploy.addGroup("checkout-prod", application: "checkout")
        codeDeploy.addGroup("checkout-canary", application: "checkout")
        let token = "reg-token-SECRET-8c1e"
        try (token + "\n").write(toFile: "\(fixture.directory)/token", atomically: true, encoding: .utf8)
        try fixture.writeManifest("""
        {"channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/ops"))"}, "team-slack": {"type": "slack", "url": "\(receiver.url("/slack"))"}},
         "codedeploy": {"registrations": [{"id": "from-manifest", "application": "billing", "notify": ["ops"]}]}}
        """)
        let arguments = ["--every", "1s", "--metrics-host", "127.0.0.1", "--metrics-port", "0",
                         "--registrations-token-file", "\(fixture.directory)/token"]
        var watcher = try fixture.loop(arguments)
        func port(_ watcher: ChildProcess) async throws -> Int {
            let line = try await watcher.waitForLine(containing: "registrations API on")
            return try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        }
        var apiPort = try await port(watcher)
        func call(_ method: String, _ path: String, body: String? = nil, token: String? = token) async throws -> RawResponse {
            let client = try RawClient(port: apiPort)
            defer { client.close() }
            let headers = token.map { ["Authorization: Bearer \($0)"] } ?? []
            if let body { return try await client.request(method, path, body: body, headers: headers) }
            return try await client.get(path, method: method, headers: headers)
        }

        // Without the token, or with another: 401.
        for wrong in [nil, "reg-token-SECRET-8c1f", ""] as [String?] {
            let refused = try await call("GET", "/registrations", token: wrong)
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        }
        #expect(try await call("POST", "/registrations", body: #"{"application": "checkout", "notify": ["ops"]}"#, token: nil).status == 401)

        // Validation: 400 naming the JSON path.
        let invalid: [(String, String, String)] = [
            (#"{"application": "checkout", "notify": ["opz"]}"#, "notify[0]", "no channel 'opz' (did you mean 'ops'?)"),
            (#"{"application": "", "notify": ["ops"]}"#, "application", "empty"),
            (#"{"application": "checkout", "notify": ["ops"], "outcomes": ["faild"]}"#, "outcomes[0]", "'faild' is not an outcome (did you mean 'failed'?)"),
            (#"{"aplication": "checkout", "notify": ["ops"]}"#, "aplication", "unknown key 'aplication' (did you mean 'application'?)"),
            (#"{"application": "checkout"}"#, "notify", "missing"),
            (#"{"application": "checkout", "notify": ["ops"], "deploymentGroups": []}"#, "deploymentGroups", "non-empty array"),
            (#"{"application": "checkout", "notify": ["ops"], "id": "no spaces please"}"#, "id", "is not an id"),
        ]
        for (body, path, message) in invalid {
            let answer = try await call("POST", "/registrations", body: body)
            #expect(answer.status == 400, "\(body)")
            #expect(json(answer)["path"] as? String == path, "\(body): \(answer.text)")
            #expect((json(answer)["error"] as? String)?.hasPrefix("\(path): ") == true, "\(answer.text)")
            #expect((json(answer)["error"] as? String)?.contains(message) == true, "\(answer.text)")
        }
        let notJSON = try await call("POST", "/registrations", body: "{application: checkout")
        #expect(notJSON.status == 400 && (json(notJSON)["error"] as? String)?.hasPrefix("line 1, column") == true, "\(notJSON.text)")
        #expect(try await call("POST", "/registrations", body: #"{"id": "from-manifest", "application": "x", "notify": ["ops"]}"#).status == 409)

        // Added: 201 with its id; listed with the manifest's; readable alone.
        let added = try await call("POST", "/registrations",
                                   body: #"{"application": "checkout", "deploymentGroups": ["checkout-prod"], "notify": ["ops", "team-slack"], "outcomes": ["failed", "stopped"]}"#)
        #expect(added.status == 201, "\(added.text)")
        let id = try #require(json(added)["id"] as? String)
        #expect(id.hasPrefix("reg-"))
        #expect(added.header("Location") == "/registrations/\(id)")
        #expect(json(added)["source"] as? String == "api" && json(added)["readOnly"] as? Bool == false)
        #expect(json(added)["outcomes"] as? [String] == ["failed", "stopped"])
        let list = try await call("GET", "/registrations")
        #expect(list.status == 200)
        let entries = try #require(json(list)["registrations"] as? [[String: Any]])
        #expect(entries.map { $0["id"] as? String } == ["from-manifest", id])
        #expect(entries[0]["source"] as? String == "manifest" && entries[0]["readOnly"] as? Bool == true)
        #expect(entries[0]["deploymentGroups"] is NSNull && entries[0]["outcomes"] as? [String] == ["succeeded", "failed", "stopped"])
        let one = try await call("GET", "/registrations/\(id)")
        #expect(one.status == 200 && json(one)["application"] as? String == "checkout")
        #expect(try await call("GET", "/registrations/reg-nope").status == 404)

        // The watcher announces for it: a failure after it was added.
        codeDeploy.put(ended("d-API0000001", "checkout-prod", status: "Failed", seconds: 30))
        codeDeploy.put(ended("d-API0000002", "checkout-prod", status: "Succeeded", seconds: 30))
        try await withTimeout(.seconds(20), "the announcement") { await receiver.waitForRequests(2) }
        #expect(Set(receiver.requests.compactMap { $0.header("Idempotency-Key") }) == ["codedeploy-d-API0000001:ops", "codedeploy-d-API0000001:team-slack"])
        let outbox = try String(contentsOfFile: "\(fixture.state)/deliveries.jsonl", encoding: .utf8)
        #expect(outbox.contains("codedeploy-d-API0000001:ops") && !outbox.contains("d-API0000002"), "the success is not in its outcomes")

        // Removed: 204, then 404; the manifest's cannot be (409).
        #expect(try await call("DELETE", "/registrations/from-manifest").status == 409)
        #expect(try await call("DELETE", "/registrations/reg-nope").status == 404)
        #expect(try await call("DELETE", "/registrations/\(id)").status == 204)
        #expect(try await call("GET", "/registrations/\(id)").status == 404)
        let cycles = watcher.standardOutput.components(separatedBy: "  cycle: ").count - 1
        codeDeploy.put(ended("d-API0000003", "checkout-prod", status: "Failed", seconds: 30))
        try await waitForCycles(watcher, cycles + 2)
        #expect(receiver.requests.count == 2, "no more after the removal")

        // Persisted: a registration outlives the watcher.
        let kept = try await call("POST", "/registrations",
                                  body: #"{"id": "canary-watch", "application": "checkout", "deploymentGroups": ["checkout-canary"], "notify": ["ops"]}"#)
        #expect(kept.status == 201, "\(kept.text)")
        watcher.send(signal: SIGTERM)
        #expect(try await watcher.waitForExit() == 0)
        let firstOutput = watcher.output
        watcher = try fixture.loop(arguments)
        apiPort = try await port(watcher)
        let again = try await call("GET", "/registrations/canary-watch")
        #expect(again.status == 200 && json(again)["source"] as? String == "api", "\(again.text)")
        codeDeploy.put(ended("d-CANARY0001", "checkout-canary", status: "Succeeded", seconds: 10))
        try await withTimeout(.seconds(20), "the canary announcement") { await receiver.waitForRequests(3) }
        #expect(receiver.requests.last?.header("Idempotency-Key") == "codedeploy-d-CANARY0001:ops")
        watcher.send(signal: SIGTERM)
        #expect(try await watcher.waitForExit() == 0)
        for output in [firstOutput, watcher.output] { #expect(!output.contains(token), "the token is never printed") }
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture.state)
            .map { (try? String(contentsOfFile: "\(fixture.state)/\($0)", encoding: .utf8)) ?? "" }.joined()
        #expect(!files.contains(token))
        await receiver.stop()
        await codeDeploy.stop()
    }

    @Test func theAPIIsOffWithoutItsTokenFileAndTheFlagNeedsTheMetricsPort() async throws {
        let codeDeploy = try CodeDeployStandIn()
        let fixture = try NotificationFixture(codeDeploy: codeDeploy)
        codeDeploy.addGroup("billing-prod", application: "billing")
        try fixture.writeManifest("""
        {"channels": {"ops": {"type": "webhook", "url": "http://127.0.0.1:1/ops"}},
         "codedeploy": {"registrations": [{"application": "billing", "notify": ["ops"]}]}}
        """)
        let watcher = try fixture.loop(["--every", "1h", "--metrics-host", "127.0.0.1", "--metrics-port", "0"])
        let line = try await watcher.waitForLine(containing: "metrics on")
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        for method in ["GET", "POST"] {
            let client = try RawClient(port: port)
            let answer = method == "GET" ? try await client.get("/registrations", headers: ["Authorization: Bearer x"])
                : try await client.request("POST", "/registrations", body: #"{"application": "a", "notify": ["ops"]}"#)
            client.close()
            #expect(answer.status == 404, "\(method): \(answer.text)")
        }
        watcher.send(signal: SIGTERM)
        #expect(try await watcher.waitForExit() == 0)

        try "t0ken\n".write(toFile: "\(fixture.directory)/token", atomically: true, encoding: .utf8)
        let noPort = try await fixture.cycle(["--registrations-token-file", "\(fixture.directory)/token"])
        #expect(noPort.status == 2 && noPort.stderr.contains("--registrations-token-file needs --metrics-port"), "\(noPort.output)")
        let unreadable = try await fixture.cycle(["--metrics-port", "0", "--registrations-token-file", "\(fixture.directory)/missing"])
        #expect(unreadable.status == 2 && unreadable.stderr.contains("--registrations-token-file: cannot read a token"), "\(unreadable.output)")
        let misplaced = try await fixture.versioncheck(["history", "--state", fixture.state, "--registrations-token-file", "x"])
        #expect(misplaced.status == 2 && misplaced.stderr.contains("--registrations-token-file does not apply to versioncheck history"))
        await codeDeploy.stop()
    }

    // MARK: Manifest and rendering

    @Test func manifestRegistrationsAreCheckedWithJSONPaths() throws {
        func parse(_ codedeploy: String) throws(ManifestError) -> Manifest {
            try Manifest.parse(Array(#"{"channels": {"ops": {"type": "webhook", "url": "http://h/ops"}, "team-slack": {"type": "slack", "url": "http://h/s"}}, "codedeploy": \#(codedeploy)}"#.utf8),
                               path: "fleet.json", environment: [:])
        }
        let manifest = try parse(#"{"lookback": "6h", "registrations": [{"application": "checkout", "notify": ["ops"]}, {"application": "billing", "deploymentGroups": ["b1"], "notify": ["ops"], "outcomes": ["failed"]}, {"application": "billing", "notify": ["team-slack"]}, {"id": "billing", "application": "other", "notify": ["ops"]}]}"#)
        #expect(manifest.services.isEmpty, "a manifest may only announce deployments")
        #expect(manifest.codeDeploy.lookback == .seconds(6 * 3600))
        #expect(manifest.codeDeploy.registrations.map(\.id) == ["checkout", "manifest-1", "manifest-2", "billing"],
                "the application's name when it is unique and free, else manifest-<index>")
        #expect(manifest.codeDeploy.registrations[1].outcomes == [.failed])
        #expect(manifest.codeDeploy.registrations[1].deploymentGroups == ["b1"])
        #expect(manifest.codeDeploy.registrations[0].outcomes == [.succeeded, .failed, .stopped])
        #expect(manifest.codeDeploy.registrations[0].deploymentGroups == nil)

        let cases: [(String, String)] = [
            (#"{"registrations": [{"application": "a", "notify": ["team-slak"]}]}"#,
             "fleet.json: codedeploy.registrations[0].notify[0]: no channel 'team-slak' (did you mean 'team-slack'?); channels: ops, team-slack"),
            (#"{"registrations": [{"application": "a", "notify": ["ops"], "outcomes": ["succeded"]}]}"#,
             "fleet.json: codedeploy.registrations[0].outcomes[0]: 'succeded' is not an outcome (did you mean 'succeeded'?)"),
            (#"{"registrations": [{"application": " ", "notify": ["ops"]}]}"#, "fleet.json: codedeploy.registrations[0].application: empty"),
            (#"{"registrations": [{"notify": ["ops"]}]}"#, "fleet.json: codedeploy.registrations[0].application: missing"),
            (#"{"registrations": [{"application": "a", "notify": []}]}"#, "fleet.json: codedeploy.registrations[0].notify: empty"),
            (#"{"registrations": [{"application": "a", "notify": ["ops"], "groups": ["x"]}]}"#,
             "fleet.json: codedeploy.registrations[0].groups: unknown key 'groups'"),
            (#"{"registrations": [{"application": "a", "notify": ["ops"], "deploymentGroups": ["x", "x"]}]}"#,
             "fleet.json: codedeploy.registrations[0].deploymentGroups[1]: 'x' is listed twice"),
            (#"{"registrations": [{"id": "x", "application": "a", "notify": ["ops"]}, {"id": "x", "application": "b", "notify": ["ops"]}]}"#,
             "fleet.json: codedeploy.registrations[1].id: the id 'x' is already used at codedeploy.registrations[0]"),
            (#"{"lookback": "soon", "registrations": []}"#, "fleet.json: codedeploy.lookback: 'soon' is not a duration"),
            (#"{"lookback": "30s"}"#, "fleet.json: codedeploy.lookback: at least 1m"),
            (#"{"registration": []}"#, "fleet.json: codedeploy.registration: unknown key 'registration' (did you mean 'registrations'?)"),
            (#"{"registrations": {}}"#, "fleet.json: codedeploy.registrations: expected an array of registrations"),
        ]
        for (text, message) in cases {
            do {
                _ = try parse(text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.hasPrefix(message), "\(text): \(error.description)")
            }
        }
        // Without registrations, a manifest still needs services.
        do {
            _ = try parse(#"{"registrations": []}"#)
            Issue.record("a manifest without services or registrations was accepted")
        } catch {
            #expect(error.description.contains("services: missing"))
        }
    }

    @Test func oddAnswersAreReadWithoutTrapping() throws {
        let odd = try JSONParser().parse(#"""
        {"deploymentId": "d-ODD", "status": "Failed", "createTime": 1e300, "startTime": "yesterday", "completeTime": -5,
         "errorInformation": "broken", "rollbackInfo": [], "revision": {"s3Location": {"bucket": 7}}, "creator": 3}
        """#)
        let deployment = try #require(CodeDeployDeployment(odd))
        #expect(deployment.createTime == nil && deployment.startTime == nil && deployment.completeTime == nil && deployment.duration == nil)
        #expect(deployment.errorCode == nil && deployment.revision == nil && deployment.creator == nil)
        #expect(deployment.application == "" && deployment.isTerminal)
        let alert = Alert.deployment(deployment, now: Date(timeIntervalSince1970: 1_790_000_000))
        #expect(alert.summary == "/: deployment d-ODD failed")
        #expect(Alert(json: try JSONParser().parse(alert.json))?.json == alert.json)
        #expect(CodeDeployDeployment(try JSONParser().parse(#"{"status": "Failed"}"#)) == nil, "no id, no deployment")
        #expect(CodeDeployDeployment.time("1790000000.1234") == Date(timeIntervalSince1970: 1_790_000_000.123))
        #expect(CodeDeployDeployment.time("2026-11-21T22:14:39.512Z") != nil)
    }

    @Test func theSchemaDescribesRegistrations() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let schema = root.appendingPathComponent("schemas/manifest.schema.json").path
        let example = root.appendingPathComponent("schemas/manifest.example.json").path
        let registration = #"{"application": "a", "notify": ["ops"]}"#
        let invalid = [
            #"{"codedeploy": {"registrations": []}}"#,
            #"{"codedeploy": {"lookback": "24h"}}"#,
            #"{"codedeploy": {"registrations": [{"application": "a"}]}}"#,
            #"{"codedeploy": {"registrations": [{"application": "a", "notify": ["ops"], "outcomes": ["done"]}]}}"#,
            #"{"codedeploy": {"registrations": [{"application": "a", "notify": ["ops"], "groups": ["g"]}]}}"#,
            #"{"codedeploy": {"registrations": [{"application": "a", "notify": ["ops"], "deploymentGroups": []}]}}"#,
            #"{"codedeploy": {"registrations": [{"application": " ", "notify": ["ops"]}]}}"#,
            #"{"codedeploy": {"registrations": [{"id": "a b", "application": "a", "notify": ["ops"]}]}}"#,
            #"{"codedeploy": {"lookback": "soon", "registrations": [\#(registration)]}}"#,
            #"{"codedeploy": {"registrations": [\#(registration)], "extra": 1}}"#,
        ]
        if let problems = try await checkJSONSchema(schema, accepts: example, rejects: invalid) { // python3 is optional here
            #expect(problems.isEmpty, "\(problems)")
        }
        // A manifest that only announces deployments.
        let only = NSTemporaryDirectory() + "codedeploy-only-\(UUID().uuidString.prefix(8)).json"
        try #"{"channels": {"ops": {"type": "webhook", "url": "http://h/"}}, "codedeploy": {"registrations": [\#(registration)]}}"#
            .write(toFile: only, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: only) }
        if let problems = try await checkJSONSchema(schema, accepts: only, rejects: []) {
            #expect(problems.isEmpty, "\(problems)")
        }
        let environment = ["OPS_HOOK_TOKEN": "t0k", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
                           "TEAMS_WORKFLOW_URL": "https://example.logic.azure.com/workflows/1", "PAGERDUTY_ROUTING_KEY": "R0UTING",
                           "PAYMENTS_INFO_TOKEN": "p4y"]
        let manifest = try Manifest.load(path: example, environment: environment)
        #expect(manifest.codeDeploy.registrations.map(\.id) == ["checkout", "payments"])
        #expect(manifest.codeDeploy.registrations.last?.outcomes == [.failed, .stopped])
    }

    @Test func aDeploymentAlertReadsBackFromTheOutboxAndRendersForEveryChannel() throws {
        var deployment = CodeDeployDeployment(id: "d-X1", application: "search", group: "search-eu", status: "Stopped")
        deployment.creator = "codeDeployRollback"
        deployment.rollbackTriggeringDeploymentID = "d-X0"
        deployment.createTime = Date(timeIntervalSince1970: 1_790_000_000.125)
        deployment.startTime = Date(timeIntervalSince1970: 1_790_000_010.5)
        deployment.completeTime = Date(timeIntervalSince1970: 1_790_003_725.5)
        deployment.errorCode = "MANUAL_STOP"
        deployment.errorMessage = "The deployment was stopped by <a user> & 'friends'."
        deployment.revision = .appSpec(sha256: "abc123")
        let alert = Alert.deployment(deployment, now: Date())
        #expect(alert.summary == "search/search-eu: deployment d-X1 was stopped after 1h1m55s (a rollback of d-X0 by CodeDeploy): "
            + "MANUAL_STOP: The deployment was stopped by <a user> & 'friends'.")
        #expect(alert.time == deployment.completeTime)
        #expect(alert.pagerDutyAction == "trigger")

        // The outbox keeps the payload; read back, it renders the same bytes.
        let reread = try #require(Alert(json: try JSONParser().parse(alert.json)))
        #expect(reread.deployment == deployment)
        #expect(reread.json == alert.json)
        let channels: [Channel] = [
            Channel(name: "s", kind: .slack, url: "http://h/s"), Channel(name: "t", kind: .teams, url: "http://h/t"),
            Channel(name: "d", kind: .discord, url: "http://h/d"), Channel(name: "p", kind: .pagerduty, url: "http://h/p", routingKey: "k"),
            Channel(name: "w", kind: .webhook, url: "http://h/w"),
        ]
        for channel in channels {
            guard case .http(_, _, let first) = AlertRenderer.render(alert, for: channel, userAgent: "t"),
                  case .http(_, let headers, let second) = AlertRenderer.render(reread, for: channel, userAgent: "t") else {
                Issue.record("not HTTP")
                continue
            }
            #expect(first == second, "\(channel.kind)")
            #expect(headers.contains { $0.name == "Idempotency-Key" && $0.value == "codedeploy-d-X1:\(channel.name)" })
            #expect((try? JSONParser().parse(first)) != nil, "\(channel.kind) renders JSON")
        }
        // Slack escapes what mrkdwn would read as markup.
        #expect(AlertRenderer.slack(alert).contains("stopped by &lt;a user&gt; &amp; 'friends'"))
        // Discord: orange for a stop, the facts as fields.
        let discord = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.discord(alert).utf8)) as? [String: Any])
        let embed = try #require((discord["embeds"] as? [[String: Any]])?.first)
        #expect(embed["color"] as? Int == 0xE67E22)
        #expect(embed["title"] as? String == "search/search-eu: deployment stopped")
        let names = (embed["fields"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(names.starts(with: ["Application", "Deployment group", "Deployment", "Status", "Started by", "Revision", "Error", "Rolls back"]))
        // PagerDuty: a stop is a warning on the group's incident.
        let pagerDuty = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.pagerDuty(alert, routingKey: "k").utf8)) as? [String: Any])
        #expect(pagerDuty["dedup_key"] as? String == "versioncheck/codedeploy/search/search-eu")
        #expect((pagerDuty["payload"] as? [String: Any])?["severity"] as? String == "warning")

        // A channel's `events` filter watch events; a registration's channels get deployments.
        var picky = Channel(name: "p", kind: .webhook, url: "http://h/")
        picky.events = ["drift"]
        #expect(AlertRenderer.wants(picky, alert, settings: WatchSettings()))
        #expect(CodeDeployDeployment.durationText(.seconds(252)) == "4m12s")
        #expect(CodeDeployDeployment.durationText(.seconds(3600)) == "1h")
        #expect(CodeDeployDeployment.durationText(.milliseconds(400)) == "0s")
    }
}
