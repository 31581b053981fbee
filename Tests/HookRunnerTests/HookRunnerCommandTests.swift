import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import InfoEndpoint
import Testing
import TestSupport

/// A scratch directory holding a checks file.
private struct Workspace {
    let directory: URL

    init(_ config: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hookrunner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try config.write(to: directory.appendingPathComponent("hooks.json"), atomically: true, encoding: .utf8)
    }

    var config: String { directory.appendingPathComponent("hooks.json").path }
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
    func remove() { try? FileManager.default.removeItem(at: directory) }
}

private func hookrunner(_ arguments: [String], _ workspace: Workspace, environment: [String: String] = [:]) async throws -> CommandResult {
    let base = ProcessInfo.processInfo.environment.filter { !["LIFECYCLE_EVENT", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"].contains($0.key) }
    return try await runProduct("hookrunner", arguments + ["--config", workspace.config],
                                environment: base.merging(environment) { _, new in new })
}

private func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// True while a process with this pid exists.
private func alive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}

@Suite("hookrunner against real services and processes")
struct HookRunnerCommandTests {
    @Test func everyConditionOperatorAgainstARealService() async throws {
        let (service, port) = try await ExampleService.launch(version: "1.4.2", extra: ["--extra", "region=eu-west-1"])
        defer { service.send(signal: SIGKILL) }
        let workspace = try Workspace("""
        {"vars": {"BASE": "http://127.0.0.1:\(port)"},
         "phases": {"pre-traffic": [
           {"name": "info", "http": {"url": "${BASE}/info"}, "expect": [
             "status == 200", "status != 500", "status < 300", "status <= 200", "status > 199", "status >= 200",
             "status in [200, 204]", "time < 5s", "header.content-type contains json", "header.cache-control == no-store",
             "body contains checkout", "body matches \\"name\\":\\"checkout\\"", "json.version == ${VERSION}",
             "json.version >= 1.4.0", "json.version < 1.10.0", "json.extra.region == eu-west-1", "json.uptimeSeconds >= 0",
             "json.revision exists", "json.nothing not exists", "json.name not in [billing, search]", "json.name not contains z"]},
           {"name": "health", "http": "${BASE}/health", "expect": ["json.status == pass", "header.content-type == application/health+json"]},
           {"name": "command", "command": ["sh", "-c", "echo '{\\"tests\\": 3}'; echo warn >&2; exit 4"],
            "expect": ["exit == 4", "stdout contains tests", "stderr matches ^warn", "json.tests == 3"]},
           {"name": "tcp", "tcp": "127.0.0.1:\(port)", "expect": ["time < 5s"]},
           {"name": "version", "version": {"url": "${BASE}/info", "expect": "^1.4"}, "expect": ["version == 1.4.2"]}
         ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--var", "VERSION=1.4.2"], workspace)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("✔ pre-traffic: 5 passed"))
    }

    @Test func aFailedConditionShowsActualBesideExpected() async throws {
        let (service, port) = try await ExampleService.launch(version: "1.4.1")
        defer { service.send(signal: SIGKILL) }
        let workspace = try Workspace("""
        {"phases": {"pre-traffic": [{"name": "new version", "http": "http://127.0.0.1:\(port)/info",
          "expect": ["status == 200", "json.version == ${VERSION}"]}]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--report", "json=\(workspace.path("report.json"))"], workspace,
                                          environment: ["VERSION": "1.4.2"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("✘ new version: expected json.version == 1.4.2, actual 1.4.1"))
        let report = try json(workspace.read("report.json"))
        #expect(report["result"] as? String == "failed")
        let check = try #require((report["checks"] as? [[String: Any]])?.first)
        let conditions = try #require(check["conditions"] as? [[String: Any]])
        #expect(conditions.map { $0["passed"] as? Bool } == [true, false])
        #expect(conditions[1]["actual"] as? String == "1.4.1")
    }

    @Test func retryUntilAServiceComesUpLate() async throws {
        let probe = InfoServer(info: ServiceInfo(name: "x"), host: "127.0.0.1", port: 0)
        try probe.start()
        let port = probe.port
        await probe.stop() // a port that is free now, and taken once the service comes up
        let workspace = try Workspace("""
        {"phases": {"pre-traffic": [{"name": "comes up", "http": "http://127.0.0.1:\(port)/health/ready",
          "expect": ["status == 200"], "retry": {"within": "20s", "every": "100ms"}}]}}
        """)
        defer { workspace.remove() }
        let runner = ChildProcess(try Products.executable("hookrunner"),
                                  ["pre-traffic", "--config", workspace.config, "--report", "json=\(workspace.path("r.json"))"])
        try runner.start()
        try await Task.sleep(for: .milliseconds(400)) // the scenario: the service is late
        let service = ChildProcess(try Products.executable("example-service"),
                                   ["--host", "127.0.0.1", "--port", String(port), "--name", "late", "--version", "1"])
        try service.start()
        defer { service.send(signal: SIGKILL) }
        #expect(try await runner.waitForExit() == 0, "\(runner.output)")
        let check = try #require((try json(workspace.read("r.json"))["checks"] as? [[String: Any]])?.first)
        #expect((check["attempts"] as? Int ?? 0) > 1)
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let workspace = try Workspace("""
        {"phases": {"pre-traffic": [
          {"name": "hangs", "command": ["sh", "-c", "sleep 300 & echo $! > '${DIR}/child.pid'; sleep 300"], "timeout": "500ms"}
        ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--var", "DIR=\(workspace.directory.path)"], workspace)
        #expect(result.status == 1)
        #expect(result.stdout.contains("timed out after 500ms; its process group was terminated"), "\(result.stdout)")
        let pid = try #require(Int32(workspace.read("child.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        // SIGTERM then SIGKILL after the grace: give the kernel a moment to reap.
        try await withTimeout(.seconds(5), "the background child to be gone") {
            while alive(pid) { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!alive(pid), "no orphan left")
    }

    @Test func whatACommandLeavesBehindIsStoppedWithIt() async throws {
        let workspace = try Workspace("""
        {"phases": {"pre-traffic": [
          {"name": "daemonizes", "command": ["sh", "-c", "sleep 300 > /dev/null 2>&1 & echo $! > '${DIR}/child.pid'; exit 0"]}
        ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--var", "DIR=\(workspace.directory.path)"], workspace)
        #expect(result.status == 0, "\(result.output)")
        let pid = try #require(Int32(workspace.read("child.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        try await withTimeout(.seconds(5), "the leftover to be gone") {
            while alive(pid) { try await Task.sleep(for: .milliseconds(50)) }
        }
    }

    @Test func alwaysStepsRunAfterAFailureAndTheRestIsSkipped() async throws {
        let workspace = try Workspace("""
        {"phases": {"post-traffic": [
          {"name": "fails", "command": "exit 7"},
          {"name": "skipped", "command": ["touch", "${DIR}/skipped"]},
          {"name": "cleanup", "command": ["touch", "${DIR}/cleaned"], "always": true}
        ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["post-traffic", "--var", "DIR=\(workspace.directory.path)"], workspace)
        #expect(result.status == 1)
        #expect(FileManager.default.fileExists(atPath: workspace.path("cleaned")))
        #expect(!FileManager.default.fileExists(atPath: workspace.path("skipped")))
        #expect(result.stdout.contains("- skipped: skipped after 'fails' failed"))
        #expect(result.stdout.contains("expected exit == 0, actual 7"))

        let keepGoing = try await hookrunner(["post-traffic", "--keep-going", "--var", "DIR=\(workspace.directory.path)"], workspace)
        #expect(keepGoing.status == 1)
        #expect(FileManager.default.fileExists(atPath: workspace.path("skipped")))
    }

    @Test func parallelGroupsRespectJobs() async throws {
        let workspace = try Workspace("""
        {"phases": {"pre-traffic": [{"parallel": [
          {"command": "sleep 0.3"}, {"command": "sleep 0.3"}, {"command": "sleep 0.3"}, {"command": "sleep 0.3"}
        ]}]}}
        """)
        defer { workspace.remove() }
        let serial = try await hookrunner(["pre-traffic", "--jobs", "1"], workspace)
        #expect(serial.status == 0)
        #expect(serial.elapsed >= .milliseconds(1200))
        let twoAtATime = try await hookrunner(["pre-traffic", "--jobs", "2"], workspace)
        #expect(twoAtATime.status == 0)
        #expect(twoAtATime.elapsed >= .milliseconds(600))
        #expect(twoAtATime.stdout.contains("4 passed"))
    }

    @Test func repeatGivesASuccessRatio() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        // Every third request resets: 2/3 succeed.
        let workspace = try Workspace("""
        {"phases": {"post-traffic": [
          {"name": "load", "http": "\(server.url("/version/1"))", "repeat": {"count": 20, "minSuccess": 0.95, "concurrency": 4}},
          {"name": "lenient", "http": "\(server.url("/status/503"))", "repeat": {"count": 4, "minSuccess": 0.0}}
        ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["post-traffic", "--report", "json=\(workspace.path("r.json"))"], workspace)
        #expect(result.status == 0, "\(result.output)")
        let checks = try #require(try json(workspace.read("r.json"))["checks"] as? [[String: Any]])
        #expect((checks[0]["repeat"] as? [String: Any])?["passed"] as? Int == 20)
        #expect((checks[1]["repeat"] as? [String: Any])?["passed"] as? Int == 0)

        let strict = try Workspace("""
        {"phases": {"post-traffic": [{"name": "strict", "http": "\(server.url("/status/503"))", "repeat": {"count": 5, "minSuccess": 0.8}}]}}
        """)
        defer { strict.remove() }
        let failing = try await hookrunner(["post-traffic"], strict)
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("0/5 passed (0%, at least 80% needed)"))
    }

    @Test func undefinedVariablesAreConfigurationErrors() async throws {
        let workspace = try Workspace("""
        {"vars": {"BASE": "http://${HOST}:8080"},
         "phases": {"pre-traffic": [{"http": "${BASE}/info", "expect": ["json.version == ${VERSION}"]}]}}
        """)
        defer { workspace.remove() }
        let noHost = try await hookrunner(["pre-traffic"], workspace)
        #expect(noHost.status == 2)
        #expect(noHost.stderr.contains("hooks.json: vars.BASE: ${HOST} is not defined"), "\(noHost.stderr)")
        let noVersion = try await hookrunner(["pre-traffic", "--var", "HOST=127.0.0.1"], workspace)
        #expect(noVersion.status == 2)
        #expect(noVersion.stderr.contains("phases.pre-traffic[0].expect[0]: ${VERSION} is not defined"))
        let validate = try await hookrunner(["validate", "--var", "HOST=h", "--var", "VERSION=1"], workspace)
        #expect(validate.status == 0)
        #expect(validate.stdout.contains("valid (pre-traffic: 1 check)"))
    }

    @Test(arguments: [
        (#"{"phases": {"pre-traffic": [{"http": "http://x/", "timout": "5s"}]}}"#,
         "phases.pre-traffic[0].timout: unknown key 'timout' (did you mean 'timeout'?)"),
        (#"{"phases": {"pre-traffic": [{"http": "http://x/", "expect": ["status => 200"]}]}}"#,
         "phases.pre-traffic[0].expect[0]: 'status => 200': unknown operator"),
        (#"{"phases": {"pre-traffic": [{"http": "http://x/"}, {"command": "true", "expect": ["exit == 0", "status == 200"]}]}}"#,
         "phases.pre-traffic[1].expect[1]: 'status' does not apply to a command check"),
        (#"{"phases": {"pre-traffic": [{"http": "http://x/", "retry": {"within": "soon"}}]}}"#,
         "phases.pre-traffic[0].retry.within: 'soon' is not a duration"),
        (#"{"phases": {"pre-traffic": [{"name": "x"}]}}"#, "phases.pre-traffic[0]: a check needs one of http, command, tcp, version"),
        (#"{"phases": {"pre-traffic": [{"http": "http://x/", "command": "true"}]}}"#, "a check has one kind, found http and command"),
        (#"{"phases": {"pre-traffic": [{"tcp": "nohostport"}]}}"#, "phases.pre-traffic[0].tcp: expected host:port"),
        (#"{"phases": {"pre-traffic": [{"http": "http://x/", "repeat": {"count": 0}}]}}"#,
         "phases.pre-traffic[0].repeat.count: expected a whole number from 1 to 100000"),
        (#"{"phases": {"pre-traffic": [{"parallel": [{"http": "http://x/", "always": true}]}]}}"#,
         "phases.pre-traffic[0].parallel[0].always: unknown key 'always'"),
        (#"{"phases": {"pre-traffic": [{"version": {"url": "http://x/", "expect": ">=x.y"}}]}}"#,
         "phases.pre-traffic[0].version.expect: invalid range"),
        (#"{"phases": {}}"#, "phases: no phase defined"),
        (#"{"vars": {}}"#, "phases: missing"),
        (#"{"phases": {"a": []}, "phases": {"b": []}}"#, "duplicate key \"phases\""),
        ("{\n  \"phases\": {\n    \"pre-traffic\": [\n      {\"http\": \"http://x/\",}\n    ]\n  }\n}", "hooks.json: line 4, column 28: trailing comma"),
        (#"{"phases": {"pre-traffic": [{"http": "http://x/"}]}, "lifecycleEvents": {"BeforeInstall": "install"}}"#,
         "lifecycleEvents.BeforeInstall: 'install' is not a phase of this file"),
    ])
    func invalidFilesNameTheJSONPath(config: String, message: String) async throws {
        let workspace = try Workspace(config)
        defer { workspace.remove() }
        let result = try await hookrunner(["validate"], workspace)
        #expect(result.status == 2, "\(config)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains(workspace.config), "names the file")
    }

    @Test func exitCodes() async throws {
        let workspace = try Workspace("""
        {"phases": {"ok": [{"command": "true"}], "fails": [{"command": "false"}], "slow": [{"command": "sleep 30"}]}}
        """)
        defer { workspace.remove() }
        #expect(try await hookrunner(["ok"], workspace).status == 0)
        #expect(try await hookrunner(["fails"], workspace).status == 1)
        #expect(try await hookrunner(["nope"], workspace).status == 2)
        #expect(try await hookrunner(["ok", "--jobs", "0"], workspace).status == 2)
        let deadline = try await hookrunner(["slow", "--timeout", "400ms", "--report", "junit=\(workspace.path("j.xml"))"], workspace)
        #expect(deadline.status == 3)
        #expect(deadline.stdout.contains("the overall deadline passed"))
        #expect(deadline.elapsed < .seconds(10))
        #expect(workspace.read("j.xml").contains("type=\"interrupted\""), "reports are written on deadline")

        let interrupted = ChildProcess(try Products.executable("hookrunner"),
                                       ["slow", "--config", workspace.config, "--report", "tap=\(workspace.path("t.tap"))"])
        try interrupted.start()
        try await Task.sleep(for: .milliseconds(300)) // let it start the command
        interrupted.send(signal: SIGTERM)
        #expect(try await interrupted.waitForExit() == 3)
        #expect(workspace.read("t.tap").contains("not ok 1"))
        #expect(workspace.read("t.tap").contains("# interrupted"))
    }

    @Test func codeDeployLifecycleEvents() async throws {
        let workspace = try Workspace("""
        {"lifecycleEvents": {"BeforeInstall": "prepare"},
         "phases": {"pre-traffic": [{"command": "true"}], "post-traffic": [{"command": "true"}], "prepare": [{"command": "true"}]}}
        """)
        defer { workspace.remove() }
        let codedeploy = ["DEPLOYMENT_ID": "d-AB1CDEF23", "APPLICATION_NAME": "checkout", "DEPLOYMENT_GROUP_NAME": "production"]
        for (event, phase) in [("BeforeAllowTraffic", "pre-traffic"), ("AfterAllowTestTraffic", "pre-traffic"),
                               ("AfterAllowTraffic", "post-traffic"), ("ValidateService", "post-traffic"), ("BeforeInstall", "prepare")] {
            let result = try await hookrunner(["--report", "json=\(workspace.path("r.json"))"], workspace,
                                              environment: codedeploy.merging(["LIFECYCLE_EVENT": event]) { a, _ in a })
            #expect(result.status == 0, "\(event): \(result.output)")
            let report = try json(workspace.read("r.json"))
            #expect(report["phase"] as? String == phase, "\(event)")
            #expect(report["lifecycleEvent"] as? String == event)
            #expect((report["deployment"] as? [String: String])?["DEPLOYMENT_ID"] == "d-AB1CDEF23")
        }
        let unmapped = try await hookrunner([], workspace, environment: ["LIFECYCLE_EVENT": "ApplicationStop"])
        #expect(unmapped.status == 2)
        #expect(unmapped.stderr.contains("LIFECYCLE_EVENT=ApplicationStop has no phase"))
        let none = try await hookrunner([], workspace)
        #expect(none.status == 2)
        #expect(none.stderr.contains("name the phase to run"))
        let junit = try await hookrunner(["--report", "junit=\(workspace.path("j.xml"))"], workspace,
                                         environment: codedeploy.merging(["LIFECYCLE_EVENT": "ValidateService"]) { a, _ in a })
        #expect(junit.status == 0)
        #expect(workspace.read("j.xml").contains("<property name=\"DEPLOYMENT_GROUP_NAME\" value=\"production\"/>"))
    }

    @Test func secretsAppearInNoOutputAndNoReport() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let token = "tok-\(UUID().uuidString.prefix(8))"
        let workspace = try Workspace("""
        {"secrets": ["API_TOKEN"],
         "phases": {"post-traffic": [
           {"name": "api", "http": {"url": "\(server.url("/status/401"))", "headers": {"Authorization": "Bearer ${API_TOKEN}"}},
            "expect": ["status == 200", "body contains ${API_TOKEN}"]},
           {"name": "echo", "command": ["sh", "-c", "echo token=$TOKEN; echo also ${API_TOKEN} >&2; exit 1"],
            "always": true},
           {"name": "env", "command": {"run": "echo $TOKEN", "env": {"TOKEN": "${API_TOKEN}"}}, "expect": ["stdout contains nothing-like-it"], "always": true},
           {"name": "url", "http": "\(server.url("/status/500"))?token=${API_TOKEN}", "always": true},
           {"name": "other", "http": {"url": "\(server.url("/status/500"))", "headers": {"X-Api-Key": "${KEY}"}}, "always": true}
         ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(
            ["post-traffic", "--secret", "KEY", "--report", "junit=\(workspace.path("r.xml"))", "--report", "json=\(workspace.path("r.json"))",
             "--report", "tap=\(workspace.path("r.tap"))"],
            workspace, environment: ["API_TOKEN": token, "TOKEN": token, "KEY": "key-\(token)", "GITHUB_ACTIONS": "true",
                                     "GITHUB_STEP_SUMMARY": workspace.path("summary.md")])
        #expect(result.status == 1)
        #expect(server.requests.contains { $0.head.contains("Authorization: Bearer \(token)") }, "the token is sent")
        for (name, text) in [("output", result.output), ("junit", workspace.read("r.xml")), ("json", workspace.read("r.json")),
                             ("tap", workspace.read("r.tap")), ("summary", workspace.read("summary.md"))] {
            #expect(!text.isEmpty, "\(name)")
            #expect(!text.contains(token), "\(name) shows the token")
        }
        #expect(result.stdout.contains("***"))
    }

    @Test func junitIsValidXMLThatCIReads() async throws {
        let workspace = try Workspace("""
        {"phases": {"pre-traffic": [
          {"name": "passes <&>", "command": "echo 'out & about'"},
          {"name": "fails \\"quoted\\"", "command": "echo bad >&2; exit 2"},
          {"name": "skipped", "command": "true"},
          {"name": "cleanup", "command": "true", "always": true}
        ]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["pre-traffic", "--report", "junit=\(workspace.path("junit.xml"))"], workspace,
                                          environment: ["DEPLOYMENT_ID": "d-X1"])
        #expect(result.status == 1)
        let collector = JUnitCollector()
        let parser = XMLParser(data: Data(workspace.read("junit.xml").utf8))
        parser.delegate = collector
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        #expect(collector.elements.first?.name == "testsuites")
        let suite = try #require(collector.elements.first { $0.name == "testsuite" })
        #expect(suite.attributes["tests"] == "4")
        #expect(suite.attributes["failures"] == "1")
        #expect(suite.attributes["skipped"] == "1")
        #expect(suite.attributes["name"] == "pre-traffic")
        let cases = collector.elements.filter { $0.name == "testcase" }
        #expect(cases.map { $0.attributes["name"] } == ["passes <&>", "fails \"quoted\"", "skipped", "cleanup"])
        let failure = try #require(collector.elements.first { $0.name == "failure" })
        #expect(failure.attributes["message"] == "expected exit == 0, actual 2")
        #expect(collector.elements.contains { $0.name == "property" && $0.attributes["name"] == "DEPLOYMENT_ID" && $0.attributes["value"] == "d-X1" })
        #expect(collector.text.contains("bad"), "stderr of the failed command")
    }

    @Test func tapAndGitHubActions() async throws {
        let workspace = try Workspace("""
        {"phases": {"ci": [{"name": "ok", "command": "true"}, {"name": "broken, really: yes", "command": "exit 3"}]}}
        """)
        defer { workspace.remove() }
        let result = try await hookrunner(["ci", "--keep-going", "--report", "tap=\(workspace.path("r.tap"))"], workspace,
                                          environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": workspace.path("summary.md")])
        #expect(result.status == 1)
        let tap = workspace.read("r.tap").split(separator: "\n").map(String.init)
        #expect(tap.first == "TAP version 14")
        #expect(tap.contains("1..2"))
        #expect(tap.contains("ok 1 - ok"))
        #expect(tap.contains("not ok 2 - broken, really: yes"))
        #expect(tap.contains("  message: \"expected exit == 0, actual 3\""))
        #expect(result.stdout.contains("::error title=hookrunner ci%3A broken%2C really%3A yes::expected exit == 0, actual 3"))
        let summary = workspace.read("summary.md")
        #expect(summary.contains("### hookrunner ci: ❌ failed"))
        #expect(summary.contains("| ❌ | broken, really: yes |"))
    }

    @Test func helpAndVersion() async throws {
        let workspace = try Workspace(#"{"phases": {"x": [{"command": "true"}]}}"#)
        defer { workspace.remove() }
        let help = try await hookrunner(["--help"], workspace)
        #expect(help.status == 0)
        for text in ["usage: hookrunner [PHASE]", "exit status:", "0  every check passed", "1  a check failed",
                     "2  the file", "3  the --timeout passed", "LIFECYCLE_EVENT", "--report"] {
            #expect(help.stdout.contains(text), "\(text)")
        }
        #expect(try await hookrunner(["--version"], workspace).stdout.hasPrefix("hookrunner 0.1.0"))
        let unknown = try await hookrunner(["x", "--jobz", "2"], workspace)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown option --jobz (did you mean --jobs?)"))
        #expect(try await hookrunner(["x", "--report", "xml=out.xml"], workspace).stderr.contains("--report: 'xml=out.xml' is not junit=PATH"))
        // A missing directory is created (reports/ in a fresh CI workspace); one that cannot be, refused.
        try "not a directory".write(toFile: workspace.path("file.txt"), atomically: true, encoding: .utf8)
        let blocked = try await hookrunner(["x", "--report", "junit=\(workspace.directory.path)/file.txt/r.xml"], workspace)
        #expect(blocked.status == 2)
        #expect(blocked.stderr.contains("cannot create the directory \(workspace.directory.path)/file.txt"))
        _ = try await hookrunner(["x", "--report", "junit=\(workspace.directory.path)/reports/deep/r.xml"], workspace)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: "\(workspace.directory.path)/reports/deep", isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}

/// Collects elements, attributes and text with Foundation's XMLParser.
private final class JUnitCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var text = ""

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((elementName, attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }
}

@Suite("hooks.schema.json")
struct HooksSchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theSchemaAcceptsTheExampleAndRejectsTypos() async throws {
        let invalid = [
            #"{"phases": {"x": [{"http": "http://a/", "timout": "5s"}]}}"#,
            #"{"phases": {"x": [{"http": "http://a/", "retry": {"within": "soon"}}]}}"#,
            #"{"phases": {"x": [{"name": "no kind"}]}}"#,
            #"{"phases": {"x": [{"http": "http://a/", "command": "true"}]}}"#,
            #"{"phases": {"x": [{"parallel": []}]}}"#,
            #"{"vars": {"1BAD": "x"}, "phases": {"x": []}}"#,
            #"{"phases": {"x": [{"http": "http://a/", "repeat": {"count": 0}}]}}"#,
            #"{"phases": {}}"#,
            #"{"phases": {"x": [{"window": {"allow": ["Mon-Fri"]}}]}}"#,
            #"{"phases": {"x": [{"window": {"timeZone": "UTC", "blackout": ["24.12.2025"]}}]}}"#,
            #"{"phases": {"x": [{"prometheus": {"url": "http://p/", "query": "up"}}]}}"#,
            #"{"phases": {"x": [{"alarms": {"cloudwatch": {"names": ["a"]}}, "expect": ["time < 1s"]}]}}"#,
            #"{"phases": {"x": [{"alarms": {"cloudwatch": {}}}]}}"#,
            #"{"phases": {"x": [{"alarms": {"alertmanager": {"url": "http://a/", "matchers": ["=x"]}}}]}}"#,
            #"{"phases": {"x": [{"bake": {"for": "1m"}}]}}"#,
            #"{"phases": {"x": [{"bake": {"for": "1m", "checks": [{"command": "true"}]}, "blocker": true}]}}"#,
            #"{"phases": {"x": [{"approval": {"message": "go?"}}]}}"#,
            #"{"phases": {"x": [{"approval": {"channels": ["c"], "onTimeout": "wait"}}]}}"#,
            #"{"phases": {"x": [{"approval": {"channels": ["c"]}, "retry": {"within": "1m"}}]}}"#,
            #"{"phases": {"x": [{"approval": {"channels": ["c"]}, "expect": ["time < 1s"]}]}}"#,
            #"{"phases": {"x": [{"parallel": [{"approval": {"channels": ["c"]}}]}]}}"#,
            #"{"channels": {"c": {"type": "pagerduty", "routingKey": "k"}}, "phases": {"x": []}}"#,
            #"{"channels": {"c": {"type": "slack"}}, "phases": {"x": []}}"#,
            #"{"channels": {"c": {"type": "slack", "url": "http://h/", "events": ["drift"]}}, "phases": {"x": []}}"#,
        ]
        let schema = Self.root.appendingPathComponent("schemas/hooks.schema.json").path
        let example = Self.root.appendingPathComponent("schemas/hooks.example.json").path
        if let problems = try await checkJSONSchema(schema, accepts: example, rejects: invalid) { // python3 is optional here
            #expect(problems.isEmpty, "\(problems)")
        }

        // hookrunner itself accepts the documented example.
        let validate = try await runProduct("hookrunner", ["validate", "--config", example, "--var", "VERSION=1.4.2",
                                                           "--var", "API_TOKEN=t", "--var", "BUILD_ID=4711",
                                                           "--var", "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/x",
                                                           "--var", "TEAMS_WEBHOOK_URL=https://example.logic.azure.com/workflows/x"])
        #expect(validate.status == 0, "\(validate.output)")
    }
}
