import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import DeployVerifyKit

private func versioncheck(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) async throws -> CommandResult {
    try await runProduct("versioncheck", arguments, environment: environment, stdin: stdin)
}

/// An InfoServer in this process reporting `version`.
private func infoServer(version: String, revision: String? = nil) throws -> InfoServer {
    let server = InfoServer(info: ServiceInfo(name: "checkout", version: version, revision: revision,
                                              environmentVariables: [:], buildStamp: nil),
                            host: "127.0.0.1", port: 0)
    try server.start()
    return server
}

private func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("versioncheck against real services")
struct VersionCheckCommandTests {
    @Test func matchAndMismatchAcrossAFleetOfExampleServices() async throws {
        let (blue, bluePort) = try await ExampleService.launch(version: "1.4.1")
        let (green, greenPort) = try await ExampleService.launch(version: "1.4.2")
        defer {
            blue.send(signal: SIGKILL)
            green.send(signal: SIGKILL)
        }
        let greenURL = "http://127.0.0.1:\(greenPort)/info", blueURL = "http://127.0.0.1:\(bluePort)/info"

        let match = try await versioncheck(["--expect", "1.4.2", greenURL])
        #expect(match.status == 0, "\(match.output)")
        #expect(match.stdout.contains("✔ 1/1 on 1.4.2"))
        #expect(match.stdout.contains("\(greenURL)  1.4.2    1.4.2     ok"))

        let mismatch = try await versioncheck(["--expect", "1.4.2", greenURL, blueURL])
        #expect(mismatch.status == 1)
        #expect(mismatch.stdout.contains("MISMATCH"))
        #expect(mismatch.stdout.contains("\(blueURL): reports 1.4.1, expected 1.4.2"))
        #expect(mismatch.stdout.contains("✘ 1/2 on 1.4.2; 1 on 1.4.1"))

        let range = try await versioncheck(["--expect", ">=1.4.0 <2.0.0", greenURL, blueURL])
        #expect(range.status == 0)
        #expect(try await versioncheck(["-e", "~1.4.2", blueURL]).status == 1)
        #expect(try await versioncheck(["-e", "prefix:1.4.", greenURL, blueURL]).status == 0)
        #expect(try await versioncheck(["-e", #"regex:^1\.4\.[12]$"#, greenURL, blueURL]).status == 0)

        // Without --expect it reports and judges nothing.
        let report = try await versioncheck([greenURL, blueURL])
        #expect(report.status == 0)
        #expect(report.stdout.contains("2/2 read; 1 on 1.4.1, 1 on 1.4.2"))
    }

    @Test func jsonOutput() async throws {
        let server = try infoServer(version: "1.4.1", revision: "0123456789abcdef")
        defer { Task { await server.stop() } }
        let url = "http://127.0.0.1:\(server.port)/info"
        let result = try await versioncheck(["--expect", "1.4.2", "--format", "json", url, "http://127.0.0.1:1/info"])
        #expect(result.status == 1)
        let document = try json(result.stdout)
        #expect(document["result"] as? String == "mismatch")
        #expect(document["exitCode"] as? Int == 1)
        #expect(document["expected"] as? String == "1.4.2")
        let targets = try #require(document["targets"] as? [[String: Any]])
        #expect(targets.count == 2)
        #expect(targets[0]["url"] as? String == url)
        #expect(targets[0]["result"] as? String == "mismatch")
        #expect(targets[0]["version"] as? String == "1.4.1")
        #expect(targets[0]["revision"] as? String == "0123456789abcdef")
        #expect((targets[0]["error"] as? [String: Any])?["class"] as? String == "mismatch")
        let samples = try #require(targets[0]["samples"] as? [[String: Any]])
        #expect(samples.first?["status"] as? Int == 200)
        #expect((samples.first?["timings"] as? [String: Any])?["totalMs"] as? Double != nil)
        #expect(targets[1]["result"] as? String == "unreadable")
        #expect((targets[1]["error"] as? [String: Any])?["class"] as? String == "refused")
    }

    @Test func samplesShowTheMixBehindALoadBalancer() async throws {
        let blue = try infoServer(version: "1.4.1")
        let green = try infoServer(version: "1.4.2")
        let proxy = try RoundRobinProxy(backends: [green.port, green.port, blue.port])
        defer {
            proxy.stop()
            Task { await blue.stop(); await green.stop() }
        }
        let url = proxy.url("/info")
        let result = try await versioncheck(["--expect", "1.4.2", "--samples", "9", "--concurrency", "1", url])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stdout.contains("6× 1.4.2, 3× 1.4.1"), "\(result.stdout)")
        #expect(result.stdout.contains("MISMATCH"))

        proxy.route(to: [green.port])
        let settled = try await versioncheck(["--expect", "1.4.2", "-n", "5", "--format", "json", url])
        #expect(settled.status == 0)
        let target = try #require((try json(settled.stdout)["targets"] as? [[String: Any]])?.first)
        #expect((target["versions"] as? [[String: Any]])?.first?["count"] as? Int == 5)
        #expect((target["samples"] as? [Any])?.count == 5)
    }

    @Test func waitFollowsABlueGreenSwitch() async throws {
        let (blue, bluePort) = try await ExampleService.launch(version: "1.4.1")
        let (green, greenPort) = try await ExampleService.launch(version: "1.4.2")
        let proxy = try RoundRobinProxy(backends: [bluePort])
        defer {
            blue.send(signal: SIGKILL)
            green.send(signal: SIGKILL)
            proxy.stop()
        }
        let check = ChildProcess(try Products.executable("versioncheck"),
                                 ["--expect", "1.4.2", "--wait", "20s", "--interval", "100ms", proxy.url("/info")])
        try check.start()
        // Off a terminal, progress is one line per change, on standard error.
        let progress = try await check.waitForLine(containing: "waiting for 1.4.2", inStandardError: true)
        #expect(progress.contains("0/1 on 1.4.2; 1 still 1.4.1"))
        proxy.route(to: [greenPort])
        #expect(try await check.waitForExit() == 0, "\(check.output)")
        #expect(check.standardOutput.contains("✔ 1/1 on 1.4.2"))
        #expect(check.standardOutput.contains("rounds"))
        #expect(check.standardError.components(separatedBy: "waiting for").count == 2) // no repeats while unchanged
    }

    @Test func waitGivesUpAtTheDeadline() async throws {
        let server = try infoServer(version: "1.4.1")
        defer { Task { await server.stop() } }
        let result = try await versioncheck(["--expect", "1.4.2", "--wait", "600ms", "--interval", "100ms",
                                             "http://127.0.0.1:\(server.port)/info"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("gave up waiting"))
        #expect(result.elapsed >= .milliseconds(600))
        #expect(result.elapsed < .seconds(8)) // not the 20 s of a forgotten deadline
    }

    @Test func revision() async throws {
        let server = try infoServer(version: "1.4.2", revision: "0123456789abcdef0123")
        let bare = try infoServer(version: "1.4.2")
        defer { Task { await server.stop(); await bare.stop() } }
        let url = "http://127.0.0.1:\(server.port)/info"
        let ok = try await versioncheck(["--expect", "1.4.2", "--revision", "0123456", url])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("REVISION"))
        // Prefix either way: a full hash matches the shorter one reported, case ignored.
        #expect(try await versioncheck(["--expect", "1.4.2", "--revision", "0123456789ABCDEF0123456789", url]).status == 0)
        #expect(try await versioncheck(["--expect", "1.4.2", "--revision", "0123456789abcdef9999", url]).status == 1)
        let other = try await versioncheck(["--expect", "1.4.2", "--revision", "fedcba9", url])
        #expect(other.status == 1)
        #expect(other.stdout.contains("reports revision 0123456789ab, expected fedcba9"))
        let missing = try await versioncheck(["--expect", "1.4.2", "--revision", "0123456", "http://127.0.0.1:\(bare.port)/info"])
        #expect(missing.status == 3)
        #expect(missing.stdout.contains("no-revision"))
        #expect(try await versioncheck(["--revision", "abc", url]).status == 2)
    }

    @Test func fieldsOfOtherEndpointShapes() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        func body(_ json: String) -> String {
            server.url("/json/" + json.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        }
        let actuator = body(#"{"build":{"version":"1.4.2","artifact":"checkout"},"git":{"commit":{"id":"abc1234"}}}"#)
        let kubernetes = body(#"{"major":"1","minor":"29","gitVersion":"v1.29.3","gitCommit":"6813625b7cd706db5bc7388921be03071e1a492d"}"#)
        let health = body(#"{"status":"pass","releaseId":"1.4.2"}"#)
        let nested = body(#"{"items":[{"v":"2.0.0"}]}"#)
        let number = body(#"{"version":1.10}"#)
        #expect(try await versioncheck(["-e", "1.4.2", "--revision", "abc1234def", actuator]).status == 0)
        #expect(try await versioncheck(["-e", "1.29.3", "--revision", "6813625", kubernetes]).status == 0)
        #expect(try await versioncheck(["-e", "1.4.2", health]).status == 0)
        #expect(try await versioncheck(["-e", "2.0.0", "--field", "items[0].v", nested]).status == 0)
        let numeric = try await versioncheck(["-e", "1.10", number])
        #expect(numeric.status == 0, "a JSON number counts as its text, 1.10 and not 1.1")
        #expect(numeric.stdout.contains("1.10"))
        #expect(try await versioncheck(["-e", "1.10", "--field", "version.major", number]).status == 3)
    }

    /// Each misbehaviour gives its class and exit status 3, within the time the timeouts allow.
    @Test(arguments: [
        ("/never", "timeout"), ("/reset", "reset"), ("/close", "reset"), ("/status/500", "http-error"),
        ("/html", "not-json"), ("/json/%7Bversion%3A", "not-json"), ("/huge", "too-large"), ("/huge-chunked", "too-large"),
        ("/loop-a", "redirect-loop"), ("/json/%7B%22name%22%3A%22x%22%7D", "no-version"), ("/garbage", "protocol"),
        ("/stall-body", "timeout"), ("/json/%7B%22version%22%3A%7B%7D%7D", "no-version"),
    ])
    func misbehavingEndpoints(path: String, errorClass: String) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        // Classification, not speed: a timeout long enough for the thread-per-connection test
        // server to be scheduled while the whole suite runs on two cores.
        let result = try await versioncheck(["--expect", "1.4.2", "--timeout", "5s", "--format", "json", server.url(path)])
        #expect(result.status == 3, "\(path): \(result.output)")
        let target = try #require((try json(result.stdout)["targets"] as? [[String: Any]])?.first)
        #expect((target["error"] as? [String: Any])?["class"] as? String == errorClass, "\(path): \(result.stdout)")
        #expect(result.elapsed < .seconds(12), "\(path) took \(result.elapsed)") // the 5 s timeout, plus start-up on a busy machine
    }

    @Test func aMismatchWinsOverUnreadableEndpoints() async throws {
        let server = try infoServer(version: "9.9.9")
        defer { Task { await server.stop() } }
        let result = try await versioncheck(["-e", "1.4.2", "--timeout", "300ms", "http://127.0.0.1:1/info",
                                             "http://127.0.0.1:\(server.port)/info"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("1 unreadable (refused)"))
    }

    @Test func deadlineBoundsTheRun() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let urls = (0..<6).map { _ in server.url("/never") }
        let result = try await versioncheck(["-e", "1", "--timeout", "10s", "--deadline", "500ms", "--concurrency", "2"] + urls)
        #expect(result.status == 3)
        #expect(result.elapsed < .seconds(8)) // without the deadline: three waves of 10 s
        #expect(result.stdout.contains("6× timeout"))
    }

    @Test func headersAreSentAndSecretsNeverShown() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let token = "tok-8f2c9d1e"
        let environment = ProcessInfo.processInfo.environment.merging(["API_TOKEN": token]) { _, new in new }
        for format in ["table", "json"] {
            let result = try await versioncheck(
                ["-e", "1.4.2", "--format", format, "-H", "Authorization: Bearer ${API_TOKEN}", "-H", "X-Api-Key: ${API_TOKEN}",
                 "-H", "X-Trace: t-1", server.url("/version/1.4.2"), server.url("/status/401"),
                 "http://user:\(token)@127.0.0.1:\(server.port)/version/1.4.2?token=\(token)"],
                environment: environment)
            #expect(result.status == 3, "\(result.output)")
            #expect(!result.output.contains(token), "\(format): \(result.output)")
            #expect(result.stdout.contains("***"))
        }
        let head = try #require(server.requests.first?.head)
        #expect(head.contains("Authorization: Bearer \(token)"))
        #expect(head.contains("X-Trace: t-1"))
        #expect(head.contains("User-Agent: versioncheck/"))

        let undefined = try await versioncheck(["-e", "1", "-H", "Authorization: Bearer ${NOT_DEFINED_ANYWHERE}", server.url("/")],
                                               environment: [:])
        #expect(undefined.status == 2)
        #expect(undefined.stderr.contains("--header Authorization: ${NOT_DEFINED_ANYWHERE} is not defined in the environment"))
    }

    @Test func urlsFromAFileAndStandardInput() async throws {
        let server = try infoServer(version: "1.4.2")
        defer { Task { await server.stop() } }
        let url = "http://127.0.0.1:\(server.port)/info"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("urls-\(UUID().uuidString).txt")
        try "# fleet\n\(url)\n\n  \(url)?i=2  \n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try await versioncheck(["-e", "1.4.2", "--from-file", file.path])
        #expect(fromFile.status == 0)
        #expect(fromFile.stdout.contains("2/2 on 1.4.2"))
        let fromStdin = try await versioncheck(["-e", "1.4.2", "--from-file", "-", url], stdin: Data("\(url)\n".utf8))
        #expect(fromStdin.stdout.contains("2/2 on 1.4.2"))
    }

    @Test func quietAndPlainOutput() async throws {
        let server = try infoServer(version: "1.4.2")
        defer { Task { await server.stop() } }
        let quiet = try await versioncheck(["-q", "-e", "1.4.2", "http://127.0.0.1:\(server.port)/info"])
        #expect(quiet.status == 0)
        #expect(quiet.stdout.isEmpty)
        let plain = try await versioncheck(["-e", "1.4.2", "http://127.0.0.1:\(server.port)/info"])
        #expect(!plain.stdout.contains("\u{1B}["), "no colour off a terminal")
    }

    @Test(arguments: [
        (["-e", "1"], "no URL given"),
        (["--bogus", "http://x"], "unknown option --bogus"),
        (["--expct", "1", "http://x"], "unknown option --expct (did you mean --expect?)"),
        (["--expect"], "--expect needs a value"),
        (["-e", "1", "--wait", "5", "http://x"], "--wait: '5' is not a duration"),
        (["-e", "1", "--wait", "soon", "http://x"], "--wait: 'soon' is not a duration"),
        (["-e", "1", "--timeout", "0s", "http://x"], "--timeout: the duration must be more than zero"),
        (["-e", "1", "--samples", "0", "http://x"], "--samples: '0' is not a whole number from 1 to 1000"),
        (["-e", "1", "--interval", "1s", "http://x"], "--interval applies to --wait"),
        (["-e", "1", "--format", "yaml", "http://x"], "--format: 'yaml' is not table or json"),
        (["-e", "1", "--field", "a..b", "http://x"], "--field: invalid path 'a..b'"),
        (["-e", ">=1.a", "http://x"], "--expect: invalid range '>=1.a'"),
        (["-e", "regex:(", "http://x"], "--expect: '(' is not a valid regular expression"),
        (["-e", "1", "ftp://x/info"], "is not an http:// or https:// URL"),
        (["-e", "1", "-H", "NoColon", "http://x"], "--header: 'NoColon' is not 'Name: value'"),
        (["-e", "1", "--from-file", "/nonexistent/urls", "http://x"], "--from-file: cannot read /nonexistent/urls"),
        (["-e", "1", "--cacert", "/nonexistent/ca.pem", "https://x"], "--cacert: cannot read /nonexistent/ca.pem"),
    ])
    func usageErrorsExitTwoNamingTheFlag(arguments: [String], message: String) async throws {
        let result = try await versioncheck(arguments)
        #expect(result.status == 2, "\(arguments)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func helpAndVersion() async throws {
        let help = try await versioncheck(["--help"])
        #expect(help.status == 0)
        for text in ["usage: versioncheck --expect VERSION", "exit status:", "0  every URL", "1  a reachable URL",
                     "2  bad usage", "3  a URL could not be read", "--samples", "--wait", "NO_COLOR"] {
            #expect(help.stdout.contains(text), "\(text)")
        }
        let version = try await versioncheck(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("versioncheck 0.1.0"))
    }

    @Test func interruptedRunsReportWhatTheyHave() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let check = ChildProcess(try Products.executable("versioncheck"),
                                 ["-e", "1.4.2", "--wait", "30s", "--interval", "100ms", server.url("/version/1.4.1")])
        try check.start()
        _ = try await check.waitForLine(containing: "waiting for", inStandardError: true)
        check.send(signal: SIGTERM)
        #expect(try await check.waitForExit(timeout: .seconds(10)) == 1) // the mismatch it saw still counts
        #expect(check.standardOutput.contains("interrupted"))
    }

    @Test func onATerminalProgressIsRedrawnAndColoured() async throws {
        // python3's pty module gives versioncheck a real terminal; skipped where python3 is missing.
        guard (try? await runProcess("/usr/bin/env", ["python3", "-c", "import pty"]).status) == 0 else { return }
        let server = try infoServer(version: "1.4.1")
        defer { Task { await server.stop() } }
        let command = [try Products.executable("versioncheck").path, "-e", "1.4.2", "--wait", "700ms", "--interval", "100ms",
                       "http://127.0.0.1:\(server.port)/info"]
        // The environment is set here: the test runner's own may disable colour.
        let onTerminal = try await runProcess("/usr/bin/env", ["-u", "NO_COLOR", "TERM=xterm", "python3", "-c",
                                                               "import pty, sys; pty.spawn(sys.argv[1:])"] + command)
        #expect(onTerminal.stdout.contains("\r\u{1B}[K"), "progress redrawn in place")
        #expect(onTerminal.stdout.components(separatedBy: "waiting for 1.4.2").count > 3, "redrawn every poll")
        #expect(onTerminal.stdout.contains("\u{1B}[31mMISMATCH"), "coloured result")
        let noColor = try await runProcess("/usr/bin/env", ["NO_COLOR=1", "TERM=xterm", "python3", "-c",
                                                            "import pty, sys; pty.spawn(sys.argv[1:])"] + command)
        #expect(!noColor.stdout.contains("\u{1B}[31m"), "NO_COLOR is respected")
        #expect(noColor.stdout.contains("\r\u{1B}[K"), "still live progress")
    }
}

private func runProcess(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
    let process = ChildProcess(URL(fileURLWithPath: executable), arguments)
    let started = ContinuousClock.now
    let status = try await process.run()
    return CommandResult(status: status, stdout: process.standardOutput, stderr: process.standardError,
                         elapsed: ContinuousClock.now - started)
}
