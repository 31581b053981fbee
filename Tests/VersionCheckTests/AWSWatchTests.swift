import DeployVerifyKit
import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import VersionCheck

/// `versioncheck watch` on AWS, as the systems it replaces run: the manifest in S3 (YAML or JSON),
/// the state in a DynamoDB table shared by watchers, as a Lambda function. AWS is moto's server
/// with signature checking on; every versioncheck is a real child process.
@Suite("versioncheck watch on AWS (moto)", .serialized)
struct AWSWatchTests {
    /// A bucket and a table of the test's own at moto, and a scratch directory.
    final class Fixture: @unchecked Sendable {
        let moto: MotoServer
        let aws: AWSClient
        let bucket: String
        let table: String
        let directory: String
        /// Everything the runs printed; runs go on concurrently (two watchers on one table).
        private let output = Locked("")
        var printed: String { output.current }

        init() async throws {
            moto = try await MotoServer.shared()
            aws = try AWSClient(environment: moto.environment())
            let suffix = UUID().uuidString.prefix(8).lowercased()
            bucket = "fleet-\(suffix)"
            table = "versioncheck-\(suffix)"
            directory = NSTemporaryDirectory() + "aws-watch-\(suffix)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try await aws.createBucket(bucket)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        var state: String { "dynamodb://\(table)" }

        func upload(_ key: String, _ text: String) async throws {
            try await aws.putObject(S3Location(bucket: bucket, key: key), body: Array(text.utf8))
        }

        func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> CommandResult {
            let result = try await runProduct("versioncheck", arguments, environment: moto.environment(extra))
            output.withLock { $0 += result.output }
            return result
        }

        func cycle(_ manifest: String, _ extra: [String] = [], environment: [String: String] = [:]) async throws -> CommandResult {
            try await run(["watch", "--once", "--manifest", manifest, "--state", state] + extra, environment: environment)
        }

        func history(_ extra: [String] = []) async throws -> [[String: Any]] {
            let result = try await run(["history", "--state", state, "--format", "json"] + extra)
            guard result.status == 0 else { throw TestFailure("history: \(result.output)") }
            return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        }
    }

    static func yamlManifest(receiver: WebhookReceiver, services: [(name: String, urls: [String], expect: String?)],
                             settings: String = "alertFirstSeen: false") -> String {
        var text = """
        # the fleet, as the seed keeps it in S3
        settings: {\(settings), initialBackoff: 50ms, timeout: 10s}
        channels:
          ops:
            type: webhook
            url: \(receiver.url("/hooks/ops-T0SECRET99"))
        services:

        """
        for service in services {
            text += "  - name: \(service.name)\n    environment: production\n    urls:\n"
            for url in service.urls { text += "      - \(url)\n" }
            if let expect = service.expect { text += "    expect: \"\(expect)\"\n" }
            text += "    notify: [ops]\n"
        }
        return text
    }

    @Test func stateInitCreatesTheTableOnceAndAMissingTableIsAClearError() async throws {
        let fixture = try await Fixture()
        let missing = try await fixture.run(["history", "--state", fixture.state])
        #expect(missing.status == 3, "\(missing.output)")
        #expect(missing.stderr.contains("no such table") || missing.stderr.contains("ResourceNotFoundException"), "\(missing.stderr)")

        let created = try await fixture.run(["state", "init", fixture.state])
        #expect(created.status == 0, "\(created.output)")
        #expect(created.stdout.contains("created table \(fixture.table) in us-east-1: partition key pk (S), sort key sk (S), on-demand billing"))
        let again = try await fixture.run(["state", "init", fixture.state])
        #expect(again.status == 0)
        #expect(again.stdout.contains("exists with the right keys: nothing to do"))
        let bad = try await fixture.run(["state", "init", "dynamodb://x"])
        #expect(bad.status == 2 && bad.stderr.contains("table name of 3 to 255"))
    }

    @Test func everyEventKindThroughTheDynamoDBStateWithAnS3YAMLManifest() async throws {
        let fixture = try await Fixture()
        let a = try VersionedService(version: "1.4.1", revision: "aaaaaaa1111")
        let b = try VersionedService(version: "1.4.1", revision: "aaaaaaa1111")
        let receiver = try WebhookReceiver()
        try await fixture.upload("fleets/prod.yaml", Self.yamlManifest(receiver: receiver, services: [("checkout", [a.url, b.url], "^1.4")]))
        let manifest = "s3://\(fixture.bucket)/fleets/prod.yaml"
        #expect(try await fixture.run(["state", "init", fixture.state]).status == 0)

        var result = try await fixture.cycle(manifest)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("cycle: 1 services, 2 instances, 2 events, 0 alerts queued"), "\(result.stdout)")
        result = try await fixture.cycle(manifest)
        #expect(result.stdout.contains("0 events"), "a second watcher run reads the same state: \(result.stdout)")

        b.version = "1.4.2" // deployed
        result = try await fixture.cycle(manifest)
        #expect(result.stdout.contains("deployed  checkout (production)  1.4.1 → 1.4.2"), "\(result.stdout)")
        b.version = "1.4.1" // rolled back
        _ = try await fixture.cycle(manifest)
        a.version = "2.0.0" // drift against ^1.4
        result = try await fixture.cycle(manifest)
        #expect(result.status == 1, "drift is open: \(result.output)")
        a.version = "1.4.1" // recovered
        _ = try await fixture.cycle(manifest)
        await b.stop() // unreachable after 3 failed reads
        for _ in 0..<3 { _ = try await fixture.cycle(manifest) }

        let kinds = try await fixture.history().compactMap { $0["kind"] as? String }
        // 2.0.0 is a deployment (and drift from ^1.4); going back to 1.4.1 a rollback (and recovery).
        #expect(kinds == ["first-seen", "first-seen", "deployed", "rolled-back", "deployed", "drift", "rolled-back", "recovered", "unreachable"], "\(kinds)")
        let ids = try await fixture.history().compactMap { $0["id"] as? String }
        #expect(ids.first?.hasPrefix("checkout@production#1.") == true, "\(ids)")
        let types = receiver.requests.compactMap { $0.json?["type"] as? String }
        #expect(types == ["deployed", "rolled-back", "deployed", "drift", "rolled-back", "recovered", "unreachable"], "each alert once: \(types)")
        #expect(Set(receiver.requests.compactMap { $0.header("Idempotency-Key") }).count == receiver.requests.count)
        // The table view, and status from what the watchers recorded.
        let table = try await fixture.run(["history", "checkout", "--state", fixture.state, "--env", "production", "--limit", "2"])
        #expect(table.stdout.contains("recovered") && table.stdout.contains("unreachable") && !table.stdout.contains("first-seen"), "\(table.stdout)")
        let status = try await fixture.run(["status", "--manifest", manifest, "--state", fixture.state])
        #expect(status.status == 1, "an unreachable instance is open")
        #expect(status.stdout.contains("1.4.1 (+1 unreachable)"), "\(status.stdout)")
        // The channel URL's secret path never shows.
        #expect(!fixture.printed.contains("T0SECRET99"))
        await a.stop()
        await receiver.stop()
    }

    @Test func twoWatchersOnOneTableAndAKillMidCycleLoseAndRepeatNothing() async throws {
        let fixture = try await Fixture()
        let receiver = try WebhookReceiver()
        var services: [VersionedService] = []
        for _ in 0..<6 { services.append(try VersionedService(version: "1.0.0")) }
        // A slow instance: the cycle of whoever reads it is held there while the test kills it.
        let slowGate = Gate()
        let slow = try ScriptedServer { _, _ in
            await slowGate.pass()
            return ScriptedServer.json(#"{"version":"1.0.0"}"#)
        }
        await slowGate.open()
        var list = services.enumerated().map { (name: "svc-\($0.offset)", urls: [$0.element.url], expect: String?.none) }
        list.append((name: "slow", urls: [slow.url("/info")], expect: nil))
        try await fixture.upload("fleet.yaml", Self.yamlManifest(receiver: receiver, services: list))
        let manifest = "s3://\(fixture.bucket)/fleet.yaml"
        #expect(try await fixture.run(["state", "init", fixture.state]).status == 0)
        #expect(try await fixture.cycle(manifest).status == 0) // the baseline

        // Two watchers at once, three rounds of changes: every change recorded and alerted once.
        for round in 1...3 {
            for (index, service) in services.enumerated() where index % round == 0 { service.version = "1.\(round).0" }
            async let first = fixture.cycle(manifest)
            async let second = fixture.cycle(manifest)
            let results = try await [first, second]
            for result in results { #expect(result.status == 0, "round \(round): \(result.output)") }
        }
        // A watcher killed in the middle of a cycle (held at the slow instance), after the change
        // it would have recorded: the next one records and alerts it, once.
        for service in services { service.version = "2.0.0" }
        let gate = Gate()
        let holding = try ScriptedServer { _, _ in
            await gate.pass()
            return ScriptedServer.json(#"{"version":"1.0.0"}"#)
        }
        list[list.count - 1] = (name: "slow", urls: [holding.url("/info")], expect: nil)
        try await fixture.upload("fleet.yaml", Self.yamlManifest(receiver: receiver, services: list))
        let doomed = ChildProcess(try Products.executable("versioncheck"),
                                  ["watch", "--manifest", manifest, "--state", fixture.state, "--every", "1h"],
                                  environment: fixture.moto.environment())
        try doomed.start()
        await gate.waitForArrivals(1)
        doomed.send(signal: SIGKILL)
        _ = try await doomed.waitForExit()
        await gate.open()
        async let first = fixture.cycle(manifest)
        async let second = fixture.cycle(manifest)
        _ = try await [first, second]

        let history = try await fixture.history()
        let changes = history.filter { $0["kind"] as? String == "deployed" }
        let keys = receiver.requests.compactMap { $0.header("Idempotency-Key") }
        #expect(Set(keys).count == keys.count, "no alert twice: \(keys.sorted())")
        // Every recorded change was alerted: one alert per service and cycle.
        let expected = Set(changes.compactMap { event -> String? in
            guard let id = event["id"] as? String, id.hasSuffix(".1") else { return nil }
            return "\(id):ops"
        })
        #expect(Set(keys) == expected, "lost: \(expected.subtracting(keys)); unexpected: \(Set(keys).subtracting(expected))")
        let deployedCount = changes.count
        #expect(deployedCount == 17, "6 + 3 + 2 + 6 deployed events: \(deployedCount)")
        for service in services { await service.stop() }
        await slow.stop()
        await holding.stop()
        await receiver.stop()
    }

    /// An alert claimed by a watcher that was then killed mid-send: a `--once` run with time to
    /// deliver waits for the claim to run out and sends it (the crash campaign found a final run
    /// that left such alerts behind and exited); one with less time than the claim leaves it be.
    @Test func aOnceRunWaitsForAKilledWatchersClaimWithinItsDeliveryTime() async throws {
        let fixture = try await Fixture()
        let receiver = try WebhookReceiver()
        #expect(try await fixture.run(["state", "init", fixture.state]).status == 0)
        let store = try await DynamoWatchStore.open(client: fixture.aws, table: fixture.table, lease: .seconds(4))
        var deployment = CodeDeployDeployment(id: "d-CLAIMED01", application: "checkout", group: "checkout-prod", status: "Succeeded")
        deployment.completeTime = Date()
        let alert = Alert.deployment(deployment, now: Date())
        let delivery = Delivery(id: "\(alert.id):ops", channel: "ops", alert: alert)
        #expect(try await store.enqueue([delivery]).count == 1)
        #expect(await store.claim(delivery.id, attempt: 1), "the claim of the watcher that dies")
        let claimed = ContinuousClock.now

        let service = try VersionedService(version: "1.0.0")
        let manifest = fixture.directory + "/fleet.json"
        try Data(#"{"channels": {"ops": {"type": "webhook", "url": "\#(receiver.url("/hooks/ops"))"}}, "services": [{"name": "api", "url": "\#(service.url)"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: manifest))
        let short = try await fixture.cycle(manifest, ["--deliver-within", "1s"])
        #expect(short.status == 0, "\(short.output)")
        #expect(receiver.requests.isEmpty, "1 s is less than the claim has left: not this run's to send")

        let drain = try await fixture.cycle(manifest, ["--deliver-within", "30s"])
        #expect(drain.status == 0, "\(drain.output)")
        #expect(receiver.requests.compactMap { $0.header("Idempotency-Key") } == [delivery.id])
        #expect(ContinuousClock.now - claimed >= .seconds(4), "sent only once the claim ran out")
        #expect(drain.output.contains("1 alert was being sent by a watcher that stopped"), "\(drain.output)")
        #expect(try await store.pending(shard: nil).isEmpty)
        await service.stop()
        await receiver.stop()
    }

    @Test func shardedWatchersShareOneTableEachWithItsPart() async throws {
        let fixture = try await Fixture()
        let receiver = try WebhookReceiver()
        var services: [VersionedService] = []
        for _ in 0..<8 { services.append(try VersionedService(version: "1.0.0")) }
        let list = services.enumerated().map { (name: "svc-\($0.offset)", urls: [$0.element.url], expect: String?.none) }
        try await fixture.upload("fleet.yaml", Self.yamlManifest(receiver: receiver, services: list))
        let manifest = "s3://\(fixture.bucket)/fleet.yaml"
        #expect(try await fixture.run(["state", "init", fixture.state]).status == 0)
        for service in services { service.version = "1.0.0" }
        async let one = fixture.cycle(manifest, ["--shard", "1/2"])
        async let two = fixture.cycle(manifest, ["--shard", "2/2"])
        let first = try await [one, two]
        let counts = first.map { result in
            Int(result.stdout.split(separator: " ").drop { $0 != "cycle:" }.dropFirst().first ?? "") ?? -1
        }
        #expect(counts.reduce(0, +) == 8 && !counts.contains(0), "the two parts cover the fleet: \(counts)")
        for service in services { service.version = "1.1.0" }
        async let three = fixture.cycle(manifest, ["--shard", "1/2"])
        async let four = fixture.cycle(manifest, ["--shard", "2/2"])
        _ = try await [three, four]
        let keys = receiver.requests.compactMap { $0.header("Idempotency-Key") }
        #expect(keys.count == 8 && Set(keys).count == 8, "each service's deployment alerted once, by its shard: \(keys)")
        #expect(try await fixture.history().count == 16)
        for service in services { await service.stop() }
        await receiver.stop()
    }

    @Test func aManifestFromAnHTTPURL() async throws {
        let service = try VersionedService(version: "2.0.0")
        let server = try ScriptedServer { _, _ in
            InfoResponse(status: 200, contentType: "application/yaml", body: "services:\n  - {name: api, url: \"\(service.url)\", expect: 2.0.0}\n")
        }
        let state = NSTemporaryDirectory() + "url-manifest-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let result = try await runProduct("versioncheck", ["watch", "--once", "--manifest", server.url("/fleet"), "--state", state])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("first-seen  api (default)  at 2.0.0"))
        let missing = try await runProduct("versioncheck", ["watch", "--once", "--manifest", "http://127.0.0.1:9/fleet.yaml", "--state", state])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("http://127.0.0.1:9/fleet.yaml: cannot read it: connection refused"), "\(missing.stderr)")
        await server.stop()
        await service.stop()
    }

    @Test func manifestsFromS3InJSONAndYAMLAndTheirErrors() async throws {
        let fixture = try await Fixture()
        let service = try VersionedService(version: "3.0.0")
        let receiver = try WebhookReceiver()
        let directory = "\(fixture.directory)/state"
        try await fixture.upload("fleet.json", #"{"services": [{"name": "api", "url": "\#(service.url)", "expect": "3.0.0"}]}"#)
        var result = try await fixture.run(["watch", "--once", "--manifest", "s3://\(fixture.bucket)/fleet.json", "--state", directory])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("first-seen  api (default)  at 3.0.0"))
        // A mistake in a YAML manifest names the line, or the JSON path, and the S3 location.
        try await fixture.upload("broken.yaml", "services:\n  - name: api\n    url: [unclosed\n")
        result = try await fixture.run(["watch", "--once", "--manifest", "s3://\(fixture.bucket)/broken.yaml", "--state", directory])
        #expect(result.status == 2)
        #expect(result.stderr.contains("s3://\(fixture.bucket)/broken.yaml: line 3, column"), "\(result.stderr)")
        try await fixture.upload("typo.yml", "services:\n  - name: api\n    url: \(service.url)\n    expct: 3.0.0\n")
        result = try await fixture.run(["watch", "--once", "--manifest", "s3://\(fixture.bucket)/typo.yml", "--state", directory])
        #expect(result.status == 2)
        #expect(result.stderr.contains("s3://\(fixture.bucket)/typo.yml: services[0].expct: unknown key 'expct' (did you mean 'expect'?)"), "\(result.stderr)")
        result = try await fixture.run(["watch", "--once", "--manifest", "s3://\(fixture.bucket)/nothing.yaml", "--state", directory])
        #expect(result.status == 2)
        #expect(result.stderr.contains("s3://\(fixture.bucket)/nothing.yaml: no such object (NoSuchKey)"), "\(result.stderr)")
        // Credentials refused, or none at all: exit 3, the sources named, no secret shown.
        result = try await fixture.run(["watch", "--once", "--manifest", "s3://\(fixture.bucket)/fleet.json", "--state", directory],
                                       environment: ["AWS_SECRET_ACCESS_KEY": "notTheSecretAtAll0000000000000000000000"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("S3 GetObject s3://\(fixture.bucket)/fleet.json: SignatureDoesNotMatch"), "\(result.stderr)")
        #expect(!result.output.contains("notTheSecretAtAll"))
        var bare = fixture.moto.environment()
        bare.removeValue(forKey: "AWS_ACCESS_KEY_ID")
        bare.removeValue(forKey: "AWS_SECRET_ACCESS_KEY")
        let none = try await runProduct("versioncheck", ["watch", "--once", "--manifest", "s3://\(fixture.bucket)/fleet.json", "--state", directory],
                                        environment: bare)
        #expect(none.status == 3)
        #expect(none.stderr.contains("no usable AWS credentials") && none.stderr.contains("environment: AWS_ACCESS_KEY_ID is not set"), "\(none.stderr)")
        bare.removeValue(forKey: "AWS_REGION")
        let noRegion = try await runProduct("versioncheck", ["watch", "--once", "--manifest", "s3://\(fixture.bucket)/fleet.json", "--state", directory],
                                            environment: bare)
        #expect(noRegion.status == 2)
        #expect(noRegion.stderr.contains("no region: set AWS_REGION"))
        await service.stop()
        await receiver.stop()
    }

    @Test func containerCredentialsAndAProfileFileReachAWS() async throws {
        let fixture = try await Fixture()
        let service = try VersionedService(version: "1.0.0")
        try await fixture.upload("fleet.yaml", "services:\n  - name: api\n    url: \(service.url)\n")
        let manifest = "s3://\(fixture.bucket)/fleet.yaml"
        var base = fixture.moto.environment()
        base.removeValue(forKey: "AWS_ACCESS_KEY_ID")
        base.removeValue(forKey: "AWS_SECRET_ACCESS_KEY")
        // ECS/EKS: the container endpoint, with its authorization token.
        let expiration = Timestamps.iso8601(Date().addingTimeInterval(3600))
        let endpoint = try ScriptedServer { [moto = fixture.moto] request, _ in
            guard request.header("Authorization") == "pod-identity-token" else { return ScriptedServer.json("{}", status: 403) }
            return ScriptedServer.json(#"{"AccessKeyId":"\#(moto.accessKeyID)","SecretAccessKey":"\#(moto.secretAccessKey)","Token":"","Expiration":"\#(expiration)"}"#)
        }
        var container = base
        container["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = endpoint.url("/v2/credentials")
        container["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "pod-identity-token"
        var result = try await runProduct("versioncheck", ["watch", "--once", "--manifest", manifest, "--state", "\(fixture.directory)/a"],
                                          environment: container)
        #expect(result.status == 0, "\(result.output)")
        #expect(endpoint.requests.count == 1)
        #expect(!result.output.contains("pod-identity-token"))
        // A profile in the shared credentials file.
        let credentials = "\(fixture.directory)/credentials"
        try "[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[deploys]\naws_access_key_id = \(fixture.moto.accessKeyID)\naws_secret_access_key = \(fixture.moto.secretAccessKey)\n"
            .write(toFile: credentials, atomically: true, encoding: .utf8)
        var profile = base
        profile["AWS_SHARED_CREDENTIALS_FILE"] = credentials
        profile["AWS_PROFILE"] = "deploys"
        result = try await runProduct("versioncheck", ["watch", "--once", "--manifest", manifest, "--state", "\(fixture.directory)/b"],
                                      environment: profile)
        #expect(result.status == 0, "\(result.output)")
        profile["AWS_PROFILE"] = "default"
        result = try await runProduct("versioncheck", ["watch", "--once", "--manifest", manifest, "--state", "\(fixture.directory)/c"],
                                      environment: profile)
        #expect(result.status == 3, "the default profile's keys are refused: \(result.output)")
        await endpoint.stop()
        await service.stop()
    }

    @Test func asALambdaFunctionEachInvocationRunsOneCycleAndAnswersItsSummary() async throws {
        let fixture = try await Fixture()
        let service = try VersionedService(version: "5.0.0")
        let receiver = try WebhookReceiver()
        try await fixture.upload("fleet.yaml", Self.yamlManifest(receiver: receiver, services: [("billing", [service.url], nil)]))
        #expect(try await fixture.run(["state", "init", fixture.state]).status == 0)
        let runtime = try LambdaRuntimeAPIServer()
        // The static binary as bootstrap: no arguments, the command line from VERSIONCHECK_ARGS.
        let bootstrap = ChildProcess(try Products.executable("versioncheck"), [], environment: fixture.moto.environment(runtime.environment.merging([
            "VERSIONCHECK_ARGS": "watch --once --manifest s3://\(fixture.bucket)/fleet.yaml --state \(fixture.state)",
        ]) { _, new in new }))
        try bootstrap.start()
        runtime.enqueue(.init(requestID: "inv-1", body: #"{"source":"aws.scheduler"}"#))
        let first = try #require(await runtime.waitForPost("inv-1"))
        #expect(first.kind == .response, "\(first.text)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(first.body)) as? [String: Any])
        #expect(summary["services"] as? Int == 1)
        #expect((summary["events"] as? [String: Int])?["first-seen"] == 1)
        #expect(summary["status"] as? Int == 0)

        service.version = "5.1.0"
        runtime.enqueue(.init(requestID: "inv-2", body: "{}"))
        let second = try #require(await runtime.waitForPost("inv-2"))
        let next = try #require(try JSONSerialization.jsonObject(with: Data(second.body)) as? [String: Any])
        #expect((next["events"] as? [String: Int])?["deployed"] == 1, "\(second.text)")
        #expect((next["deliveries"] as? [String: Int])?["delivered"] == 1)
        #expect(receiver.requests.count == 1)
        #expect(!second.text.contains("T0SECRET99"))

        // A manifest that cannot be read is the invocation's error, and the function goes on.
        try await fixture.upload("fleet.yaml", "services: [\n")
        runtime.enqueue(.init(requestID: "inv-3", body: "{}"))
        let third = try #require(await runtime.waitForPost("inv-3"))
        #expect(third.kind == .error)
        #expect(third.text.contains("fleet.yaml: line 1, column 11: unterminated flow sequence"), "\(third.text)")
        await runtime.stop()
        _ = try? await bootstrap.waitForExit(timeout: .seconds(10))
        await service.stop()
        await receiver.stop()
    }

    @Test func aBootstrapWithoutItsCommandLineReportsAnInitError() async throws {
        let runtime = try LambdaRuntimeAPIServer()
        let bootstrap = ChildProcess(try Products.executable("versioncheck"), [], environment: runtime.environment)
        #expect(try await bootstrap.run(timeout: .seconds(30)) == 1)
        let post = try #require(await runtime.waitForInitError())
        #expect(post.text.contains("set VERSIONCHECK_ARGS to the command line"), "\(post.text)")
        await runtime.stop()
    }
}
