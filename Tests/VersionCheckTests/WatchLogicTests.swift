import DeployVerifyKit
import Foundation
import Testing
import TestSupport
@testable import VersionCheck

private let t0 = Date(timeIntervalSince1970: 1_790_000_000)

private func makeService(_ name: String = "checkout", environment: String = "production", urls: [String] = ["http://a/info", "http://b/info"],
                     notify: [String] = []) -> WatchedService {
    var service = WatchedService(name: name, environment: environment, urls: urls, path: "services[0]")
    service.notify = notify
    return service
}

private func reading(_ instance: String, _ version: String?, revision: String? = nil) -> InstanceReading {
    InstanceReading(instance: instance, version: version, revision: revision, failure: version == nil ? "refused: connection refused" : nil)
}

/// Runs the detector over successive cycles of readings (instance → version, nil: unreachable).
private struct Detector {
    var state = WatchState.Service()
    var service = makeService()
    var unreachableAfter = 2
    var cycle = 0

    mutating func run(_ versions: [(String, String?)], expect: String? = nil) -> [WatchEvent] {
        cycle += 1
        return EventDetector.detect(service: service, readings: versions.map { reading($0.0, $0.1) },
                                    expectation: expect.map { try! VersionExpectation($0) }, state: &state,
                                    unreachableAfter: unreachableAfter, now: t0.addingTimeInterval(Double(cycle) * 60))
    }
}

private func kinds(_ events: [WatchEvent]) -> [String] {
    events.map { "\($0.kind.rawValue) \($0.instance) \($0.from ?? "-")→\($0.to ?? "-")" }
}

@Suite("watch: event detection")
struct EventDetectorTests {
    @Test func baselineDeploymentAndRollback() {
        var detector = Detector()
        #expect(kinds(detector.run([("a", "1.4.1"), ("b", "1.4.1")])) == ["first-seen a -→1.4.1", "first-seen b -→1.4.1"])
        #expect(detector.run([("a", "1.4.1"), ("b", "1.4.1")]).isEmpty, "no change, no event")
        // A rolling deployment: one instance, then the other.
        #expect(kinds(detector.run([("a", "1.4.2"), ("b", "1.4.1")])) == ["deployed a 1.4.1→1.4.2"])
        #expect(kinds(detector.run([("a", "1.4.2"), ("b", "1.4.2")])) == ["deployed b 1.4.1→1.4.2"])
        // Back to a version it ran before, older: a rollback.
        #expect(kinds(detector.run([("a", "1.4.1"), ("b", "1.4.1")])) == ["rolled-back a 1.4.2→1.4.1", "rolled-back b 1.4.2→1.4.1"])
        // Forward again to a version it ran: a (re)deployment, not a rollback.
        #expect(kinds(detector.run([("a", "1.4.2"), ("b", "1.4.2")])) == ["deployed a 1.4.1→1.4.2", "deployed b 1.4.1→1.4.2"])
        #expect(detector.state.versions == ["1.4.1", "1.4.2"])
        #expect(detector.state.lastChange == t0.addingTimeInterval(6 * 60))
    }

    @Test func rollbackWithoutSemVerFollowsTheOrderFirstSeen() {
        var detector = Detector()
        _ = detector.run([("a", "build-7f3a"), ("b", "build-7f3a")])
        #expect(kinds(detector.run([("a", "build-91cc"), ("b", "build-91cc")])).allSatisfy { $0.hasPrefix("deployed") })
        #expect(kinds(detector.run([("a", "build-7f3a"), ("b", "build-91cc")])) == ["rolled-back a build-91cc→build-7f3a"])
        #expect(EventDetector.isRollback(from: "2.0.0", to: "1.9.0", history: ["1.9.0", "2.0.0"]))
        #expect(!EventDetector.isRollback(from: "2.0.0", to: "1.9.0", history: ["2.0.0"]), "a version never run is a deployment")
        #expect(!EventDetector.isRollback(from: "1.9.0", to: "2.0.0", history: ["2.0.0", "1.9.0"]), "SemVer decides when both parse")
    }

    @Test func aNewInstanceOfANewVersionIsADeployment() {
        var detector = Detector()
        detector.service = makeService(urls: ["http://a/info", "http://b/info", "http://c/info"])
        _ = detector.run([("a", "1.4.1"), ("b", "1.4.1")])
        // A new instance of a version the service runs is only a baseline …
        #expect(kinds(detector.run([("a", "1.4.1"), ("b", "1.4.1"), ("c", "1.4.1")])) == ["first-seen c -→1.4.1"])
        // … one with a version the service never ran is a deployment (a canary), from the last version.
        var canary = Detector()
        _ = canary.run([("a", "1.4.1")])
        #expect(kinds(canary.run([("a", "1.4.1"), ("c", "1.5.0")])) == ["deployed c 1.4.1→1.5.0"])
        // Instances removed from the manifest are forgotten.
        _ = canary.run([("c", "1.5.0")])
        #expect(canary.state.instances.keys.sorted() == ["c"])
    }

    @Test func driftAndItsRecovery() {
        var detector = Detector()
        let first = detector.run([("a", "1.4.1"), ("b", "1.4.2")], expect: "1.4.2")
        #expect(kinds(first) == ["first-seen a -→1.4.1", "drift a -→1.4.1", "first-seen b -→1.4.2"])
        #expect(first[1].expected == "1.4.2")
        #expect(detector.run([("a", "1.4.1"), ("b", "1.4.2")], expect: "1.4.2").isEmpty, "drift is reported once, while it lasts")
        let fixed = detector.run([("a", "1.4.2"), ("b", "1.4.2")], expect: "1.4.2")
        #expect(kinds(fixed) == ["deployed a 1.4.1→1.4.2", "recovered a -→1.4.2"])
        #expect(fixed[1].problem == "drift")
        // A range expectation, and no judgement when the expected version is unknown this cycle.
        #expect(detector.run([("a", "1.4.2"), ("b", "1.4.2")], expect: ">=1.4.0 <2.0.0").isEmpty)
        #expect(detector.run([("a", "1.4.3"), ("b", "1.4.2")], expect: nil).map(\.kind) == [.deployed])
    }

    @Test func unreachableAfterConsecutiveFailuresThenRecovered() {
        var detector = Detector()
        detector.unreachableAfter = 3
        _ = detector.run([("a", "1.4.1"), ("b", "1.4.1")])
        #expect(detector.run([("a", nil), ("b", "1.4.1")]).isEmpty)
        #expect(detector.run([("a", nil), ("b", "1.4.1")]).isEmpty)
        let down = detector.run([("a", nil), ("b", "1.4.1")])
        #expect(kinds(down) == ["unreachable a 1.4.1→-"])
        #expect(down[0].detail == "refused: connection refused")
        #expect(detector.run([("a", nil), ("b", "1.4.1")]).isEmpty, "reported once")
        // Back, and on a new version meanwhile: recovered, then the deployment.
        #expect(kinds(detector.run([("a", "1.4.2"), ("b", "1.4.1")])) == ["recovered a -→1.4.2", "deployed a 1.4.1→1.4.2"])
        // A failure that does not last resets the count.
        _ = detector.run([("a", nil), ("b", "1.4.1")])
        _ = detector.run([("a", "1.4.2"), ("b", "1.4.1")])
        _ = detector.run([("a", nil), ("b", "1.4.1")])
        #expect(detector.run([("a", nil), ("b", "1.4.1")]).isEmpty)
    }

    @Test func replayingHistoryGivesTheSameState() throws {
        var detector = Detector()
        var replayed = WatchState()
        let script: [([(String, String?)], String?)] = [
            ([("a", "1.4.1"), ("b", "1.4.1")], nil), ([("a", "1.4.2"), ("b", "1.4.1")], "1.4.2"),
            ([("a", "1.4.2"), ("b", "1.4.2")], "1.4.2"), ([("a", "1.4.1"), ("b", "1.4.2")], "1.4.2"),
        ]
        var sequence = 0
        for (readings, expect) in script {
            for var event in detector.run(readings, expect: expect) {
                sequence += 1
                event.sequence = sequence
                // Through the history file's form and back.
                let parsed = try #require(WatchEvent(jsonLine: Array(event.jsonLine.utf8)))
                #expect(parsed == event)
                replayed.apply(parsed)
            }
        }
        let rebuilt = try #require(replayed.services["checkout@production"])
        #expect(rebuilt.versions == detector.state.versions)
        #expect(rebuilt.lastChange == detector.state.lastChange)
        for (url, instance) in detector.state.instances {
            #expect(rebuilt.instances[url]?.version == instance.version)
            #expect(rebuilt.instances[url]?.drift == instance.drift)
        }
        // The snapshot file's form keeps everything.
        var state = WatchState()
        state.services["checkout@production"] = detector.state
        state.historyOffset = 1234
        state.lastSequence = sequence
        let restored = try #require(WatchState(json: Array(state.json.utf8)))
        #expect(restored.services == state.services)
        #expect(restored.historyOffset == 1234 && restored.lastSequence == sequence)
    }
}

@Suite("watch: alerts")
struct AlertTests {
    private func alert(_ kind: WatchEvent.Kind, from: String? = "1.4.1", to: String? = "1.4.2", problem: String? = nil,
                       instances: [String] = ["http://a/info", "http://b/info"]) -> Alert {
        var state = WatchState.Service()
        for url in instances { state.instances[url] = WatchState.Instance(version: to) }
        let events = instances.enumerated().map { index, url in
            WatchEvent(sequence: 10 + index, time: t0, kind: kind, service: "checkout", environment: "production", instance: url,
                       from: from, to: to, revision: "0123456789abcdef0123", expected: kind == .drift ? "1.4.2" : nil, problem: problem)
        }
        return Alert.group(events, state: state)[0]
    }

    @Test func eventsOfOneChangeAreOneAlert() {
        var state = WatchState.Service()
        state.instances = ["a": .init(version: "1.4.2"), "b": .init(version: "1.4.2"), "c": .init(version: "1.4.1")]
        let events = [
            WatchEvent(sequence: 7, time: t0, kind: .deployed, service: "checkout", environment: "production", instance: "a", from: "1.4.1", to: "1.4.2"),
            WatchEvent(sequence: 8, time: t0, kind: .deployed, service: "checkout", environment: "production", instance: "b", from: "1.4.1", to: "1.4.2"),
            WatchEvent(sequence: 9, time: t0, kind: .drift, service: "checkout", environment: "production", instance: "c", to: "1.4.1", expected: "1.4.2"),
        ]
        let alerts = Alert.group(events, state: state)
        #expect(alerts.count == 2)
        #expect(alerts[0].id == "evt-7")
        #expect(alerts[0].instances == ["a", "b"])
        #expect(alerts[0].summary == "checkout (production): deployed 1.4.1 → 1.4.2 on 2 of 3 instances; mixed fleet: 2× 1.4.2, 1× 1.4.1")
        #expect(alerts[1].summary == "checkout (production): drift: 1.4.1 on 1 of 3 instances, expected 1.4.2; mixed fleet: 2× 1.4.2, 1× 1.4.1")
    }

    @Test func webhookPayloadIsDocumentedJSONAndReadsBack() throws {
        let alert = alert(.deployed)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(alert.json.utf8)) as? [String: Any])
        #expect(object["id"] as? String == "evt-10")
        #expect(object["type"] as? String == "deployed")
        #expect(object["service"] as? String == "checkout")
        #expect(object["environment"] as? String == "production")
        #expect(object["from"] as? String == "1.4.1")
        #expect(object["to"] as? String == "1.4.2")
        #expect(object["revision"] as? String == "0123456789abcdef0123")
        #expect(object["instances"] as? [String] == ["http://a/info", "http://b/info"])
        #expect(object["instanceCount"] as? Int == 2)
        #expect(object["time"] as? String == "2026-09-21T14:13:20.000Z")
        #expect((object["fleet"] as? [String: Any])?["mixed"] as? Bool == false)
        #expect(object["summary"] as? String == "checkout (production): deployed 1.4.1 → 1.4.2 on 2 of 2 instances")
        let back = try #require(Alert(json: try JSONParser().parse(Array(alert.json.utf8))))
        #expect(back.json == alert.json)
    }

    @Test func slackTeamsAndDiscordShapes() throws {
        let alert = alert(.rolledBack, from: "1.4.2", to: "1.4.1")
        let slack = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.slack(alert).utf8)) as? [String: Any])
        #expect((slack["text"] as? String)?.contains("checkout (production): rolled back 1.4.2 → 1.4.1") == true)
        let blocks = try #require(slack["blocks"] as? [[String: Any]])
        #expect(blocks.map { $0["type"] as? String } == ["section", "context"])
        #expect(((blocks[0]["text"] as? [String: Any])?["text"] as? String)?.contains("*checkout* (production): rolled back") == true)

        let teams = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.teams(alert).utf8)) as? [String: Any])
        #expect(teams["type"] as? String == "message")
        let attachment = try #require((teams["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
        let card = try #require(attachment["content"] as? [String: Any])
        #expect(card["type"] as? String == "AdaptiveCard")
        #expect(card["$schema"] as? String == "http://adaptivecards.io/schemas/adaptive-card.json")
        let body = try #require(card["body"] as? [[String: Any]])
        #expect(body.map { $0["type"] as? String } == ["TextBlock", "FactSet"])
        let facts = try #require(body[1]["facts"] as? [[String: String]])
        #expect(facts.contains { $0["title"] == "From" && $0["value"] == "1.4.2" })
        #expect(facts.contains { $0["title"] == "Revision" && $0["value"] == "0123456789ab" })

        let discord = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.discord(alert).utf8)) as? [String: Any])
        let embed = try #require((discord["embeds"] as? [[String: Any]])?.first)
        #expect(embed["title"] as? String == "checkout (production): rolled-back")
        #expect(embed["color"] as? Int == 0xF1C40F)
        #expect((embed["fields"] as? [[String: Any]])?.isEmpty == false)
        #expect((discord["allowed_mentions"] as? [String: Any])?["parse"] as? [Any] != nil)
    }

    @Test func discordEmbedStaysWithinDiscordsLimits() throws {
        let facts = (1...30).map { ("fact \($0)", $0 == 1 ? String(repeating: "v", count: 2000) : "short") }
            + [(String(repeating: "n", count: 300), "x")]
        let text = DiscordEmbed.message(content: "@everyone " + String(repeating: "c", count: 2500), title: String(repeating: "t", count: 300),
                                        description: String(repeating: "d", count: 5000), color: 0x2ECC71,
                                        time: Date(timeIntervalSince1970: 0), facts: facts)
        let message = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((message["content"] as? String)?.count == 2000)
        #expect((message["content"] as? String)?.hasSuffix("…") == true)
        #expect(((message["allowed_mentions"] as? [String: Any])?["parse"] as? [Any])?.isEmpty == true)
        let embed = try #require((message["embeds"] as? [[String: Any]])?.first)
        #expect((embed["title"] as? String)?.count == 256)
        #expect((embed["description"] as? String)?.count == 4096)
        #expect(embed["timestamp"] as? String == "1970-01-01T00:00:00Z")
        let fields = try #require(embed["fields"] as? [[String: Any]])
        #expect(fields.count == 25)
        #expect((fields[0]["value"] as? String)?.count == 1024)
        #expect(fields[0]["inline"] as? Bool == false)
        #expect(fields[1]["inline"] as? Bool == true)
        #expect(clip("abc", 3) == "abc")
        #expect(clip("abcd", 3) == "ab…")
        #expect(clip("abcd", 0) == "…")
    }

    @Test func pagerDutyTriggersAndResolvesOneIncident() throws {
        let drift = alert(.drift, from: nil, to: "1.4.1")
        let trigger = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.pagerDuty(drift, routingKey: "R0UTING").utf8)) as? [String: Any])
        #expect(trigger["routing_key"] as? String == "R0UTING")
        #expect(trigger["event_action"] as? String == "trigger")
        #expect(trigger["dedup_key"] as? String == "versioncheck/production/checkout/drift")
        let payload = try #require(trigger["payload"] as? [String: Any])
        #expect(payload["source"] as? String == "versioncheck")
        #expect(payload["severity"] as? String == "warning")
        #expect((payload["summary"] as? String)?.hasPrefix("checkout (production): drift: 1.4.1") == true)

        let recovered = alert(.recovered, from: nil, to: "1.4.2", problem: "drift")
        let resolve = try #require(try JSONSerialization.jsonObject(with: Data(AlertRenderer.pagerDuty(recovered, routingKey: "R0UTING").utf8)) as? [String: Any])
        #expect(resolve["event_action"] as? String == "resolve")
        #expect(resolve["dedup_key"] as? String == trigger["dedup_key"] as? String)
        #expect(resolve["payload"] == nil)

        let pagerduty = Channel(name: "pd", kind: .pagerduty)
        #expect(!AlertRenderer.wants(pagerduty, alert(.deployed), settings: WatchSettings()), "deployments are not incidents")
        #expect(AlertRenderer.wants(pagerduty, alert(.unreachable, from: "1.4.1", to: nil), settings: WatchSettings()))
    }

    @Test func channelFiltersAndSettings() {
        var settings = WatchSettings()
        let slack = Channel(name: "s", kind: .slack, url: "http://x")
        #expect(!AlertRenderer.wants(slack, alert(.firstSeen, from: nil), settings: settings))
        #expect(AlertRenderer.wants(slack, alert(.recovered, problem: "drift"), settings: settings))
        settings.alertFirstSeen = true
        settings.alertRecovered = false
        #expect(AlertRenderer.wants(slack, alert(.firstSeen, from: nil), settings: settings))
        #expect(!AlertRenderer.wants(slack, alert(.recovered, problem: "drift"), settings: settings))
        var onlyRollbacks = slack
        onlyRollbacks.events = ["rolled-back"]
        #expect(!AlertRenderer.wants(onlyRollbacks, alert(.deployed), settings: settings))
        #expect(AlertRenderer.wants(onlyRollbacks, alert(.rolledBack), settings: settings))
    }

    @Test func requestsCarryAnIdempotencyKeyAndCommandsGetEnvironmentAndJSON() throws {
        let alert = alert(.deployed)
        var webhook = Channel(name: "ops", kind: .webhook, url: "http://127.0.0.1:1/hook")
        webhook.headers = [("Authorization", "Bearer s3cret")]
        guard case .http(let url, let headers, let body) = AlertRenderer.render(alert, for: webhook, userAgent: "t") else {
            Issue.record("expected an HTTP request")
            return
        }
        #expect(url == "http://127.0.0.1:1/hook")
        #expect(headers.contains { $0.name == "Idempotency-Key" && $0.value == "evt-10:ops" })
        #expect(headers.contains { $0.name == "Authorization" && $0.value == "Bearer s3cret" })
        #expect(body == alert.json)

        var command = Channel(name: "mail", kind: .command)
        command.command = ["/usr/bin/mail-deploys", "--to", "ops"]
        guard case .command(let arguments, let environment, let input) = AlertRenderer.render(alert, for: command, userAgent: "t") else {
            Issue.record("expected a command")
            return
        }
        #expect(arguments == ["/usr/bin/mail-deploys", "--to", "ops"])
        #expect(environment["VERSIONCHECK_EVENT"] == "deployed")
        #expect(environment["VERSIONCHECK_EVENT_ID"] == "evt-10")
        #expect(environment["VERSIONCHECK_FROM"] == "1.4.1")
        #expect(environment["VERSIONCHECK_TO"] == "1.4.2")
        #expect(environment["VERSIONCHECK_INSTANCES"] == "http://a/info http://b/info")
        #expect(input == alert.json)
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        #expect(AlertDeliverer.retryAfter("3") == .seconds(3))
        #expect(AlertDeliverer.retryAfter(" 0.5 ") == .milliseconds(500))
        #expect(AlertDeliverer.retryAfter("soon") == nil)
        let inTenSeconds = Date().addingTimeInterval(10)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let wait = AlertDeliverer.retryAfter(formatter.string(from: inTenSeconds))
        #expect(wait.map { $0 > .seconds(7) && $0 <= .seconds(10) } == true)
    }
}

@Suite("watch: manifest and shards")
struct ManifestTests {
    private func parse(_ text: String, environment: [String: String] = [:]) throws(ManifestError) -> Manifest {
        try Manifest.parse(Array(text.utf8), path: "fleet.json", environment: environment)
    }

    private func error(_ text: String, environment: [String: String] = [:]) -> String {
        do {
            _ = try parse(text, environment: environment)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func theIssueShapeParses() throws {
        let manifest = try parse("""
        {
          "channels": {
            "ops": { "type": "webhook", "url": "https://hooks.example.internal/deploys" },
            "team-slack": { "type": "slack", "url": "${SLACK_WEBHOOK_URL}" }
          },
          "services": [
            { "name": "checkout", "environment": "production",
              "urls": ["http://checkout-1.internal:9090/info", "http://checkout-2.internal:9090/info"],
              "expect": "1.4.2", "notify": ["team-slack", "ops"] }
          ]
        }
        """, environment: ["SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/XXXXSECRET"])
        #expect(manifest.channelNames == ["ops", "team-slack"])
        #expect(manifest.channels["team-slack"]?.url == "https://hooks.slack.com/services/T0/B0/XXXXSECRET")
        #expect(manifest.services[0].key == "checkout@production")
        #expect(manifest.services[0].urls.count == 2)
        #expect(manifest.services[0].notify == ["team-slack", "ops"])
        guard case .literal(let expectation)? = manifest.services[0].expect else {
            Issue.record("expected a literal")
            return
        }
        #expect(expectation.matches("1.4.2"))
        // Channel URLs are secrets.
        #expect(manifest.redactor.redact("posting to https://hooks.slack.com/services/T0/B0/XXXXSECRET") == "posting to ***")
    }

    @Test func everyMistakeNamesTheFileAndJSONPath() {
        let channels = #""channels": {"ops": {"type": "webhook", "url": "http://127.0.0.1:1/"}}"#
        #expect(error("{") .hasPrefix("fleet.json: line 1, column 2:"))
        #expect(error(#"{"services": []}"#) == "fleet.json: services: expected a non-empty array of services")
        #expect(error(#"{"sevices": []}"#).hasPrefix("fleet.json: sevices: unknown key 'sevices' (did you mean 'services'?)"))
        #expect(error(#"{"services": [{"name": "a", "urls": ["http://x/info"], "expct": "1"}]}"#)
            .hasPrefix("fleet.json: services[0].expct: unknown key 'expct' (did you mean 'expect'?)"))
        #expect(error(#"{"services": [{"name": "a"}]}"#) == "fleet.json: services[0]: a service needs urls (or url)")
        #expect(error(#"{"services": [{"name": "a", "urls": ["http://x/info", "ftp://y"]}]}"#).hasPrefix("fleet.json: services[0].urls[1]:"))
        #expect(error(#"{"services": [{"name": "a", "url": "http://x/info", "expect": ">=banana"}]}"#).hasPrefix("fleet.json: services[0].expect:"))
        #expect(error(#"{"services": [{"name": "a", "url": "http://x/info", "field": "a..b"}]}"#).hasPrefix("fleet.json: services[0].field:"))
        #expect(error("{\(channels), \"services\": [{\"name\": \"a\", \"url\": \"http://x/info\", \"notify\": [\"ops\", \"sms\"]}]}")
            == "fleet.json: services[0].notify[1]: no channel 'sms' (channels: ops)")
        #expect(error(#"{"services": [{"name": "a", "url": "http://x/i"}, {"name": "a", "url": "http://y/i"}]}"#)
            == "fleet.json: services[1]: a in default is already defined at services[0]")
        #expect(error(#"{"channels": {"x": {"type": "email"}}, "services": [{"name": "a", "url": "http://x/i"}]}"#)
            .hasPrefix("fleet.json: channels.x.type: 'email' is not a channel type"))
        #expect(error(#"{"channels": {"x": {"type": "slack", "url": "${HOOK}"}}, "services": [{"name": "a", "url": "http://x/i"}]}"#)
            .hasPrefix("fleet.json: channels.x.url:"))
        #expect(error(#"{"channels": {"x": {"type": "command"}}, "services": [{"name": "a", "url": "http://x/i"}]}"#)
            .hasPrefix("fleet.json: channels.x.command:"))
        #expect(error(#"{"channels": {"x": {"type": "slack", "url": "http://h/", "events": ["deploy"]}}, "services": [{"name": "a", "url": "http://x/i"}]}"#)
            .hasPrefix("fleet.json: channels.x.events[0]: 'deploy' is not an event kind"))
        #expect(error(#"{"settings": {"unreachableAfter": 0}, "services": [{"name": "a", "url": "http://x/i"}]}"#)
            == "fleet.json: settings.unreachableAfter: expected a whole number from 1 to 1000, found the number 0")
        #expect(error(#"{"settings": {"remindEvery": "soon"}, "services": [{"name": "a", "url": "http://x/i"}]}"#)
            .hasPrefix("fleet.json: settings.remindEvery:"))
        #expect(error(#"{"services": [{"name": "a", "url": "http://x/i", "url": "http://y/i"}]}"#).contains("url"))
    }

    @Test func headerSecretsFromTheEnvironmentAreMasked() throws {
        let manifest = try parse(#"""
        {"services": [{"name": "a", "url": "http://x/info", "headers": {"Authorization": "Bearer ${INFO_TOKEN}", "X-Team": "${TEAM}"}}]}
        """#, environment: ["INFO_TOKEN": "tok-123456", "TEAM": "payments"])
        #expect(manifest.services[0].headers.map(\.value) == ["Bearer tok-123456", "payments"])
        #expect(manifest.redactor.redact("sent tok-123456 for payments") == "sent *** for payments")
    }

    @Test func shardsSplitTheManifestDeterministically() throws {
        #expect(Shard("2/3") == Shard("2/3"))
        #expect(Shard("0/3") == nil && Shard("4/3") == nil && Shard("1") == nil && Shard("a/b") == nil && Shard("1/0") == nil)
        let services = (0..<300).map { makeService("svc-\($0)", environment: $0 % 2 == 0 ? "staging" : "production") }
        let shards = (1...3).map { Shard("\($0)/3")! }
        var total = 0
        for service in services {
            let owners = shards.filter { $0.contains(service) }
            #expect(owners.count == 1, "\(service.key) belongs to exactly one shard")
            total += owners.count
        }
        #expect(total == 300)
        for shard in shards {
            let share = services.filter(shard.contains).count
            #expect(share > 60 && share < 140, "an even-ish split: \(share)")
        }
        // Fixed across processes and platforms: FNV-1a, not Swift's seeded Hasher.
        #expect(Shard("1/2")!.contains(makeService("checkout", environment: "production")) == !Shard("2/2")!.contains(makeService("checkout", environment: "production")))
        #expect(services.filter(Shard("1/3")!.contains).prefix(3).map(\.name) == ["svc-0", "svc-1", "svc-2"], "the same split as an independent FNV-1a (python)")
    }
}

@Suite("manifest.schema.json")
struct ManifestSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theSchemaAcceptsTheExampleAndRejectsMistakes() async throws {
        let ok = #"{"name": "a", "url": "http://a/info"}"#
        let invalid = [
            #"{"services": []}"#,
            #"{"sevices": [\#(ok)]}"#,
            #"{"services": [{"name": "a"}]}"#,
            #"{"services": [{"name": "a", "url": "http://a/info", "expct": "1"}]}"#,
            #"{"services": [{"name": "a", "urls": ["ftp://x"]}]}"#,
            #"{"services": [\#(ok)], "settings": {"unreachableAfter": 0}}"#,
            #"{"services": [\#(ok)], "settings": {"remindEvery": "soon"}}"#,
            #"{"services": [\#(ok)], "channels": {"x": {"type": "email", "url": "http://h/"}}}"#,
            #"{"services": [\#(ok)], "channels": {"x": {"type": "slack"}}}"#,
            #"{"services": [\#(ok)], "channels": {"x": {"type": "pagerduty"}}}"#,
            #"{"services": [\#(ok)], "channels": {"x": {"type": "command"}}}"#,
            #"{"services": [\#(ok)], "channels": {"x": {"type": "slack", "url": "http://h/", "events": ["deploy"]}}}"#,
            #"{"services": [{"name": "a", "url": "http://a/info", "expect": {"file": "/x", "url": "http://y/"}}]}"#,
        ]
        let schema = Self.root.appendingPathComponent("schemas/manifest.schema.json").path
        let example = Self.root.appendingPathComponent("schemas/manifest.example.json").path
        if let problems = try await checkJSONSchema(schema, accepts: example, rejects: invalid) { // python3 is optional here
            #expect(problems.isEmpty, "\(problems)")
        }

        // versioncheck itself accepts the documented example.
        let environment = ["OPS_HOOK_TOKEN": "t0k", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
                           "TEAMS_WORKFLOW_URL": "https://example.logic.azure.com/workflows/1", "PAGERDUTY_ROUTING_KEY": "R0UTING",
                           "PAYMENTS_INFO_TOKEN": "p4y"]
        let manifest = try Manifest.load(path: example, environment: environment)
        #expect(manifest.services.map(\.key) == ["checkout@production", "checkout@staging", "payments@production"])
        #expect(manifest.channels["oncall"]?.kind == .pagerduty)
    }
}
