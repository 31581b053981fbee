import Foundation
import Testing
import TestSupport

/// `example-service` as users and later tests run it: a real child process on 127.0.0.1.
@Suite("example-service process")
struct ExampleServiceTests {
    /// Starts it on a free port and returns the process and the port from its "listening" line.
    private func launch(_ arguments: [String], environment: [String: String]? = nil) async throws -> (ChildProcess, Int) {
        let process = ChildProcess(try Products.executable("example-service"),
                                   ["--host", "127.0.0.1", "--port", "0"] + arguments, environment: environment)
        try process.start()
        let line = try await process.waitForLine(containing: "listening on")
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        return (process, port)
    }

    @Test func servesWhatItWasToldAndWhatTheBuildStamped() async throws {
        let (process, port) = try await launch(["--name", "checkout", "--version", "1.4.2", "--environment", "staging",
                                                "--extra", "region=eu-west-1"])
        defer { process.send(signal: SIGKILL) }
        let line = try await process.waitForLine(containing: "listening on")
        #expect(line.contains("checkout 1.4.2"))
        #expect(line.contains("http://127.0.0.1:\(port)"))
        let info = try #require(try await RawClient(port: port).get("/info").json)
        #expect(info["name"] as? String == "checkout")
        #expect(info["version"] as? String == "1.4.2")
        #expect(info["environment"] as? String == "staging")
        #expect(info["extra"] as? [String: String] == ["region": "eu-west-1"])
        // The BuildStamp plugin ran git at build time: the revision is this checkout's HEAD.
        if let head = await Self.gitHead() {
            #expect(info["revision"] as? String == head)
            #expect(info["buildTime"] as? String != nil)
        }
    }

    @Test func environmentVariablesFillTheRest() async throws {
        let (process, port) = try await launch([], environment: [
            "OTEL_SERVICE_NAME": "billing", "SERVICE_VERSION": "2.0.1", "GIT_COMMIT": "feedface",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=production", "API_KEY": "do-not-serve",
        ])
        defer { process.send(signal: SIGKILL) }
        let response = try await RawClient(port: port).get("/info")
        let info = try #require(response.json)
        #expect(info["name"] as? String == "billing")
        #expect(info["version"] as? String == "2.0.1")
        #expect(info["revision"] as? String == "feedface")
        #expect(info["environment"] as? String == "production")
        #expect(!response.text.contains("do-not-serve"))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func stopsCleanlyOnSignal(signal: Int32) async throws {
        let (process, port) = try await launch(["--name", "checkout", "--version", "1.4.2"])
        let client = try RawClient(port: port)
        #expect(try await client.get("/health").status == 200)
        process.send(signal: signal)
        #expect(try await process.waitForExit() == 0)
        #expect(process.standardOutput.contains("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"), stopped"))
        #expect(try await client.isClosedByServer())
    }

    @Test func portInUseExitsOneWithAClearMessage() async throws {
        let (first, port) = try await launch(["--name", "a"])
        defer { first.send(signal: SIGKILL) }
        let second = ChildProcess(try Products.executable("example-service"), ["--host", "127.0.0.1", "--port", String(port)])
        #expect(try await second.run() == 1)
        #expect(second.standardError.contains("cannot listen on 127.0.0.1:\(port): the port is already in use"))
    }

    @Test(arguments: [
        (["--bogus"], "unknown option --bogus"),
        (["--port", "http"], "--port must be a number from 0 to 65535, got 'http'"),
        (["--port", "70000"], "--port must be a number"),
        (["--name"], "--name needs a value"),
        (["--extra", "novalue"], "--extra needs KEY=VALUE"),
        (["--token-file", "/nonexistent/token"], "--token-file: cannot read /nonexistent/token"),
        (["stray"], "unexpected argument 'stray'"),
    ])
    func badArgumentsExitTwoNamingTheFlag(arguments: [String], message: String) async throws {
        let process = ChildProcess(try Products.executable("example-service"), arguments)
        #expect(try await process.run() == 2)
        #expect(process.standardError.contains(message), "\(process.standardError)")
    }

    @Test func helpExitsZero() async throws {
        let process = ChildProcess(try Products.executable("example-service"), ["--help"])
        #expect(try await process.run() == 0)
        #expect(process.standardOutput.contains("usage: example-service"))
    }

    @Test func tokenFileAndUnhealthy() async throws {
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try "s3cr3t\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: tokenFile) }
        let (process, port) = try await launch(["--name", "x", "--token-file", tokenFile.path, "--unhealthy"])
        defer { process.send(signal: SIGKILL) }
        let client = try RawClient(port: port)
        #expect(try await client.get("/info").status == 401)
        #expect(try await client.get("/health/live", headers: ["Authorization: Bearer s3cr3t"]).status == 200)
        let ready = try await client.get("/health/ready", headers: ["Authorization: Bearer s3cr3t"])
        #expect(ready.status == 503)
        #expect(ready.json?["status"] as? String == "fail")
        #expect(!process.output.contains("s3cr3t"))
    }

    /// HEAD of the repository holding this file, or nil outside a git checkout.
    static func gitHead() async -> String? {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let git = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["git", "-C", directory.path, "rev-parse", "HEAD"])
        guard (try? await git.run()) == 0 else { return nil }
        return git.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
