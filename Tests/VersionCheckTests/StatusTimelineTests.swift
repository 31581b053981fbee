import DeployVerifyKit
import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import VersionCheck
#if canImport(Glibc)
import Glibc
#endif

/// A record of the approval trail, as hookrunner writes it.
private func record(_ event: ApprovalRecord.Event, _ request: String, at seconds: Double, service: String? = "checkout",
                    environment: String? = nil, by: String? = nil, via: String? = nil) -> ApprovalRecord {
    var record = ApprovalRecord(time: Date(timeIntervalSince1970: 1_795_000_000 + seconds), event: event, request: request)
    record.service = service
    record.environment = environment
    record.version = "1.4.2"
    record.build = "4711"
    record.phase = "canary"
    record.step = "release manager approves"
    record.by = by
    record.via = via
    if by != nil {
        record.address = "10.0.3.7"
        record.forwardedFor = "203.0.113.40"
    }
    return record
}

private func append(_ lines: [String], to path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
}

private func temporaryDirectory(_ prefix: String) throws -> String {
    let directory = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}

@Suite("status page: approval decisions and CodeDeploy deployments on the timeline", .serialized)
struct StatusTimelineTests {
    // MARK: The approval trail

    @Test func theTrailIsFollowedEachDecisionOnceAndNothingButDecisions() throws {
        let directory = try temporaryDirectory("status-trail")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/approvals.jsonl"
        var timedOut = record(.timedOut, "apr-3", at: 300, environment: "production")
        timedOut.outcome = .approve
        var refused = record(.refused, "apr-2", at: 100, by: "mallory", via: "typed name")
        refused.decision = .approve
        refused.reason = "mallory is not among the approvers"
        try ([
            record(.requested, "apr-1", at: 0, environment: "production"),
            record(.approved, "apr-1", at: 60, environment: "production", by: "alice@example.com", via: "header X-Forwarded-User"),
            record(.requested, "apr-2", at: 90),
            refused,
            record(.rolledBack, "apr-2", at: 120, by: "bob", via: "typed name"),
            record(.requested, "apr-3", at: 200, environment: "production"),
            timedOut,
            record(.preApproved, "apr-4", at: 400, environment: "staging", via: "--pre-approve"),
            record(.approved, "apr-5", at: 500, service: nil, by: "carol", via: "typed name"),
            record(.cancelled, "apr-6", at: 600),
        ].map(\.jsonLine) + ["not json", #"{"event":"approved"}"#]).joined(separator: "\n").appending("\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        // A record being written: not read until its line is whole.
        let torn = record(.approved, "apr-7", at: 700, by: "dave", via: "typed name").jsonLine
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(torn.prefix(40).utf8))
        try handle.close()

        var reader = ApprovalTrailReader(path: path)
        var events: [TimelineEvent] = []
        try reader.read { events.append($0) }
        #expect(events.map(\.id) == ["apr-1", "apr-2", "apr-3", "apr-4"], "decisions with a service, once each; no refusal, cancellation or request")
        #expect(events.map(\.kind) == [.approvalApproved, .approvalRolledBack, .approvalTimedOut, .approvalPreApproved])
        #expect(events.map(\.environment) == ["production", "", "production", "staging"])
        #expect(events[0].change == "1.4.2 (build 4711) · approved by alice@example.com (header X-Forwarded-User) · canary: release manager approves")
        #expect(events[1].change.contains("rolled back by bob (typed name)"))
        #expect(events[2].change.contains("no decision in time: approved (onTimeout)"))
        #expect(events[3].change.contains("pre-approved (--pre-approve)"))
        // The stored form keeps who, how and what; the client's addresses stay in the trail.
        let stored = try #require(try JSONSerialization.jsonObject(with: Data(events[0].json.utf8)) as? [String: Any])
        #expect(stored["by"] as? String == "alice@example.com" && stored["event"] as? String == "approved")
        #expect(stored["build"] as? String == "4711" && stored["environment"] as? String == "production")
        #expect(stored["address"] == nil && stored["forwardedFor"] == nil)

        // Nothing new: nothing read. hookrunner cuts the torn line off and appends: only the new one.
        let before = reader.offset
        try reader.read { events.append($0) }
        #expect(events.count == 4 && reader.offset == before)
        try Data(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(Int(before))).write(to: URL(fileURLWithPath: path))
        try append([record(.approved, "apr-8", at: 800, environment: "production", by: "erin", via: "typed name").jsonLine], to: path)
        try reader.read { events.append($0) }
        #expect(events.map(\.id).suffix(2) == ["apr-4", "apr-8"])
        // A trail that shrank (replaced): read again from its start, nothing shown twice.
        try [record(.approved, "apr-1", at: 60, by: "alice", via: "typed name").jsonLine,
             record(.approved, "apr-9", at: 900, environment: "production", by: "frank", via: "typed name").jsonLine].joined(separator: "\n").appending("\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        try reader.read { events.append($0) }
        #expect(events.map(\.id).suffix(2) == ["apr-8", "apr-9"])

        // On the timeline: a decision without an environment is in every environment of its service.
        var index = HistoryIndex()
        for event in events { index.add(event) }
        index.sort()
        var query = StatusQuery(now: Date(timeIntervalSince1970: 1_795_000_000))
        query.since = Date(timeIntervalSince1970: 1_795_000_000 - 3600)
        query.until = Date(timeIntervalSince1970: 1_795_000_000 + 3600)
        query.environment = "staging"
        let staging = Timeline(index: index, query: query)
        #expect(staging.latest.map(\.id) == ["apr-4", "apr-2"], "\(staging.latest.map(\.id))")
        query.environment = "production"
        #expect(Timeline(index: index, query: query).latest.map(\.id) == ["apr-9", "apr-8", "apr-3", "apr-2", "apr-1"])
        query.environment = nil
        let all = Timeline(index: index, query: query)
        #expect(all.total == 6 && all.rows.map(\.service) == ["checkout"])
        #expect(all.rows[0].marks.first?.kind == .approvalRolledBack, "apr-1 and apr-2 share a bucket: the roll-back is more severe")
    }

    /// A fleet (checkout in production and staging), its watcher's state, a real `hookrunner` run
    /// of a pre-approved approval step, and decisions appended as `hookrunner serve` records them.
    @Test func approvalsShowOnTheStatusPageAndInTheAPIAndServeFollowsTheTrail() async throws {
        let directory = try temporaryDirectory("status-approvals")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let production = try VersionedService(version: "1.4.2"), staging = try VersionedService(version: "1.4.2")
        let receiver = try WebhookReceiver()
        let secret = "INFO-TOKEN-SECRET-61"
        let environment = ProcessInfo.processInfo.environment.filter { !["PRE_APPROVE", "HOOKRUNNER_APPROVAL_KEY"].contains($0.key) }
            .merging(["INFO_TOKEN": secret]) { $1 }
        let manifest = "\(directory)/fleet.json", state = "\(directory)/state", trail = "\(directory)/approvals.jsonl"
        try """
        {"services": [
          {"name": "checkout", "environment": "production", "url": "\(production.url)", "headers": {"Authorization": "Bearer ${INFO_TOKEN}"}},
          {"name": "checkout", "environment": "staging", "url": "\(staging.url)"}
        ]}
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        try """
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [{"name": "release manager approves", "approval": {"channels": ["bot"], "service": "checkout",
           "environment": "staging", "version": "1.4.2", "build": "${BUILD}"}}]}}
        """.write(toFile: "\(directory)/hooks.json", atomically: true, encoding: .utf8)

        let watch = try await runProduct("versioncheck", ["watch", "--once", "--quiet", "--manifest", manifest, "--state", state],
                                         environment: environment)
        #expect(watch.status == 0, "\(watch.output)")
        let run = try await runProduct("hookrunner", ["canary", "--config", "\(directory)/hooks.json", "--approvals", trail, "--pre-approve",
                                                      "--var", "BUILD=4711"], environment: environment)
        #expect(run.status == 0, "\(run.output)")
        // What hookrunner serve records for a click on production's link, and an attempt it refused.
        let hostile = "<img src=x onerror=alert(1)> \(secret)"
        var refused = record(.refused, "apr-prod1", at: 0, environment: "production", by: "mallory-the-refused", via: "typed name")
        refused.time = Date()
        refused.reason = "the link has expired"
        var approved = record(.approved, "apr-prod1", at: 0, environment: "production", by: hostile, via: "typed name")
        approved.time = Date()
        try append([refused.jsonLine, approved.jsonLine], to: trail)

        let page = try await runProduct("versioncheck", ["status", "--manifest", manifest, "--state", state, "--format", "html",
                                                         "--approvals", trail], environment: environment)
        #expect(page.status == 0, "\(page.stderr)")
        let html = page.stdout
        #expect(html.components(separatedBy: "data-kind=\"approval-pre-approved\"").count == 2, "one pre-approval in the events")
        #expect(html.components(separatedBy: "data-kind=\"approval-approved\"").count == 2, "one approval in the events")
        #expect(html.contains("<use href=\"#k-approval-pre-approved\"") || html.contains("<use href=\"#k-approval-approved\""),
                "a mark on checkout's lane")
        #expect(html.contains("<symbol id=\"k-approval-approved\"") && html.contains("★ approved") && html.contains("☆ pre-approved"))
        #expect(html.contains("data-env=\"staging\" data-kind=\"approval-pre-approved\""))
        #expect(html.contains("1.4.2 (build 4711) · pre-approved (--pre-approve) · canary: release manager approves"))
        #expect(html.contains("approved by &lt;img src=x onerror=alert(1)&gt; ***"), "escaped and redacted")
        #expect(!html.contains("<img src=x") && !html.contains(secret), "never markup, never the manifest's secret")
        #expect(!html.contains("mallory-the-refused"), "refused attempts are not shown")
        #expect(html.contains("Approval decisions are read from \(trail)"))

        // Without a trail there, status says so; watch has no --approvals.
        let missing = try await runProduct("versioncheck", ["status", "--manifest", manifest, "--state", state, "--format", "html",
                                                            "--approvals", "\(directory)/none.jsonl"], environment: environment)
        #expect(missing.status == 2 && missing.stderr.contains("--approvals: no approval trail at"), "\(missing.output)")
        let json = try await runProduct("versioncheck", ["status", "--manifest", manifest, "--format", "json", "--approvals", trail],
                                        environment: environment)
        #expect(json.status == 2 && json.stderr.contains("--approvals applies to --format html"), "\(json.output)")

        // serve: the API lists the decisions and follows the trail as it grows.
        let server = ChildProcess(try Products.executable("versioncheck"),
                                  ["serve", "--manifest", manifest, "--state", state, "--approvals", trail, "--host", "127.0.0.1", "--port", "0"],
                                  environment: environment)
        try server.start()
        let line = try await server.waitForLine(containing: "status page on")
        let port = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }.flatMap { URLComponents(string: String($0))?.port })
        func history(_ query: String) async throws -> [String: Any] {
            let client = try RawClient(port: port)
            defer { client.close() }
            let response = try await client.get("/api/history?" + query)
            #expect(response.status == 200)
            return try #require(response.json, "\(response.text.prefix(300))")
        }
        func decisions(_ body: [String: Any]) -> [[String: Any]] {
            (body["events"] as? [[String: Any]] ?? []).filter { ($0["kind"] as? String)?.hasPrefix("approval-") == true }
        }
        let first = try await history("since=1h")
        let listed = decisions(first)
        #expect(listed.map { $0["kind"] as? String } == ["approval-approved", "approval-pre-approved"], "\(listed)")
        let preApproval = try #require(listed.last)
        #expect(preApproval["service"] as? String == "checkout" && preApproval["environment"] as? String == "staging")
        #expect(preApproval["label"] as? String == "☆ pre-approved")
        let stored = try #require(preApproval["stored"] as? [String: Any])
        #expect(stored["via"] as? String == "--pre-approve" && stored["build"] as? String == "4711" && stored["version"] as? String == "1.4.2")
        #expect((listed.first?["change"] as? String)?.contains("approved by <img src=x onerror=alert(1)> ***") == true)
        #expect(!String(describing: first).contains(secret) && !String(describing: first).contains("mallory-the-refused"))
        #expect(((first["timeline"] as? [String: Any])?["rows"] as? [[String: Any]])?.first?["service"] as? String == "checkout")
        #expect(decisions(try await history("since=1h&env=production")).count == 1)

        var rolledBack = record(.rolledBack, "apr-prod2", at: 0, by: "bob", via: "typed name")
        rolledBack.time = Date()
        try append([rolledBack.jsonLine], to: trail)
        var grown: [[String: Any]] = []
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(250))
            grown = decisions(try await history("since=1h"))
            if grown.count == 3 { break }
        }
        #expect(grown.first?["kind"] as? String == "approval-rolled-back" && grown.first?["environment"] as? String == "",
                "the new decision, in every environment: \(grown)")
        #expect(decisions(try await history("since=1h&env=production")).count == 2)
        #expect(decisions(try await history("since=1h&env=staging")).count == 2)

        server.send(signal: SIGTERM)
        #expect(try await server.waitForExit() == 0)
        for service in [production, staging] { await service.stop() }
        await receiver.stop()
    }

    // MARK: CodeDeploy deployments in DynamoDB

    @Test func aDeploymentQueuedInDynamoDBStillShowsAfterItsDeliveries() async throws {
        let moto = try await MotoServer.shared()
        let aws = try AWSClient(environment: moto.environment())
        let table = "timeline-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await DynamoWatchStore.initialize(client: aws, table: table)
        let store = try await DynamoWatchStore.open(client: aws, table: table, lease: .seconds(30))
        var failed = CodeDeployDeployment(id: "d-DYNAMO01", application: "checkout", group: "checkout-prod", status: "Failed")
        failed.completeTime = Date().addingTimeInterval(-120)
        failed.errorCode = "HEALTH_CONSTRAINTS"
        let alert = Alert.deployment(failed, now: Date())
        func deliveries(_ channels: [String]) -> [Delivery] {
            channels.map { Delivery(id: "\(alert.id):\($0)", channel: $0, alert: alert) }
        }
        let history = DynamoHistory(table: store.table)

        // Two channels: two deliveries, one deployments item.
        #expect(try await store.enqueue(deliveries(["ops", "slack"])).count == 2)
        var kept = try await history.deployments(since: nil)
        #expect(kept.map(\.id) == [alert.id] && kept.first?.deployment?.errorCode == "HEALTH_CONSTRAINTS")
        let items = try await store.table.query(keyCondition: "pk = :pk", values: [":pk": .string("deployments")])
        #expect(items.first?["sk"]?.stringValue == Timestamps.iso8601(failed.completeTime!, milliseconds: true) + "#d-DYNAMO01")
        // Queued again (another watcher, a restart): nothing new. A channel added since: queued
        // although the item exists (its failed condition does not keep the delivery out).
        #expect(try await store.enqueue(deliveries(["ops", "slack"])).isEmpty)
        #expect(try await store.enqueue(deliveries(["teams"])).map(\.channel) == ["teams"])
        #expect(try await history.deployments(since: nil).count == 1)
        #expect(try await history.deployments(since: Date()).isEmpty, "sorted by the completion time")

        // Delivered: the outbox items leave the table, the deployment stays.
        let pending = try await store.pending(shard: nil)
        #expect(pending.count == 3)
        for delivery in pending {
            #expect(await store.claim(delivery.id, attempt: 1))
            await store.finish(delivery.id, state: "delivered", attempts: 1, status: 200, detail: nil)
        }
        #expect(try await store.pending(shard: nil).isEmpty)
        kept = try await history.deployments(since: nil)
        #expect(kept.count == 1)

        let manifest = try Manifest.parse(Array(#"{"services": [{"name": "checkout", "environment": "checkout-prod", "url": "http://127.0.0.1:9/info"}]}"#.utf8),
                                          path: "fleet.json", environment: [:])
        let source = StatusSource(manifest: manifest, location: .dynamoDB(table: table), aws: aws, minimumInterval: .zero)
        let snapshot = try await source.current()
        let timeline = Timeline(index: snapshot.index, query: StatusQuery())
        #expect(timeline.latest.map(\.kind) == [.codeDeployFailed] && timeline.latest.first?.id == alert.id)
        #expect(timeline.latest.first?.environment == "checkout-prod")
        #expect(snapshot.notes.contains { $0.contains("deployments items") }, "\(snapshot.notes)")
        // A second read finds nothing new; a deployment queued since joins.
        var succeeded = CodeDeployDeployment(id: "d-DYNAMO02", application: "checkout", group: "checkout-prod", status: "Succeeded")
        succeeded.completeTime = Date().addingTimeInterval(-30)
        let later = Alert.deployment(succeeded, now: Date())
        #expect(try await store.enqueue([Delivery(id: "\(later.id):ops", channel: "ops", alert: later)]).count == 1)
        let again = Timeline(index: try await source.current().index, query: StatusQuery())
        #expect(again.latest.map(\.id) == [later.id, alert.id])

        // The page, from the command line.
        try #"{"services": [{"name": "checkout", "environment": "checkout-prod", "url": "http://127.0.0.1:9/info"}]}"#
            .write(toFile: NSTemporaryDirectory() + "\(table).json", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "\(table).json") }
        let page = try await runProduct("versioncheck", ["status", "--manifest", NSTemporaryDirectory() + "\(table).json",
                                                         "--state", "dynamodb://\(table)", "--format", "html"],
                                        environment: moto.environment())
        #expect(page.stdout.contains("data-kind=\"codedeploy-failed\"") && page.stdout.contains("data-kind=\"codedeploy-succeeded\""),
                "\(page.stderr)")
        #expect(page.stdout.contains("deployment d-DYNAMO01 failed"))
    }
}
