import DeployVerifyKit
import Foundation
import Testing
import TestSupport

/// A watch set-up in a temporary directory: the manifest, the state directory, and the
/// environment the watcher gets (with the secrets the manifest refers to).
private final class WatchFixture: @unchecked Sendable {
    let directory: String
    var environment: [String: String]
    /// Everything the versioncheck runs of this fixture printed.
    private(set) var printed = ""

    init(environment extra: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "watch-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var manifestPath: String { "\(directory)/fleet.json" }
    var state: String { "\(directory)/state" }

    func writeManifest(_ text: String) throws {
        try text.write(toFile: manifestPath, atomically: true, encoding: .utf8)
    }

    func write(_ text: String, to name: String) throws {
        try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
    }

    func versioncheck(_ arguments: [String]) async throws -> CommandResult {
        let result = try await runProduct("versioncheck", arguments, environment: environment)
        printed += result.output
        return result
    }

    /// One `watch --once` cycle.
    func cycle(_ extra: [String] = []) async throws -> CommandResult {
        try await versioncheck(["watch", "--once", "--manifest", manifestPath, "--state", state] + extra)
    }

    /// A watcher in loop mode, started.
    func loop(_ extra: [String] = []) throws -> ChildProcess {
        let process = ChildProcess(try Products.executable("versioncheck"),
                                   ["watch", "--manifest", manifestPath, "--state", state] + extra, environment: environment)
        try process.start()
        return process
    }

    func history(_ extra: [String] = []) async throws -> [[String: Any]] {
        let result = try await versioncheck(["history", "--state", state, "--format", "json"] + extra)
        guard result.status == 0 else { throw TestFailure("history: \(result.output)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    /// The contents of every file in the state directory.
    func stateFiles() throws -> String {
        try FileManager.default.contentsOfDirectory(atPath: state).map { name in
            (try? String(contentsOfFile: "\(state)/\(name)", encoding: .utf8)) ?? ""
        }.joined(separator: "\n")
    }

    func deliveries() throws -> [[String: Any]] {
        try String(contentsOfFile: "\(state)/deliveries.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }
}

private func kinds(_ history: [[String: Any]]) -> [String] {
    history.map { "\($0["kind"] as? String ?? "?") \($0["instance"] as? String ?? "?")" }
}

@Suite("versioncheck watch against real services", .serialized)
struct WatchCommandTests {
    @Test func everyEventKindAlertsOncePerChangeOnEachChannel() async throws {
        let a = try VersionedService(version: "1.4.1", revision: "aaaaaaa1111")
        let b = try VersionedService(version: "1.4.1", revision: "aaaaaaa1111")
        let receiver = try WebhookReceiver()
        let slackPath = "/services/T000/B000/SLACKSECRET9"
        let fixture = try WatchFixture(environment: [
            "SLACK_WEBHOOK_URL": receiver.url(slackPath), "INFO_TOKEN": "info-token-SECRET-42", "PD_KEY": "PDKEY-SECRET-77",
        ])
        try fixture.write("1.4.1\n", to: "expected")
        try fixture.writeManifest("""
        {
          "settings": { "unreachableAfter": 2, "timeout": "2s" },
          "channels": {
            "ops": { "type": "webhook", "url": "\(receiver.url("/ops"))" },
            "team-slack": { "type": "slack", "url": "${SLACK_WEBHOOK_URL}" },
            "pd": { "type": "pagerduty", "url": "\(receiver.url("/pd"))", "routingKey": "${PD_KEY}" }
          },
          "services": [
            { "name": "checkout", "environment": "production", "urls": ["\(a.url)", "\(b.url)"],
              "headers": { "Authorization": "Bearer ${INFO_TOKEN}" },
              "expect": { "file": "\(fixture.directory)/expected" }, "notify": ["team-slack", "ops", "pd"] }
          ]
        }
        """)
        var seen = 0
        /// The requests the receiver got since the last call, as path → count.
        func newRequests() async -> [String: Int] {
            let all = receiver.requests
            defer { seen = all.count }
            return Dictionary(grouping: all[seen...], by: { $0.path == slackPath ? "slack" : String($0.path.dropFirst()) }).mapValues(\.count)
        }
        func cycle(_ status: Int32, _ note: Comment) async throws -> CommandResult {
            let result = try await fixture.cycle()
            #expect(result.status == status, "\(note): \(result.output)")
            return result
        }

        // 1: the baseline. No alert for first-seen; the service's headers are sent.
        let first = try await cycle(0, "baseline")
        #expect(first.stdout.components(separatedBy: "first-seen  checkout (production)  at 1.4.1").count == 3)
        #expect(await newRequests().isEmpty)
        #expect(a.lastHeader("Authorization") == "Bearer info-token-SECRET-42")
        // 2: nothing changed.
        let quiet = try await cycle(0, "no change")
        #expect(quiet.stdout.contains("0 events, 0 alerts queued"))
        #expect(await newRequests().isEmpty)

        // 3: the release pipeline expects 1.4.2; a is deployed, b is left behind (drift, mixed fleet).
        try fixture.write("1.4.2\n", to: "expected")
        a.version = "1.4.2"
        a.revision = "bbbbbbb2222"
        let deploy = try await cycle(1, "drift is open")
        #expect(deploy.stdout.contains("deployed  checkout (production)  1.4.1 → 1.4.2  \(a.url)"))
        #expect(deploy.stdout.contains("drift  checkout (production)  1.4.1, expected 1.4.2  \(b.url)"))
        #expect(deploy.stdout.contains("mixed fleet: checkout (production) 1× 1.4.1, 1× 1.4.2"))
        #expect(await newRequests() == ["ops": 2, "slack": 2, "pd": 1])
        let deployed = try #require(receiver.requests.first { $0.path == "/ops" }?.json)
        #expect(deployed["type"] as? String == "deployed")
        #expect(deployed["from"] as? String == "1.4.1" && deployed["to"] as? String == "1.4.2")
        #expect(deployed["revision"] as? String == "bbbbbbb2222")
        #expect(deployed["instances"] as? [String] == [a.url])
        #expect(deployed["summary"] as? String == "checkout (production): deployed 1.4.1 → 1.4.2 on 1 of 2 instances; mixed fleet: 1× 1.4.1, 1× 1.4.2")
        let trigger = try #require(receiver.requests.first { $0.path == "/pd" })
        #expect(trigger.json?["event_action"] as? String == "trigger")
        #expect(trigger.json?["dedup_key"] as? String == "versioncheck/production/checkout/drift")
        #expect(trigger.json?["routing_key"] as? String == "PDKEY-SECRET-77")
        let slack = try #require(receiver.requests.first { $0.path == slackPath }?.json)
        #expect((slack["text"] as? String)?.contains("checkout (production): deployed 1.4.1 → 1.4.2") == true)

        // 4: b catches up: deployed, and its drift is resolved (PagerDuty resolves the same incident).
        b.version = "1.4.2"
        _ = try await cycle(0, "drift resolved")
        #expect(await newRequests() == ["ops": 2, "slack": 2, "pd": 1])
        let resolve = try #require(receiver.requests.last { $0.path == "/pd" }?.json)
        #expect(resolve["event_action"] as? String == "resolve")
        #expect(resolve["dedup_key"] as? String == "versioncheck/production/checkout/drift")

        // 5: someone rolls both back: one rolled-back alert for both instances, and drift again.
        a.version = "1.4.1"
        b.version = "1.4.1"
        let rollback = try await cycle(1, "rolled back into drift")
        #expect(rollback.stdout.contains("rolled-back  checkout (production)  1.4.2 → 1.4.1"))
        #expect(await newRequests() == ["ops": 2, "slack": 2, "pd": 1])
        let opsAlerts = receiver.requests.filter { $0.path == "/ops" }.compactMap(\.json)
        let rolledBack = try #require(opsAlerts.first { $0["type"] as? String == "rolled-back" })
        #expect(rolledBack["instances"] as? [String] == [a.url, b.url])
        #expect(rolledBack["summary"] as? String == "checkout (production): rolled back 1.4.2 → 1.4.1 on 2 of 2 instances")

        // 6: the pipeline agrees to stay on 1.4.1: recovered.
        try fixture.write("1.4.1\n", to: "expected")
        _ = try await cycle(0, "recovered")
        #expect(await newRequests() == ["ops": 1, "slack": 1, "pd": 1])

        // 7–9: a goes down: one failure is not yet unreachable, two are; then it is back.
        a.down = true
        _ = try await cycle(0, "one failure")
        #expect(await newRequests().isEmpty)
        let down = try await cycle(1, "unreachable")
        #expect(down.stdout.contains("unreachable  checkout (production)"))
        #expect(await newRequests() == ["ops": 1, "slack": 1, "pd": 1])
        a.down = false
        _ = try await cycle(0, "reachable again")
        #expect(await newRequests() == ["ops": 1, "slack": 1, "pd": 1])
        let reachable = try #require(receiver.requests.last { $0.path == "/ops" }?.json)
        #expect(reachable["type"] as? String == "recovered" && reachable["problem"] as? String == "unreachable")

        // Exactly one delivery per alert and channel: no idempotency key twice.
        let keys = receiver.requests.compactMap { $0.header("Idempotency-Key") }
        #expect(keys.count == receiver.requests.count && Set(keys).count == keys.count)

        // The audit trail.
        let history = try await fixture.history()
        #expect(kinds(history) == [
            "first-seen \(a.url)", "first-seen \(b.url)", "deployed \(a.url)", "drift \(b.url)", "deployed \(b.url)",
            "recovered \(b.url)", "rolled-back \(a.url)", "drift \(a.url)", "rolled-back \(b.url)", "drift \(b.url)",
            "recovered \(a.url)", "recovered \(b.url)", "unreachable \(a.url)", "recovered \(a.url)",
        ])
        #expect(history.map { $0["seq"] as? Int } == Array(1...14))
        let table = try await fixture.versioncheck(["history", "checkout", "--env", "production", "--state", fixture.state, "--limit", "3"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("TIME") && table.stdout.contains("EVENT"))
        #expect(table.stdout.split(separator: "\n").count == 4, "a header and the last 3 events: \(table.stdout)")
        #expect(table.stdout.contains("unreachable resolved, 1.4.1"))
        #expect(try await fixture.history(["payments"]).isEmpty)
        #expect(try await fixture.history(["--limit", "2"]).map { $0["seq"] as? Int } == [13, 14])
        #expect(try await fixture.history(["checkout", "--env", "staging"]).isEmpty)
        #expect(try await fixture.history(["--since", "1h"]).count == 14)
        #expect(try await fixture.history(["--since", "2999-01-01"]).isEmpty)

        // Secrets appear in no output, no file of the state, and no alert but PagerDuty's own key.
        let files = try fixture.stateFiles()
        for secret in ["SLACKSECRET9", "info-token-SECRET-42", "PDKEY-SECRET-77"] {
            #expect(!fixture.printed.contains(secret), "\(secret) printed")
            #expect(!files.contains(secret), "\(secret) in the state directory")
            #expect(!receiver.requests.contains { $0.path != "/pd" && $0.text.contains(secret) }, "\(secret) in an alert")
        }
        await receiver.stop()
        await a.stop()
        await b.stop()
    }

    @Test func retriesAfter5xxAnd429HonouringRetryAfter() async throws {
        let service = try VersionedService(version: "2.0.0")
        let receiver = try WebhookReceiver(statuses: [500, 429], retryAfter: "1")
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true, "initialBackoff": "100ms"},
         "channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/hook"))"}},
         "services": [{"name": "search", "environment": "staging", "url": "\(service.url)", "notify": ["ops"]}]}
        """)
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        let requests = receiver.requests
        #expect(requests.count == 3)
        #expect(Set(requests.compactMap { $0.header("Idempotency-Key") }) == ["evt-1:ops"], "the same delivery each time")
        #expect(Set(requests.map(\.text)).count == 1, "the same body each time")
        #expect(result.elapsed >= .seconds(1), "Retry-After: 1 was honoured")
        let last = try #require(try fixture.deliveries().last)
        #expect(last["state"] as? String == "delivered")
        #expect(last["attempts"] as? Int == 3)
        #expect(last["status"] as? Int == 200)
        _ = try await fixture.cycle()
        #expect(receiver.requests.count == 3, "nothing is sent again")
        await receiver.stop()
        await service.stop()
    }

    /// Found by fuzzing (target `response`): `Retry-After: 1e300` trapped converting to
    /// milliseconds and killed the watcher. It is a day now, then `maxBackoff` as ever.
    @Test func anAbsurdRetryAfterWaitsMaxBackoff() async throws {
        let service = try VersionedService(version: "2.0.0")
        let receiver = try WebhookReceiver(statuses: [429], retryAfter: "1e300")
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true, "maxBackoff": "200ms"},
         "channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/hook"))"}},
         "services": [{"name": "search", "environment": "staging", "url": "\(service.url)", "notify": ["ops"]}]}
        """)
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        #expect(receiver.requests.count == 2, "a 429, then the delivery")
        #expect(result.elapsed >= .milliseconds(200) && result.elapsed < .seconds(30), "waited maxBackoff: \(result.elapsed)")
        #expect(try fixture.deliveries().last?["state"] as? String == "delivered")
        await receiver.stop()
        await service.stop()
    }

    @Test func permanentErrorsAndExhaustedRetriesAreRecordedNotDropped() async throws {
        let service = try VersionedService(version: "2.0.0")
        let gone = try WebhookReceiver(statuses: [404])
        let broken = try WebhookReceiver(statuses: [503, 503, 503])
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true, "initialBackoff": "50ms", "deliveryAttempts": 2},
         "channels": {"gone": {"type": "webhook", "url": "\(gone.url("/old-hook"))"},
                      "broken": {"type": "discord", "url": "\(broken.url("/api/webhooks/1/TOKEN"))"}},
         "services": [{"name": "search", "environment": "staging", "url": "\(service.url)", "notify": ["gone", "broken"]}]}
        """)
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stderr.contains("alert evt-1 to 'gone' failed for good: HTTP 404"))
        #expect(result.stderr.contains("alert evt-1 to 'broken' failed: gave up after 2 attempts: HTTP 503"))
        #expect(gone.requests.count == 1)
        #expect(broken.requests.count == 2)
        let ends = try fixture.deliveries().filter { $0["state"] as? String == "failed" }
        #expect(Set(ends.compactMap { $0["id"] as? String }) == ["evt-1:gone", "evt-1:broken"])
        #expect(ends.contains { $0["status"] as? Int == 404 })
        // Discord's URL carries its token: never in output or files.
        let files = try fixture.stateFiles()
        #expect(!fixture.printed.contains("TOKEN") && !files.contains("/api/webhooks/1/TOKEN"))
        _ = try await fixture.cycle()
        #expect(gone.requests.count == 1 && broken.requests.count == 2, "failed deliveries are not retried by later runs")
        await gone.stop()
        await broken.stop()
        await service.stop()
    }

    @Test func aWatcherKilledMidSendResendsOnceWithTheSameKey() async throws {
        let service = try VersionedService(version: "3.1.0")
        let receiver = try WebhookReceiver(holdFirst: true)
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true},
         "channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/hook"))"}},
         "services": [{"name": "billing", "environment": "production", "url": "\(service.url)", "notify": ["ops"]}]}
        """)
        let watcher = try fixture.loop(["--every", "1h"])
        await receiver.waitForRequests(1)
        watcher.send(signal: SIGKILL)
        _ = try await watcher.waitForExit()
        receiver.release() // the receiver got it, but the watcher never heard

        let restarted = try await fixture.cycle()
        #expect(restarted.status == 0, "\(restarted.output)")
        #expect(restarted.stdout.contains("0 events"), "the restart does not see first-seen again")
        #expect(restarted.stderr.contains("1 alert was being sent when the last watcher stopped: sent again with the same Idempotency-Key"))
        #expect(receiver.requests.count == 2, "the pending delivery is sent again")
        #expect(receiver.requests.map { $0.header("Idempotency-Key") } == ["evt-1:ops", "evt-1:ops"])
        #expect(receiver.requests[0].text == receiver.requests[1].text)
        _ = try await fixture.cycle()
        #expect(receiver.requests.count == 2, "and never a third time")
        await receiver.stop()
        await service.stop()
    }

    @Test func aStoppedWatcherFinishesTheRequestOnTheWireAndNeverResendsIt() async throws {
        let service = try VersionedService(version: "3.1.0")
        let receiver = try WebhookReceiver(holdFirst: true)
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true},
         "channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/hook"))"}},
         "services": [{"name": "billing", "environment": "production", "url": "\(service.url)", "notify": ["ops"]}]}
        """)
        let watcher = try fixture.loop(["--every", "1h"])
        await receiver.waitForRequests(1)
        watcher.send(signal: SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        #expect(watcher.isRunning, "it waits for the answer to the request it sent")
        receiver.release()
        #expect(try await watcher.waitForExit(timeout: .seconds(10)) == 0)
        #expect(try fixture.deliveries().last?["state"] as? String == "delivered")

        let restarted = try await fixture.cycle()
        #expect(restarted.status == 0, "\(restarted.output)")
        #expect(!restarted.stderr.contains("being sent when the last watcher stopped"))
        #expect(receiver.requests.count == 1, "a clean stop sends nothing twice")
        await receiver.stop()
        await service.stop()
    }

    @Test func aChannelURLNeverLeaksThroughTheReceiversErrorPage() async throws {
        // A Slack-style URL whose path is the secret, and a receiver whose error page echoes
        // the path: neither the watcher's output nor its state files may contain any of it.
        let service = try VersionedService(version: "2.0.0")
        let receiver = try WebhookReceiver(statuses: [500, 404], echoPath: true)
        let fixture = try WatchFixture(environment: ["OPS_HOOK": receiver.url("/services/T0AB12CD3/B0EF45GH6/Xq7tOkEnZ9aBcDeF")])
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true, "initialBackoff": "20ms"},
         "channels": {"ops": {"type": "slack", "url": "${OPS_HOOK}"}},
         "services": [{"name": "search", "environment": "staging", "url": "\(service.url)", "notify": ["ops"]}]}
        """)
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        #expect(receiver.requests.count == 2)
        #expect(result.stderr.contains("alert evt-1 to 'ops' failed for good: HTTP 404: no route for POST ***"), "\(result.stderr)")
        let files = try fixture.stateFiles()
        for secret in ["T0AB12CD3", "B0EF45GH6", "Xq7tOkEnZ9aBcDeF", "/services/"] {
            #expect(!fixture.printed.contains(secret), "\(secret) printed: \(fixture.printed)")
            #expect(!files.contains(secret), "\(secret) in the state files")
        }
        await receiver.stop()
        await service.stop()
    }

    @Test func eventsRecordedJustBeforeACrashStillGetTheirAlerts() async throws {
        // History is written before the outbox: an event in history that the snapshot does
        // not cover (a crash between the two) is alerted on the next start.
        let service = try VersionedService(version: "1.0.0")
        let receiver = try WebhookReceiver()
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/hook"))"}},
         "services": [{"name": "billing", "environment": "production", "url": "\(service.url)", "notify": ["ops"]}]}
        """)
        _ = try await fixture.cycle()
        let event = #"{"seq":2,"service":"billing","environment":"production","kind":"deployed","time":"2026-11-21T10:00:00.000Z","#
            + #""instance":"\#(service.url)","from":"1.0.0","to":"1.1.0"}"# + "\n"
        let handle = try #require(FileHandle(forWritingAtPath: "\(fixture.state)/history.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(event.utf8))
        try handle.close()
        service.version = "1.1.0"
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        #expect(receiver.requests.count == 1)
        #expect(receiver.requests.first?.json?["id"] as? String == "evt-2")
        #expect(receiver.requests.first?.json?["to"] as? String == "1.1.0")
        #expect(result.stdout.contains("0 events"), "the replayed state already has 1.1.0")
        await receiver.stop()
        await service.stop()
    }

    @Test func killingTheWatcherDuringWritesLeavesHistoryReadable() async throws {
        let services = try (0..<4).map { _ in try VersionedService(version: "1.0.0") }
        let fixture = try WatchFixture()
        let entries = (0..<100).map { index in
            #"{"name": "svc-\#(index)", "environment": "production", "url": "\#(services[index % 4].url)"}"#
        }
        try fixture.writeManifest(#"{"services": [\#(entries.joined(separator: ",\n"))]}"#)
        let flipping = Task {
            var version = 0
            while !Task.isCancelled {
                version += 1
                for service in services { service.version = "1.0.\(version)" }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let historyFile = "\(fixture.state)/history.jsonl"
        func historySize() -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: historyFile))?[.size] as? Int) ?? 0
        }
        for round in 0..<3 {
            let sizeBefore = historySize()
            let watcher = try fixture.loop(["--every", "30ms", "--quiet"])
            // Once it is writing (however slow the build: a sanitizer's is), kill it at a different
            // point of its writes each round.
            let writing = ContinuousClock.now + .seconds(20)
            while historySize() == sizeBefore && ContinuousClock.now < writing {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(70 * round))
            watcher.send(signal: SIGKILL)
            _ = try await watcher.waitForExit()
            let history = try await fixture.history()
            #expect(!history.isEmpty)
            #expect(history.map { $0["seq"] as? Int ?? 0 } == (0..<history.count).map { $0 + 1 }, "numbered without gaps or repeats")
        }
        flipping.cancel()
        // A torn record at the end (the kill came mid-write): read around, then repaired.
        let handle = try #require(FileHandle(forWritingAtPath: "\(fixture.state)/history.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":999999,"service":"svc-1","envir"#.utf8))
        try handle.close()
        let before = try await fixture.history()
        let next = try await fixture.cycle(["--quiet"])
        #expect(next.status == 0, "\(next.output)")
        #expect(next.stderr.contains("repaired \(fixture.state)/history.jsonl: removed a torn last record"))
        let after = try await fixture.history()
        #expect(after.count >= before.count)
        #expect(after.map { $0["seq"] as? Int ?? 0 } == (0..<after.count).map { $0 + 1 })
        for service in services { await service.stop() }
    }

    @Test func aSecondWatcherIsRefusedAndSIGTERMStopsTheFirstCleanly() async throws {
        let service = try VersionedService(version: "1.0.0")
        let fixture = try WatchFixture()
        try fixture.writeManifest(#"{"services": [{"name": "a", "url": "\#(service.url)"}]}"#)
        let first = try fixture.loop(["--every", "1h"])
        _ = try await first.waitForLine(containing: "cycle:")
        let second = try await fixture.cycle()
        #expect(second.status == 3)
        #expect(second.stderr.contains("another versioncheck watch is using \(fixture.state) (pid \(first.processIdentifier)"))
        #expect(second.stderr.contains("give this one its own --state DIR"))
        let started = ContinuousClock.now
        first.send(signal: SIGTERM)
        #expect(try await first.waitForExit(timeout: .seconds(10)) == 0)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(first.standardError.contains("received SIGTERM, stopping"))
        // The lock went with it.
        #expect(try await fixture.cycle().status == 0)
        await service.stop()
    }

    @Test func prometheusMetrics() async throws {
        let a = try VersionedService(version: "1.4.2")
        let b = try VersionedService(version: "1.4.1")
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"services": [{"name": "checkout", "environment": "production", "urls": ["\(a.url)", "\(b.url)"], "expect": "1.4.2"}]}
        """)
        let watcher = try fixture.loop(["--every", "1h", "--metrics-host", "127.0.0.1", "--metrics-port", "0"])
        let line = try await watcher.waitForLine(containing: "metrics on")
        let url = try #require(line.split(separator: " ").last.map(String.init))
        _ = try await watcher.waitForLine(containing: "cycle:")
        let prober = try Prober(options: ProbeOptions())
        let result = await prober.probe(url)
        #expect(result.status == 200)
        #expect(result.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = String(decoding: result.body, as: UTF8.self)
        let labels = #"service="checkout",environment="production""#
        #expect(text.contains("versioncheck_version_info{\(labels),version=\"1.4.1\"} 1"))
        #expect(text.contains("versioncheck_version_info{\(labels),version=\"1.4.2\"} 1"))
        #expect(text.contains("versioncheck_version_instances{\(labels),version=\"1.4.2\"} 1"))
        #expect(text.contains("versioncheck_up{\(labels),instance=\"\(a.url)\"} 1"))
        #expect(text.contains("versioncheck_drift{\(labels)} 1"))
        #expect(text.contains("versioncheck_cycles_total 1"))
        #expect(text.contains("# TYPE versioncheck_last_change_timestamp_seconds gauge"))
        // Every sample line is `name{labels} value`.
        for sample in text.split(separator: "\n") where !sample.hasPrefix("#") {
            #expect(sample.wholeMatch(of: /[a-z_]+(\{[^}]*\})? -?[0-9.]+/) != nil, "\(sample)")
        }
        let health = await prober.probe(url.replacingOccurrences(of: "/metrics", with: "/health"))
        #expect(health.status == 200)
        watcher.send(signal: SIGTERM)
        #expect(try await watcher.waitForExit() == 0)
        await a.stop()
        await b.stop()
    }

    @Test func shardsSplitAFleetAcrossWatchers() async throws {
        let service = try VersionedService(version: "1.0.0")
        let fixture = try WatchFixture()
        let names = (0..<30).map { "svc-\($0)" }
        try fixture.writeManifest(#"{"services": [\#(names.map { #"{"name": "\#($0)", "url": "\#(service.url)"}"# }.joined(separator: ","))]}"#)
        var owners: [String: Int] = [:]
        for shard in 1...3 {
            let result = try await fixture.versioncheck(["watch", "--once", "--manifest", fixture.manifestPath,
                                                         "--state", "\(fixture.directory)/shard-\(shard)", "--shard", "\(shard)/3"])
            #expect(result.status == 0, "\(result.output)")
            let seen = try await fixture.versioncheck(["history", "--state", "\(fixture.directory)/shard-\(shard)", "--format", "json"])
            let events = try #require(try JSONSerialization.jsonObject(with: Data(seen.stdout.utf8)) as? [[String: Any]])
            #expect(!events.isEmpty)
            for event in events { owners[event["service"] as! String, default: 0] += 1 }
        }
        #expect(owners.keys.sorted() == names.sorted())
        #expect(owners.values.allSatisfy { $0 == 1 }, "each service in exactly one shard")
        await service.stop()
    }

    @Test func statusShowsEnvironmentsSideBySide() async throws {
        let staging = try VersionedService(version: "1.5.0")
        let production = try VersionedService(version: "1.4.2")
        let payments = try VersionedService(version: "1.0.0")
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"services": [
          {"name": "checkout", "environment": "production", "url": "\(production.url)", "expect": "1.4.2"},
          {"name": "checkout", "environment": "staging", "url": "\(staging.url)"},
          {"name": "payments", "environment": "production", "url": "\(payments.url)", "expect": "1.1.0"}
        ]}
        """)
        let table = try await fixture.versioncheck(["status", "--manifest", fixture.manifestPath])
        #expect(table.status == 1, "payments misses its expected version: \(table.output)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["SERVICE", "STAGING", "PRODUCTION"])
        #expect(table.stdout.contains("checkout: staging runs 1.5.0, production 1.4.2"))
        #expect(table.stdout.contains("payments (production): expected 1.1.0, live 1.0.0"))
        #expect(lines.contains { $0.hasPrefix("payments") && $0.contains("1.0.0 ≠ 1.1.0") })

        let json = try await fixture.versioncheck(["status", "--manifest", fixture.manifestPath, "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let rows = try #require(document["services"] as? [[String: Any]])
        #expect(rows.count == 3)
        #expect(rows.contains { $0["service"] as? String == "payments" && $0["drift"] as? Bool == true })

        payments.version = "1.1.0"
        #expect(try await fixture.versioncheck(["status", "--manifest", fixture.manifestPath]).status == 0)
        for service in [staging, production, payments] { await service.stop() }
    }

    @Test func badManifestsAndFlagsExit2NamingWhere() async throws {
        let fixture = try WatchFixture()
        try fixture.writeManifest(#"{"services": [{"name": "a", "urls": ["http://127.0.0.1:1/info", "gopher://x"]}]}"#)
        let bad = try await fixture.cycle()
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("\(fixture.manifestPath): services[0].urls[1]:"))
        #expect(!FileManager.default.fileExists(atPath: fixture.state), "nothing written for a bad manifest")

        try fixture.writeManifest(#"{"services": [{"name": "a", "url": "http://127.0.0.1:1/info", "notify": ["ops"]}]}"#)
        let channel = try await fixture.cycle()
        #expect(channel.status == 2 && channel.stderr.contains("services[0].notify[0]: no channel 'ops' (the manifest defines no channels)"))
        try fixture.writeManifest(#"{"services": [{"name": "a", "url": "http://127.0.0.1:1/info"}]}"#)

        let missing = try await fixture.versioncheck(["watch", "--once", "--manifest", "\(fixture.directory)/nope.json"])
        #expect(missing.status == 2 && missing.stderr.contains("nope.json: no such file"))
        let noManifest = try await fixture.versioncheck(["watch", "--once"])
        #expect(noManifest.status == 2 && noManifest.stderr.contains("--manifest"))
        for (arguments, flag) in [(["--shard", "4/3"], "--shard"), (["--every", "1m"], "--every"), (["--every", "soon"], "--every"),
                                  (["--metrics-port", "70000"], "--metrics-port"), (["--bogus"], "--bogus"),
                                  (["--since", "1d"], "--since does not apply to versioncheck watch")] {
            let result = try await fixture.cycle(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains(flag), "\(arguments): \(result.stderr)")
        }
        let since = try await fixture.versioncheck(["history", "--state", fixture.state, "--since", "yesterday-ish"])
        #expect(since.status == 2 || since.status == 3)
        let misplaced = try await fixture.versioncheck(["history", "--state", fixture.state, "--manifest", fixture.manifestPath])
        #expect(misplaced.status == 2 && misplaced.stderr.contains("--manifest does not apply to versioncheck history"))
        // A state directory that cannot be used: exit 3, naming the file.
        try FileManager.default.createDirectory(atPath: "\(fixture.directory)/broken/history.jsonl", withIntermediateDirectories: true)
        let broken = try await fixture.versioncheck(["watch", "--once", "--manifest", fixture.manifestPath, "--state", "\(fixture.directory)/broken"])
        #expect(broken.status == 3, "\(broken.output)")
        #expect(broken.stderr.contains("\(fixture.directory)/broken/history.jsonl"))
        let noHistory = try await fixture.versioncheck(["history", "--state", "\(fixture.directory)/none"])
        #expect(noHistory.status == 3 && noHistory.stderr.contains("no history in"))
    }

    @Test func commandChannelsGetTheEventInTheEnvironmentAndJSONOnStdin() async throws {
        let service = try VersionedService(version: "4.0.0", revision: "cafef00dcafe")
        let fixture = try WatchFixture()
        let out = "\(fixture.directory)/mail"
        try fixture.writeManifest("""
        {"settings": {"alertFirstSeen": true},
         "channels": {"mail": {"type": "command", "command": ["/bin/sh", "-c", "env | grep ^VERSIONCHECK_ | sort > \(out).env; cat > \(out).json"]}},
         "services": [{"name": "ledger", "environment": "qa", "url": "\(service.url)", "notify": ["mail"]}]}
        """)
        let result = try await fixture.cycle()
        #expect(result.status == 0, "\(result.output)")
        let environment = try String(contentsOfFile: "\(out).env", encoding: .utf8)
        #expect(environment.contains("VERSIONCHECK_EVENT=first-seen\n"))
        #expect(environment.contains("VERSIONCHECK_SERVICE=ledger\n"))
        #expect(environment.contains("VERSIONCHECK_ENVIRONMENT=qa\n"))
        #expect(environment.contains("VERSIONCHECK_TO=4.0.0\n"))
        #expect(environment.contains("VERSIONCHECK_REVISION=cafef00dcafe\n"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out).json"))) as? [String: Any])
        #expect(json["type"] as? String == "first-seen")
        #expect(json["service"] as? String == "ledger")
        #expect((try fixture.deliveries().last)?["state"] as? String == "delivered")
        await service.stop()
    }

    @Test func persistentDriftIsRemindedNotRepeated() async throws {
        let service = try VersionedService(version: "1.0.0")
        let receiver = try WebhookReceiver()
        let fixture = try WatchFixture()
        try fixture.writeManifest("""
        {"settings": {"remindEvery": "5s"},
         "channels": {"ops": {"type": "webhook", "url": "\(receiver.url("/hook"))"}},
         "services": [{"name": "a", "url": "\(service.url)", "expect": "2.0.0", "notify": ["ops"]}]}
        """)
        #expect(try await fixture.cycle().status == 1)
        #expect(try await fixture.cycle().status == 1)
        #expect(receiver.requests.count == 1, "drift alerts once")
        // An interval several cycles long: a sanitizer's slow cycles must not be taken for one.
        try await Task.sleep(for: .milliseconds(5200))
        #expect(try await fixture.cycle().status == 1)
        #expect(receiver.requests.count == 2)
        let reminder = try #require(receiver.requests.last?.json)
        #expect(reminder["reminder"] as? Bool == true)
        #expect((reminder["summary"] as? String)?.hasSuffix("(still drifting)") == true)
        #expect((reminder["id"] as? String)?.hasPrefix("reminder-a@default-") == true)
        #expect(try await fixture.cycle().status == 1)
        #expect(receiver.requests.count == 2, "one reminder per interval")
        await receiver.stop()
        await service.stop()
    }

    @Test func oneShotCheckNotifiesAChannel() async throws {
        let service = try VersionedService(version: "1.4.1")
        let receiver = try WebhookReceiver()
        let fixture = try WatchFixture(environment: ["HOOK": receiver.url("/T0/SECRET-hook")])
        try fixture.writeManifest("""
        {"channels": {"deploys": {"type": "webhook", "url": "${HOOK}"}, "chat": {"type": "slack", "url": "${HOOK}"}},
         "services": [{"name": "checkout", "environment": "production", "url": "\(service.url)"}]}
        """)
        let mismatch = try await fixture.versioncheck(["--expect", "1.4.2", "--notify", "deploys", "--notify", "chat",
                                                       "--manifest", fixture.manifestPath, service.url])
        #expect(mismatch.status == 1, "the exit status is the check's: \(mismatch.output)")
        #expect(receiver.requests.count == 2)
        let notice = try #require(receiver.requests.first { $0.json?["type"] != nil }?.json)
        #expect(notice["type"] as? String == "check")
        #expect(notice["result"] as? String == "mismatch")
        #expect(notice["service"] as? String == "checkout" && notice["environment"] as? String == "production")
        #expect(notice["expected"] as? String == "1.4.2")
        #expect(notice["summary"] as? String == "checkout (production): version check failed: 0/1 on 1.4.2; 1 on 1.4.1")
        let chat = try #require(receiver.requests.first { $0.json?["blocks"] != nil }?.json)
        #expect((chat["text"] as? String)?.contains("version check failed") == true)

        service.version = "1.4.2"
        let pass = try await fixture.versioncheck(["--expect", "1.4.2", "--notify", "deploys", "--manifest", fixture.manifestPath, service.url])
        #expect(pass.status == 0)
        #expect(receiver.requests.last?.json?["result"] as? String == "pass")

        let unknown = try await fixture.versioncheck(["--expect", "1.4.2", "--notify", "pager", "--manifest", fixture.manifestPath, service.url])
        #expect(unknown.status == 2 && unknown.stderr.contains("--notify: no channel 'pager'"))
        #expect(unknown.stderr.contains("channels: deploys, chat"))
        let noManifest = try await fixture.versioncheck(["--expect", "1.4.2", "--notify", "deploys", service.url])
        #expect(noManifest.status == 2 && noManifest.stderr.contains("--notify needs --manifest"))

        // A channel that fails is reported without its URL; the exit status stays the check's.
        try fixture.writeManifest(#"""
        {"settings": {"deliveryAttempts": 2, "initialBackoff": "50ms"},
         "channels": {"deploys": {"type": "webhook", "url": "http://127.0.0.1:1/T0/SECRET-hook"}}}
        """#)
        let failing = try await fixture.versioncheck(["--expect", "1.4.2", "--notify", "deploys", "--manifest", fixture.manifestPath,
                                                      "--timeout", "1s", service.url])
        #expect(failing.status == 0)
        #expect(failing.stderr.contains("versioncheck: notifying 'deploys':"))
        #expect(!fixture.printed.contains("SECRET-hook"))
        await receiver.stop()
        await service.stop()
    }
}
