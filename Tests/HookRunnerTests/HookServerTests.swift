import Foundation
import Testing
import TestSupport

/// `hookrunner serve` driven with real HTTP requests.
@Suite("hookrunner serve")
struct HookServerTests {
    private func serve(_ config: String, _ arguments: [String] = []) async throws -> (ChildProcess, Int, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hookserve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("hooks.json")
        try config.replacingOccurrences(of: "$DIR", with: directory.path).write(to: file, atomically: true, encoding: .utf8)
        let server = ChildProcess(try Products.executable("hookrunner"),
                                  ["serve", "--port", "0", "--host", "127.0.0.1", "--config", file.path] + arguments)
        try server.start()
        let line = try await server.waitForLine(containing: "serving")
        let port = try #require(line.split(separator: ":").compactMap { Int($0.prefix { $0.isNumber }) }.last)
        return (server, port, directory)
    }

    private func json(_ response: RawResponse) throws -> [String: Any] {
        try #require(response.json, "\(response.text)")
    }

    @Test func flaggerWebhooksAndArgoWebMetrics() async throws {
        let (service, servicePort) = try await ExampleService.launch(version: "1.4.2")
        defer { service.send(signal: SIGKILL) }
        let (server, port, directory) = try await serve("""
        {"phases": {
          "canary": [{"name": "canary version", "http": "http://127.0.0.1:\(servicePort)/info",
                      "expect": ["json.version == ${CANARY_VERSION}", "json.name == ${FLAGGER_NAME}"]}],
          "smoke": [{"name": "health", "http": "http://127.0.0.1:\(servicePort)/health"}],
          "broken": [{"name": "always fails", "command": "exit 1"}]
        }}
        """)
        defer {
            server.send(signal: SIGKILL)
            try? FileManager.default.removeItem(at: directory)
        }
        let client = try RawClient(port: port, receiveTimeout: 20)

        // Flagger: POST with its payload; metadata become variables; 200 passes, 500 fails.
        let flagger = #"{"name":"checkout","namespace":"shop","phase":"Progressing","checksum":"abc","metadata":{"CANARY_VERSION":"1.4.2"}}"#
        let passed = try await client.request("POST", "/hooks/canary", body: flagger)
        #expect(passed.status == 200, "\(passed.text)")
        #expect(try json(passed)["ok"] as? Bool == true)
        #expect(try json(passed)["phase"] as? String == "canary")
        let wrong = try await client.request("POST", "/hooks/canary", body: flagger.replacingOccurrences(of: "1.4.2", with: "1.5.0"))
        #expect(wrong.status == 500)
        let report = try json(wrong)
        #expect(report["ok"] as? Bool == false)
        let failedCheck = try #require((report["checks"] as? [[String: Any]])?.first)
        #expect(failedCheck["reason"] as? String == "expected json.version == 1.5.0, actual 1.4.2")
        // Without the metadata the variable is undefined: a configuration error, reported.
        let undefined = try await client.request("POST", "/hooks/canary", body: "")
        #expect(undefined.status == 500)
        #expect((try json(undefined)["error"] as? String)?.contains("${CANARY_VERSION} is not defined") == true)

        // Argo Rollouts web metric: GET, always 200, result.ok decides.
        let argo = try await client.get("/hooks/smoke")
        #expect(argo.status == 200)
        #expect(try json(argo)["ok"] as? Bool == true)
        let argoFailed = try await client.get("/hooks/broken")
        #expect(argoFailed.status == 200)
        #expect(try json(argoFailed)["ok"] as? Bool == false)

        // The rest of the surface.
        #expect(try json(try await client.get("/hooks"))["phases"] as? [String] == ["canary", "smoke", "broken"])
        let unknown = try await client.get("/hooks/nope")
        #expect(unknown.status == 404)
        #expect(try json(unknown)["phases"] as? [String] == ["canary", "smoke", "broken"])
        let put = try await client.request("PUT", "/hooks/smoke", body: "{}")
        #expect(put.status == 405)
        #expect(put.header("Allow") == "GET, POST")
        #expect(try await client.request("POST", "/hooks/smoke", body: "not json").status == 400)
        let info = try await client.get("/info")
        #expect(try json(info)["name"] as? String == "hookrunner")
        #expect(try await client.get("/health/ready").status == 200)

        server.send(signal: SIGTERM)
        #expect(try await server.waitForExit() == 0)
        #expect(server.standardOutput.contains("POST /hooks/canary: passed"))
        #expect(server.standardOutput.contains("hookrunner: stopped"))
    }

    @Test func concurrentRequestsForAPhaseShareOneRun() async throws {
        let (server, port, directory) = try await serve("""
        {"phases": {"slow": [{"command": ["sh", "-c", "echo run >> '$DIR/runs'; sleep 0.5"]}]}}
        """)
        defer {
            server.send(signal: SIGKILL)
            try? FileManager.default.removeItem(at: directory)
        }
        let clients = try (0..<3).map { _ in try RawClient(port: port, receiveTimeout: 20) }
        for client in clients { try client.send("POST /hooks/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") }
        for client in clients { #expect(try await client.response().status == 200) }
        let runs = (try? String(contentsOf: directory.appendingPathComponent("runs"), encoding: .utf8)) ?? ""
        #expect(runs == "run\n", "one run for three concurrent requests")
    }

    @Test func aTokenProtectsEverything() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token")
        try "hook-s3cr3t\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let (server, port, other) = try await serve(#"{"phases": {"smoke": [{"command": "true"}]}}"#,
                                                    ["--token-file", tokenFile.path])
        defer {
            server.send(signal: SIGKILL)
            try? FileManager.default.removeItem(at: other)
        }
        let client = try RawClient(port: port, receiveTimeout: 20)
        #expect(try await client.get("/hooks/smoke").status == 401)
        #expect(try await client.get("/info").status == 401)
        #expect(try await client.get("/hooks/smoke", headers: ["Authorization: Bearer hook-s3cr3t"]).status == 200)
    }

    @Test func serveNeedsAPortAndAValidFile() async throws {
        let missingPort = try await runProduct("hookrunner", ["serve"])
        #expect(missingPort.status == 2)
        #expect(missingPort.stderr.contains("serve needs --port PORT"))
        let wrongCommand = try await runProduct("hookrunner", ["pre-traffic", "--port", "80"])
        #expect(wrongCommand.status == 2)
        #expect(wrongCommand.stderr.contains("--port applies to hookrunner serve"))
        let noFile = try await runProduct("hookrunner", ["serve", "--port", "0", "--config", "/nonexistent/hooks.json"])
        #expect(noFile.status == 2)
        #expect(noFile.stderr.contains("/nonexistent/hooks.json: no such file"))
    }
}
