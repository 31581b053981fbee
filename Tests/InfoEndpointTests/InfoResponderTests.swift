import Foundation
import Testing
@testable import InfoEndpoint

private func json(_ response: InfoResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
}

private let checkoutInfo = ServiceInfo(
    name: "checkout", version: "1.4.2", revision: "0123456789abcdef", branch: "main",
    buildTime: Date(timeIntervalSince1970: 1_795_200_000), environment: "production", instance: "checkout-7d9f",
    startTime: Date().addingTimeInterval(-42), extra: ["region": "eu-west-1", "team": "payments"],
    environmentVariables: [:], buildStamp: nil)

@Suite("InfoResponder")
struct InfoResponderTests {
    let responder = InfoResponder(info: checkoutInfo)

    @Test func infoDocument() async throws {
        let response = await responder.respond(method: "GET", path: "/info")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        #expect(response.header("Cache-Control") == "no-store")
        let body = try json(response)
        #expect(body["name"] as? String == "checkout")
        #expect(body["version"] as? String == "1.4.2")
        #expect(body["revision"] as? String == "0123456789abcdef")
        #expect(body["branch"] as? String == "main")
        #expect(body["buildTime"] as? String == "2026-11-20T18:40:00Z")
        #expect(body["environment"] as? String == "production")
        #expect(body["instance"] as? String == "checkout-7d9f")
        #expect((body["startTime"] as? String)?.hasSuffix("Z") == true)
        let uptime = try #require(body["uptimeSeconds"] as? Int)
        #expect((42...44).contains(uptime))
        #expect(body["extra"] as? [String: String] == ["region": "eu-west-1", "team": "payments"])
        // Stable key order, documented in the README.
        let keys = ["name", "version", "revision", "branch", "buildTime", "environment", "instance", "startTime",
                    "uptimeSeconds", "extra"]
        let positions = keys.compactMap { response.bodyText.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.count == keys.count)
        #expect(positions == positions.sorted())
    }

    @Test func missingValuesAreNull() async throws {
        let responder = InfoResponder(info: ServiceInfo(name: "bare", environmentVariables: [:], buildStamp: nil))
        let body = await responder.respond(method: "GET", path: "/info").bodyText
        for key in ["version", "revision", "branch", "buildTime", "environment"] {
            #expect(body.contains("\"\(key)\":null"), "\(key)")
        }
    }

    @Test func headGetsTheSameLength() async {
        let get = await responder.respond(method: "GET", path: "/info")
        let head = await responder.respond(method: "HEAD", path: "/info")
        #expect(head.status == 200)
        #expect(head.body.count == get.body.count)
    }

    @Test func queryStringsAreIgnored() async {
        #expect(await responder.respond(method: "GET", path: "/info?verbose=1").status == 200)
    }

    @Test func metrics() async {
        let response = await InfoResponder(info: ServiceInfo(name: "checkout-api.v2", version: "1.4.2", revision: "abc\"def",
                                                             branch: nil, environmentVariables: [:], buildStamp: nil))
            .respond(method: "GET", path: "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let lines = response.bodyText.split(separator: "\n").map(String.init)
        #expect(lines.contains(#"checkout_api_v2_build_info{version="1.4.2",revision="abc\"def",branch=""} 1"#))
        #expect(lines.contains("# TYPE checkout_api_v2_build_info gauge"))
        #expect(lines.contains("# TYPE process_start_time_seconds gauge"))
        let start = lines.first { $0.hasPrefix("process_start_time_seconds ") }
        let seconds = Double(start?.split(separator: " ").last ?? "") ?? 0
        #expect(abs(seconds - ServiceInfo.processStartTime.timeIntervalSince1970) < 0.01)
        #expect(response.bodyText.hasSuffix("\n"))
    }

    @Test func unknownPathIs404WithTheEndpoints() async throws {
        let response = await responder.respond(method: "GET", path: "/actuator")
        #expect(response.status == 404)
        #expect(try json(response)["endpoints"] as? [String] == InfoResponder.endpoints)
    }

    @Test(arguments: ["POST", "PUT", "DELETE", "OPTIONS", "BREW"])
    func otherMethodsAre405(method: String) async {
        let response = await responder.respond(method: method, path: "/health")
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, HEAD")
    }

    @Test func basePath() async {
        let responder = InfoResponder(info: checkoutInfo, basePath: "admin/")
        #expect(responder.basePath == "/admin")
        #expect(await responder.respond(method: "GET", path: "/admin/info").status == 200)
        #expect(await responder.respond(method: "GET", path: "/admin/health/ready").status == 200)
        #expect(await responder.respond(method: "GET", path: "/info").status == 404)
        #expect(await responder.respond(method: "GET", path: "/adminx/info").status == 404)
    }

    @Test func bearerToken() async {
        let responder = InfoResponder(info: checkoutInfo, bearerToken: "s3cr3t")
        for headers: [(String, String)] in [[], [("Authorization", "Bearer wrong")], [("Authorization", "Bearer s3cr3")],
                                            [("Authorization", "Bearer s3cr3tt")], [("Authorization", "Basic s3cr3t")]] {
            let response = await responder.respond(method: "GET", path: "/info", headers: headers)
            #expect(response.status == 401)
            #expect(response.header("WWW-Authenticate") == #"Bearer realm="info""#)
            #expect(!response.bodyText.contains("s3cr3t"))
        }
        // Unknown paths do not leak what exists without the token.
        #expect(await responder.respond(method: "GET", path: "/nope").status == 401)
        for header in ["Bearer s3cr3t", "bearer s3cr3t", "BEARER  s3cr3t"] {
            let response = await responder.respond(method: "GET", path: "/metrics", headers: [("authorization", header)])
            #expect(response.status == 200, "\(header)")
        }
    }

    @Test func constantTimeComparison() {
        #expect(InfoResponder.constantTimeEquals(Array("abc".utf8), Array("abc".utf8)))
        #expect(!InfoResponder.constantTimeEquals(Array("abd".utf8), Array("abc".utf8)))
        #expect(!InfoResponder.constantTimeEquals(Array("ab".utf8), Array("abc".utf8)))
        #expect(!InfoResponder.constantTimeEquals(Array("abcd".utf8), Array("abc".utf8)))
        #expect(!InfoResponder.constantTimeEquals([], Array("abc".utf8)))
    }
}

@Suite("Health checks")
struct HealthTests {
    @Test func noChecksPass() async throws {
        let responder = InfoResponder(info: checkoutInfo)
        for path in ["/health", "/health/live", "/health/ready"] {
            let response = await responder.respond(method: "GET", path: path)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/health+json")
            let body = try json(response)
            #expect(body["status"] as? String == "pass")
            #expect(body["version"] as? String == "1.4.2")
            #expect(body["releaseId"] as? String == "1.4.2")
            #expect(body["serviceId"] as? String == "checkout")
            #expect((body["checks"] as? [String: Any])?.isEmpty == true)
        }
    }

    @Test func statusesAndProbes() async throws {
        let responder = InfoResponder(info: checkoutInfo)
        responder.addHealthCheck("disk", probes: .liveness) {
            HealthCheckResult(status: .warn, output: "82% full", observedValue: 82, observedUnit: "percent")
        }
        responder.addHealthCheck("database", probes: .readiness) { throw TestError.databaseDown }
        responder.addHealthCheck("cache", probes: .all) { .pass }

        let live = await responder.respond(method: "GET", path: "/health/live")
        #expect(live.status == 200)
        let liveBody = try json(live)
        #expect(liveBody["status"] as? String == "warn")
        let checks = try #require(liveBody["checks"] as? [String: [[String: Any]]])
        #expect(Set(checks.keys) == ["disk", "cache"])
        #expect(checks["disk"]?.first?["observedValue"] as? Int == 82)
        #expect(checks["disk"]?.first?["observedUnit"] as? String == "percent")
        #expect(checks["disk"]?.first?["output"] as? String == "82% full")
        #expect(checks["disk"]?.first?["componentId"] as? String == "disk")
        #expect(checks["disk"]?.first?["time"] as? String != nil)

        let ready = await responder.respond(method: "GET", path: "/health/ready")
        #expect(ready.status == 503)
        let readyBody = try json(ready)
        #expect(readyBody["status"] as? String == "fail")
        #expect(readyBody["output"] as? String == "database: connection refused by db:5432")
        let readyChecks = try #require(readyBody["checks"] as? [String: [[String: Any]]])
        #expect(Set(readyChecks.keys) == ["database", "cache"])
        #expect(readyChecks["database"]?.first?["status"] as? String == "fail")

        let all = await responder.respond(method: "GET", path: "/health")
        #expect(all.status == 503)
        #expect((try json(all)["checks"] as? [String: Any])?.count == 3)

        responder.removeHealthCheck(named: "database")
        #expect(await responder.respond(method: "GET", path: "/health").status == 200)
    }

    @Test func aCheckThatNeverReturnsFailsAtItsTimeout() async throws {
        let responder = InfoResponder(info: checkoutInfo)
        responder.addHealthCheck("stuck", timeout: .milliseconds(150)) {
            // Ignores cancellation on purpose: the timeout must not wait for it.
            while true { try? await Task.sleep(for: .seconds(3600)) }
        }
        let started = ContinuousClock.now
        let response = await responder.respond(method: "GET", path: "/health/ready")
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 503)
        #expect(response.bodyText.contains("timed out after 150ms"))
        #expect(elapsed >= .milliseconds(150))
        #expect(elapsed < .seconds(15)) // not awaited: the closure never returns (slack for a loaded CI machine)
    }

    @Test func concurrentProbesShareOneEvaluation() async throws {
        let responder = InfoResponder(info: checkoutInfo)
        let runs = Locked(0)
        responder.addHealthCheck("slow") {
            runs.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(200))
            return .pass
        }
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { await responder.respond(method: "GET", path: "/health/ready").status }
            }
            for await status in group { #expect(status == 200) }
        }
        #expect(runs.current == 1)
        _ = await responder.respond(method: "GET", path: "/health/ready")
        #expect(runs.current == 2) // a later probe evaluates again
    }

    enum TestError: Error, CustomStringConvertible {
        case databaseDown
        var description: String { "connection refused by db:5432" }
    }
}
