import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// A scratch directory holding a checks file.
private struct Scratch {
    let directory: URL

    init(_ config: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("blockers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try config.replacingOccurrences(of: "$DIR", with: directory.path)
            .write(to: directory.appendingPathComponent("hooks.json"), atomically: true, encoding: .utf8)
    }

    var config: String { directory.appendingPathComponent("hooks.json").path }
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// `--report` for every format, into this directory.
    var reports: [String] {
        ["--report", "json=\(path("r.json"))", "--report", "junit=\(path("r.xml"))", "--report", "tap=\(path("r.tap"))"]
    }

    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(read("r.json").utf8)) as? [String: Any], "\(read("r.json"))")
    }

    func checks() throws -> [[String: Any]] {
        try #require(try json()["checks"] as? [[String: Any]])
    }
}

private func hookrunner(_ arguments: [String], _ scratch: Scratch, environment: [String: String] = [:]) async throws -> CommandResult {
    let base = ProcessInfo.processInfo.environment.filter { !["LIFECYCLE_EVENT", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"].contains($0.key) }
    return try await runProduct("hookrunner", arguments + ["--config", scratch.config], environment: base.merging(environment) { _, new in new })
}

/// A blackout from yesterday to tomorrow (UTC dates, so today in any zone): a window that is closed now.
private var closedNow: String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate]
    let day: TimeInterval = 86_400
    return "\(formatter.string(from: Date().addingTimeInterval(-2 * day)))..\(formatter.string(from: Date().addingTimeInterval(2 * day)))"
}

/// Collects elements and attributes with Foundation's XMLParser.
private final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var text = ""

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((elementName, attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    static func parse(_ xml: String) throws -> XMLCollector {
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        guard parser.parse() else { throw TestFailure("not XML: \(String(describing: parser.parserError)): \(xml)") }
        return collector
    }

    func property(_ name: String) -> String? {
        elements.first { $0.name == "property" && $0.attributes["name"] == name }?.attributes["value"]
    }
}

@Suite("hookrunner blockers, overrides and bakes (child processes)")
struct BlockerCommandTests {
    @Test func aClosedWindowBlocksWithExit4AndNothingElseRuns() async throws {
        let scratch = try Scratch("""
        {"phases": {"pre-traffic": [
          {"name": "smoke", "command": ["touch", "$DIR/smoke-ran"]},
          {"name": "cleanup", "command": ["touch", "$DIR/cleanup-ran"], "always": true},
          {"name": "release window", "window": {"timeZone": "Europe/Berlin", "allow": ["Mon-Sun"],
            "blackout": [{"dates": "\(closedNow)", "reason": "change freeze"}]}},
          {"name": "open window", "window": "daily 00:00-24:00 America/New_York"}
        ]}}
        """)
        defer { scratch.remove() }
        let result = try await hookrunner(["pre-traffic"] + scratch.reports, scratch,
                                          environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": scratch.path("summary.md")])
        #expect(result.status == 4, "\(result.output)")
        #expect(!scratch.exists("smoke-ran"), "nothing else runs")
        #expect(!scratch.exists("cleanup-ran"), "not even always steps")
        #expect(result.stdout.contains("⛔ release window: blocked: blackout "), "\(result.stdout)")
        #expect(result.stdout.contains("(change freeze): it is "))
        #expect(result.stdout.contains("✔ open window"), "every blocker is evaluated")
        #expect(result.stdout.contains("- smoke: not run: the deployment is blocked by 'release window'"))
        #expect(result.stdout.contains("nothing else ran: no release was judged"))

        // Blockers run first: the reports list them before the steps written above them.
        let report = try scratch.json()
        #expect(report["result"] as? String == "blocked")
        #expect(report["exitCode"] as? Int == 4)
        let blockedBy = try #require(report["blockedBy"] as? [[String: Any]])
        #expect(blockedBy.map { $0["name"] as? String } == ["release window"])
        #expect(blockedBy.first?["path"] as? String == "phases.pre-traffic[2]")
        let checks = try scratch.checks()
        #expect(checks.map { $0["name"] as? String } == ["release window", "open window", "smoke", "cleanup"])
        #expect(checks.map { $0["result"] as? String } == ["blocked", "passed", "skipped", "skipped"])
        #expect(checks.map { $0["blocker"] as? Bool } == [true, true, false, false])
        #expect((report["counts"] as? [String: Int])?["blocked"] == 1)

        let junit = try XMLCollector.parse(scratch.read("r.xml"))
        #expect(junit.property("result") == "blocked")
        #expect(junit.property("blocked")?.hasPrefix("blocked by 'release window': blackout") == true)
        let failure = try #require(junit.elements.first { $0.name == "failure" })
        #expect(failure.attributes["type"] == "blocker")
        #expect(failure.attributes["message"]?.hasPrefix("blocked: blackout") == true)
        let tap = scratch.read("r.tap")
        #expect(tap.contains("not ok 1 - release window"))
        #expect(tap.contains("  severity: blocked"))
        #expect(tap.contains("# blocked by 'release window': blackout"))
        #expect(result.stdout.contains("::error title=hookrunner pre-traffic%3A blocked by release window::blackout"))
        #expect(scratch.read("summary.md").contains("### hookrunner pre-traffic: ⛔ blocked (no release was judged)"))
    }

    @Test func overrideBlockersLetsARecoveryDeployThrough() async throws {
        let scratch = try Scratch("""
        {"phases": {"pre-traffic": [
          {"name": "smoke", "command": ["touch", "$DIR/smoke-ran"]},
          {"name": "release window", "window": {"timeZone": "UTC", "blackout": ["\(closedNow)"]}}
        ]}}
        """)
        defer { scratch.remove() }
        let reason = "hotfix INC-4711 <approved by on-call>"
        let result = try await hookrunner(["pre-traffic", "--override-blockers", reason] + scratch.reports, scratch,
                                          environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": scratch.path("summary.md")])
        #expect(result.status == 0, "\(result.output)")
        #expect(scratch.exists("smoke-ran"))
        #expect(result.stdout.contains("⚠ release window: would block, overridden: blackout"), "\(result.stdout)")
        #expect(result.stdout.contains("blockers overridden (--override-blockers): \(reason)"))

        let report = try scratch.json()
        #expect(report["result"] as? String == "passed")
        #expect(report["overrideBlockers"] as? String == reason)
        #expect((report["blockedBy"] as? [Any])?.isEmpty == true)
        let window = try #require(try scratch.checks().first)
        #expect(window["result"] as? String == "overridden")
        #expect((window["reason"] as? String)?.hasPrefix("blackout") == true, "evaluated and reported")
        let junit = try XMLCollector.parse(scratch.read("r.xml"))
        #expect(junit.property("override-blockers") == reason)
        #expect(!junit.elements.contains { $0.name == "failure" })
        #expect(junit.text.contains("would block, overridden (--override-blockers: \(reason)): blackout"))
        #expect(scratch.read("r.tap").contains("# blockers overridden (--override-blockers): \(reason)"))
        #expect(scratch.read("r.tap").contains("ok 1 - release window\n# would block, overridden: blackout"))
        #expect(scratch.read("summary.md").contains("Blockers overridden (`--override-blockers`): hotfix INC-4711 <approved by on-call>"))
        #expect(result.stdout.contains("::warning title=hookrunner pre-traffic%3A release window overridden::"))

        let empty = try await hookrunner(["pre-traffic", "--override-blockers", " "], scratch)
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("--override-blockers needs a reason"))
    }

    @Test func anyStepCanBeABlockerAndABlockerCanBeAnOrdinaryCheck() async throws {
        let scratch = try Scratch("""
        {"phases": {
          "pre-traffic": [
            {"name": "smoke", "command": ["touch", "$DIR/smoke-ran"]},
            {"name": "change ticket approved", "command": "exit 1", "blocker": true},
            {"parallel": [{"name": "window a", "window": "daily 00:00-24:00 UTC"}, {"name": "window b", "window": "daily 00:00-24:00 UTC"}]}
          ],
          "post-traffic": [
            {"name": "window as a check", "window": {"timeZone": "UTC", "blackout": ["\(closedNow)"]}, "blocker": false},
            {"name": "after", "command": ["touch", "$DIR/after-ran"]}
          ]
        }}
        """)
        defer { scratch.remove() }
        let blocked = try await hookrunner(["pre-traffic", "--report", "json=\(scratch.path("r.json"))"], scratch)
        #expect(blocked.status == 4, "\(blocked.output)")
        #expect(!scratch.exists("smoke-ran"))
        let checks = try scratch.checks()
        #expect(checks.map { $0["name"] as? String } == ["change ticket approved", "window a", "window b", "smoke"])
        #expect(checks.map { $0["result"] as? String } == ["blocked", "passed", "passed", "skipped"])
        #expect(checks[0]["reason"] as? String == "expected exit == 0, actual 1")

        let failed = try await hookrunner(["post-traffic"], scratch)
        #expect(failed.status == 1, "\(failed.output)")
        #expect(!scratch.exists("after-ran"), "an ordinary failure skips the rest")
        #expect(failed.stdout.contains("✘ window as a check: blackout"))

        let validate = try await hookrunner(["validate"], scratch)
        #expect(validate.stdout.contains("pre-traffic: 4 checks (2 blockers); post-traffic: 2 checks"), "\(validate.stdout)")
    }

    @Test func retryOnABlockerWaitsForItToClear() async throws {
        let scratch = try Scratch("""
        {"phases": {"pre-traffic": [
          {"name": "smoke", "command": ["touch", "$DIR/smoke-ran"]},
          {"name": "change approved", "command": ["test", "-e", "$DIR/approved"], "blocker": true,
           "retry": {"within": "20s", "every": "100ms"}}
        ]}}
        """)
        defer { scratch.remove() }
        let runner = ChildProcess(try Products.executable("hookrunner"), ["pre-traffic", "--config", scratch.config])
        try runner.start()
        try await Task.sleep(for: .milliseconds(500)) // the scenario: approval comes a little later
        #expect(!scratch.exists("smoke-ran"), "nothing runs while the blocker holds")
        _ = FileManager.default.createFile(atPath: scratch.path("approved"), contents: nil)
        #expect(try await runner.waitForExit(timeout: .seconds(20)) == 0, "\(runner.output)")
        #expect(scratch.exists("smoke-ran"))
        #expect(runner.standardOutput.contains("✔ change approved ("), "\(runner.standardOutput)")
    }

    @Test func aPassingBakeRunsItsRoundsAndPasses() async throws {
        let scratch = try Scratch("""
        {"phases": {"canary": [
          {"name": "one-box bake", "bake": {"for": "1s", "every": "250ms", "checks": [
            {"name": "counted", "command": ["sh", "-c", "echo x >> '$DIR/rounds'"]},
            {"name": "open", "window": "daily 00:00-24:00 UTC"}
          ]}},
          {"name": "after", "command": ["touch", "$DIR/after-ran"]}
        ]}}
        """)
        defer { scratch.remove() }
        let result = try await hookrunner(["canary", "--report", "json=\(scratch.path("r.json"))"], scratch)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.elapsed >= .seconds(1))
        // Rounds at 0, 250ms, 500ms, 750ms and, when `for` has passed, at 1s.
        #expect(scratch.read("rounds").split(separator: "\n").count == 5)
        #expect(scratch.exists("after-ran"))
        let bake = try #require(try scratch.checks().first?["bake"] as? [String: Int])
        #expect(bake["rounds"] == 5)
        #expect(bake["forMs"] == 1000)
        #expect((bake["bakedMs"] ?? 0) >= 1000)
        #expect(result.stdout.contains("✔ counted (baked 1"), "\(result.stdout)")
        #expect(result.stdout.contains("… one-box bake: round 5, baked"))
    }

    @Test func aCheckThatStartsFailingEndsTheBakeAtOnce() async throws {
        let scratch = try Scratch("""
        {"phases": {"canary": [
          {"name": "bake", "bake": {"for": "60s", "every": "100ms", "checks": [
            {"name": "healthy", "command": ["sh", "-c", "echo x >> '$DIR/rounds'; test ! -e '$DIR/broken'"]}
          ]}},
          {"name": "after", "command": ["touch", "$DIR/after-ran"]}
        ]}}
        """)
        defer { scratch.remove() }
        let runner = ChildProcess(try Products.executable("hookrunner"),
                                  ["canary", "--config", scratch.config, "--report", "json=\(scratch.path("r.json"))",
                                   "--report", "junit=\(scratch.path("r.xml"))"])
        let started = ContinuousClock.now
        try runner.start()
        try await withTimeout(.seconds(20), "a few rounds") {
            while scratch.read("rounds").split(separator: "\n").count < 3 { try await Task.sleep(for: .milliseconds(20)) }
        }
        _ = FileManager.default.createFile(atPath: scratch.path("broken"), contents: nil)
        #expect(try await runner.waitForExit(timeout: .seconds(20)) == 1, "\(runner.output)")
        #expect(ContinuousClock.now - started < .seconds(20), "long before the 60s bake is over")
        #expect(!scratch.exists("after-ran"))
        let check = try #require(try scratch.checks().first)
        #expect(check["result"] as? String == "failed")
        let reason = try #require(check["reason"] as? String)
        #expect(reason.contains("failed in round "), "\(reason)")
        #expect(reason.contains("of the bake (baked "), "\(reason)")
        #expect(reason.hasSuffix("of 1m, \((check["bake"] as? [String: Int])?["rounds"] ?? 0) rounds): expected exit == 0, actual 1"), "\(reason)")
        #expect(((check["bake"] as? [String: Int])?["rounds"] ?? 0) >= 3)
        #expect(scratch.read("r.xml").contains("failed in round"))

        // A failure cancels the round's slower checks: the bake does not wait for them.
        let slow = try Scratch("""
        {"phases": {"canary": [{"bake": {"for": "60s", "every": "1s", "checks": [
          {"name": "sleeper", "command": "sleep 30"}, {"name": "broken", "command": "exit 3"}
        ]}}]}}
        """)
        defer { slow.remove() }
        let quick = try await hookrunner(["canary", "--report", "json=\(slow.path("r.json"))"], slow)
        #expect(quick.status == 1, "\(quick.output)")
        #expect(quick.elapsed < .seconds(10))
        let results = try slow.checks()
        #expect(results.map { $0["result"] as? String } == ["skipped", "failed"])
        #expect(results[0]["reason"] as? String == "not finished: the bake ended when 'broken' failed")
    }

    @Test func aBakeRespectsTimeoutAndSIGTERM() async throws {
        let scratch = try Scratch("""
        {"phases": {"canary": [{"name": "bake", "bake": {"for": "60s", "every": "200ms", "checks": [{"name": "ok", "command": "true"}]}}]}}
        """)
        defer { scratch.remove() }
        let deadline = try await hookrunner(["canary", "--timeout", "1s", "--report", "json=\(scratch.path("r.json"))"], scratch)
        #expect(deadline.status == 3, "\(deadline.output)")
        #expect(deadline.elapsed < .seconds(10))
        let check = try #require(try scratch.checks().first)
        #expect(check["result"] as? String == "interrupted")
        // Baked for about the 1-s timeout: the bake starts a moment after the run's clock does.
        #expect((check["reason"] as? String)?.hasPrefix("interrupted: the run was stopped (baked ") == true, "\(check)")
        let baked = (check["bake"] as? [String: Any])?["bakedMs"] as? Int ?? 0
        #expect((800...3000).contains(baked), "\(check)")
        #expect(try scratch.json()["result"] as? String == "deadline-exceeded")

        let runner = ChildProcess(try Products.executable("hookrunner"),
                                  ["canary", "--config", scratch.config, "--report", "tap=\(scratch.path("r.tap"))"])
        try runner.start()
        _ = try await runner.waitForLine(containing: "round 2")
        runner.send(signal: SIGTERM)
        #expect(try await runner.waitForExit(timeout: .seconds(10)) == 3)
        #expect(scratch.read("r.tap").contains("# interrupted"))
    }

    @Test func serveAnswersABlockedRunSoThatNothingTakesItForAPass() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("blockserve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("hooks.json")
        try """
        {"phases": {"confirm": [{"name": "freeze", "window": {"timeZone": "UTC", "blackout": ["\(closedNow)"]}},
                                {"name": "smoke", "command": "true"}]}}
        """.write(to: file, atomically: true, encoding: .utf8)

        for override in [nil, "rollback of 1.4.2"] {
            let server = ChildProcess(try Products.executable("hookrunner"),
                                      ["serve", "--port", "0", "--host", "127.0.0.1", "--config", file.path]
                                        + (override.map { ["--override-blockers", $0] } ?? []))
            try server.start()
            defer { server.send(signal: SIGKILL) }
            let line = try await server.waitForLine(containing: "serving")
            let port = try #require(line.split(separator: ":").compactMap { Int($0.prefix { $0.isNumber }) }.last)
            let client = try RawClient(port: port, receiveTimeout: 20)
            let flagger = try await client.request("POST", "/hooks/confirm", body: #"{"name":"checkout","namespace":"shop"}"#)
            let argo = try await client.get("/hooks/confirm")
            let flaggerJSON = try #require(flagger.json, "\(flagger.text)")
            let argoJSON = try #require(argo.json, "\(argo.text)")
            #expect(argo.status == 200, "Argo Rollouts web metrics always get 200")
            if let override {
                #expect(flagger.status == 200, "\(flagger.text)")
                #expect(flaggerJSON["ok"] as? Bool == true)
                #expect(flaggerJSON["overrideBlockers"] as? String == override)
                #expect(argoJSON["overrideBlockers"] as? String == override)
                #expect(argoJSON["exitCode"] as? Int == 0)
            } else {
                #expect(flagger.status == 423, "Flagger: anything but 200 is no pass; 423 tells blocked from failed (500)")
                #expect(flaggerJSON["ok"] as? Bool == false)
                #expect(flaggerJSON["blocked"] as? Bool == true)
                #expect(flaggerJSON["result"] as? String == "blocked")
                #expect(argoJSON["ok"] as? Bool == false)
                #expect(argoJSON["exitCode"] as? Int == 4, "failureCondition: result.exitCode == 1 leaves it inconclusive")
                #expect(((argoJSON["blockedBy"] as? [[String: Any]])?.first?["name"] as? String) == "freeze")
            }
            server.send(signal: SIGTERM)
            #expect(try await server.waitForExit() == 0)
            #expect(server.standardOutput.contains(override == nil ? "POST /hooks/confirm: blocked" : "blockers overridden: \(override!)"),
                    "\(server.standardOutput)")
        }
    }

    @Test(arguments: [
        (#"{"phases": {"p": [{"window": {"timeZone": "Mars/Olympus", "allow": ["Mon-Fri"]}}]}}"#,
         "phases.p[0].window.timeZone: 'Mars/Olympus' is not a time zone"),
        (#"{"phases": {"p": [{"window": "Mon-Fri 09:00-17:00 Europe/Atlantis"}]}}"#, "phases.p[0].window: 'Europe/Atlantis' is not a time zone"),
        (#"{"phases": {"p": [{"window": {"timeZone": "UTC", "allow": ["Mon-Fri 9-17"]}}]}}"#,
         "phases.p[0].window.allow[0]: 'Mon-Fri 9-17'"),
        (#"{"phases": {"p": [{"window": {"timeZone": "UTC", "blackout": ["2025-13-01"]}}]}}"#,
         "phases.p[0].window.blackout[0]: '2025-13-01' is not a date"),
        (#"{"phases": {"p": [{"window": {"timeZone": "UTC"}}]}}"#, "phases.p[0].window: needs allow"),
        (#"{"phases": {"p": [{"window": "daily UTC", "expect": ["time < 1s"]}]}}"#, "phases.p[0].expect: a window check takes no expect"),
        (#"{"phases": {"p": [{"alarms": {"cloudwatch": {}}}]}}"#, "phases.p[0].alarms.cloudwatch: needs names"),
        (#"{"phases": {"p": [{"alarms": {"cloudwatch": {"names": ["a"]}, "alertmanager": {"url": "http://a/"}}}]}}"#,
         "one source per check"),
        (#"{"phases": {"p": [{"alarms": {"alertmanager": {"url": "http://a/", "matchers": ["service=\"a"]}}}]}}"#,
         "phases.p[0].alarms.alertmanager.matchers[0]: 'service=\"a': the value's closing quote is missing"),
        (#"{"phases": {"p": [{"alarms": {"alertmanager": {"url": "http://a/", "matchers": ["=a"]}}}]}}"#, "a label name is missing"),
        (#"{"phases": {"p": [{"prometheus": {"url": "http://p/", "query": "up"}}]}}"#, "phases.p[0]: a prometheus check needs expect"),
        (#"{"phases": {"p": [{"prometheus": {"url": "http://p/", "query": "up"}, "expect": ["value < low"]}]}}"#,
         "value compares with a number"),
        (#"{"phases": {"p": [{"prometheus": {"url": "http://p/", "query": "up", "ifEmpty": "skip"}, "expect": ["value > 0"]}]}}"#,
         "phases.p[0].prometheus.ifEmpty: 'skip' is neither pass nor fail"),
        (#"{"phases": {"p": [{"bake": {"for": "1m", "every": "5m", "checks": [{"command": "true"}]}}]}}"#,
         "phases.p[0].bake.every: 5m is longer than the bake (1m)"),
        (#"{"phases": {"p": [{"bake": {"for": "1m", "checks": []}}]}}"#, "phases.p[0].bake.checks: expected a non-empty array"),
        (#"{"phases": {"p": [{"bake": {"for": "1m", "checks": [{"command": "true"}]}, "blocker": true}]}}"#, "a bake cannot be a blocker"),
        (#"{"phases": {"p": [{"bake": {"for": "1m", "checks": [{"command": "true", "blocker": true}]}}]}}"#,
         "phases.p[0].bake.checks[0].blocker: unknown key 'blocker'"),
    ])
    func invalidBlockerConfigurationNamesTheJSONPath(config: String, message: String) async throws {
        let scratch = try Scratch(config)
        defer { scratch.remove() }
        let result = try await hookrunner(["validate"], scratch)
        #expect(result.status == 2, "\(config)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        let run = try await hookrunner(["p"], scratch)
        #expect(run.status == 2, "a run refuses it too")
    }

    @Test func helpDocumentsExit4AndTheOverride() async throws {
        let help = try await runProduct("hookrunner", ["--help"])
        for text in ["--override-blockers REASON", "4  blocked: a blocker holds the deployment, no release was judged",
                     "POST answers 423", "Blockers run before every other step"] {
            #expect(help.stdout.contains(text), "\(text)")
        }
    }
}
