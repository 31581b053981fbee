import Foundation
import Testing
import TestSupport
@testable import InfoEndpoint

/// Starts an InfoServer on 127.0.0.1 with a kernel-chosen port; `start()` returning means it
/// listens, so no test waits or sleeps for readiness.
private func startServer(
    info: ServiceInfo = ServiceInfo(name: "checkout", version: "1.4.2", revision: "abc123", environmentVariables: [:], buildStamp: nil),
    token: String? = nil,
    host: String = "127.0.0.1",
    configure: (inout InfoServer.Configuration) -> Void = { _ in }
) throws -> InfoServer {
    var configuration = InfoServer.Configuration(host: host, port: 0)
    configure(&configuration)
    let server = InfoServer(responder: InfoResponder(info: info, bearerToken: token), configuration: configuration)
    try server.start()
    return server
}

@Suite("InfoServer over real sockets")
struct InfoServerTests {
    @Test func everyEndpointWithItsHeaders() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        #expect(server.port > 0)
        #expect(server.addresses == ["127.0.0.1:\(server.port)"])
        let client = try RawClient(port: server.port)
        let expected: [(String, Int, String)] = [
            ("/info", 200, "application/json"),
            ("/health", 200, "application/health+json"),
            ("/health/live", 200, "application/health+json"),
            ("/health/ready", 200, "application/health+json"),
            ("/metrics", 200, "text/plain; version=0.0.4; charset=utf-8"),
            ("/missing", 404, "application/json"),
        ]
        for (path, status, type) in expected {
            let response = try await client.get(path)
            #expect(response.status == status, "\(path)")
            #expect(response.header("Content-Type") == type, "\(path)")
            #expect(response.header("Content-Length") == String(response.body.count), "\(path)")
            #expect(response.header("Date")?.hasSuffix(" GMT") == true, "\(path)")
            #expect(response.header("Connection") == nil, "\(path): keep-alive is the HTTP/1.1 default")
        }
        let info = try await client.get("/info")
        #expect(info.json?["version"] as? String == "1.4.2")
        #expect(info.json?["revision"] as? String == "abc123")
        #expect(info.header("Cache-Control") == "no-store")
        let metrics = try await client.get("/metrics")
        #expect(metrics.text.contains(#"checkout_build_info{version="1.4.2",revision="abc123",branch=""} 1"#))
    }

    @Test func headHasGetsLengthAndNoBody() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        // /info carries the uptime: between the GET and the HEAD it may gain a digit (9 s → 10 s),
        // so a differing length is asked again, not taken as the answer.
        var lengths: [(get: Int, head: String?)] = []
        for _ in 0..<3 {
            let get = try await client.get("/info")
            let head = try await client.get("/info", method: "HEAD")
            #expect(head.status == 200)
            lengths.append((get.body.count, head.header("Content-Length")))
            if head.header("Content-Length") == String(get.body.count) { break }
        }
        #expect(lengths.last.map { $0.head == String($0.get) } == true, "\(lengths)")
        // Had the server sent a body, it would be read here in place of the next status line.
        let next = try await client.get("/metrics")
        #expect(next.status == 200)
    }

    @Test func methodsOtherThanGetAndHead() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        for method in ["POST", "DELETE", "BREW", "OPTIONS"] {
            let response = try await client.get("/info", method: method)
            #expect(response.status == 405, "\(method)")
            #expect(response.header("Allow") == "GET, HEAD")
        }
    }

    @Test func bearerTokenOverTheWire() async throws {
        let server = try startServer(token: "t0ken")
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        let denied = try await client.get("/info")
        #expect(denied.status == 401)
        #expect(denied.header("WWW-Authenticate") == #"Bearer realm="info""#)
        #expect(try await client.get("/health", headers: ["Authorization: Bearer nope"]).status == 401)
        #expect(try await client.get("/info", headers: ["Authorization: Bearer t0ken"]).status == 200)
        #expect(try await client.get("/metrics", headers: ["authorization: bearer t0ken"]).status == 200)
    }

    @Test func keepAliveAndConnectionClose() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        for _ in 0..<3 { #expect(try await client.get("/info").status == 200) }
        let closing = try await client.get("/info", headers: ["Connection: close"])
        #expect(closing.header("Connection") == "close")
        #expect(try await client.isClosedByServer())
        #expect(server.statistics?.accepted == 1)
    }

    @Test func http10() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let once = try RawClient(port: server.port)
        try once.send("GET /info HTTP/1.0\r\n\r\n") // no Host needed in 1.0
        let response = try await once.response()
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(try await once.isClosedByServer())

        let kept = try RawClient(port: server.port)
        try kept.send("GET /info HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try await kept.response().header("Connection") == "keep-alive")
        try kept.send("GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try await kept.response().status == 200)
    }

    @Test func absoluteFormTarget() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        try client.send("GET http://127.0.0.1:\(server.port)/info?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(try await client.response().status == 200)
    }

    @Test func hundredPipelinedRequestsAnsweredInOrder() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        let paths = (0..<100).map { ["/info", "/metrics", "/nope", "/health"][$0 % 4] }
        try client.send(paths.map { "GET \($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        let responses = try await client.responses(100)
        for (path, response) in zip(paths, responses) {
            let expected = path == "/nope" ? 404 : 200
            #expect(response.status == expected, "\(path)")
            if path == "/info" { #expect(response.json?["name"] as? String == "checkout") }
            if path == "/metrics" { #expect(response.text.contains("_build_info")) }
            if path == "/health" { #expect(response.header("Content-Type") == "application/health+json") }
        }
        #expect(try await client.get("/info").status == 200) // and the connection is still usable
    }

    @Test func pipelinedRequestsWaitBehindAnAsyncHealthCheck() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        server.responder.addHealthCheck("slow") {
            try await Task.sleep(for: .milliseconds(100))
            return .warn("slow but fine")
        }
        let client = try RawClient(port: server.port)
        try client.send(["/info", "/health/ready", "/metrics", "/health/live", "/info"]
            .map { "GET \($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        let responses = try await client.responses(5)
        #expect(responses.map(\.status) == [200, 200, 200, 200, 200])
        #expect(responses[0].json?["name"] != nil)
        #expect(responses[1].json?["status"] as? String == "warn")
        #expect(responses[2].text.contains("_build_info"))
        #expect(responses[3].json?["status"] as? String == "pass") // liveness has no checks
        #expect(responses[4].json?["name"] != nil)
    }

    // MARK: Malformed input

    /// Sends `bytes` on a new connection and returns the one response, asserting the server closes.
    private func rejection(of bytes: [UInt8], server: InfoServer) async throws -> RawResponse {
        let client = try RawClient(port: server.port)
        try? client.send(bytes) // the server may reset a large send it stopped reading
        let response = try await client.response()
        #expect(response.header("Connection") == "close")
        #expect(try await client.isClosedByServer())
        return response
    }

    @Test func garbageBytes() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        var generator = SystemRandomNumberGenerator()
        let garbage = [0x16, 0x03, 0x01, 0x00] + (0..<256).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try await rejection(of: garbage, server: server).status == 400) // e.g. a TLS hello on the plain port
        #expect(try await rejection(of: Array("\u{1}\u{2}hello\r\n\r\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET /info HTTP/2.0\r\nHost: x\r\n\r\n".utf8), server: server).status == 505)
        #expect(try await rejection(of: Array("GET /info FTP/1.1\r\n\r\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET  /info HTTP/1.1\r\n\r\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET info HTTP/1.1\r\nHost: x\r\n\r\n".utf8), server: server).status == 400)
    }

    @Test func requestLineWithoutCRLFTimesOut() async throws {
        let server = try startServer { $0.requestTimeout = .milliseconds(300) }
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        let started = ContinuousClock.now
        try client.send("GET /info HTTP/1.1")
        let response = try await client.response()
        #expect(response.status == 408)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(ContinuousClock.now - started < .seconds(8)) // the 300 ms limit, not the 10 s default
        #expect(try await client.isClosedByServer())
    }

    @Test func aHeadTrickledByteByByteIsStillAnswered() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        var one: Int32 = 1
        _ = setsockopt(client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        for byte in Array("GET /info HTTP/1.1\r\nHost: x\r\nX-Padding: abc\r\n\r\n".utf8) {
            try client.send([byte])
        }
        #expect(try await client.response().status == 200)
        // A bare LF arriving late, a byte at a time, is still rejected at once (not at the timeout).
        for byte in Array("GET /info HTTP/1.1\r\nHost: x\n".utf8) { try client.send([byte]) }
        let response = try await client.response()
        #expect(response.status == 400)
    }

    @Test func headEndDetection() {
        let head = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(EventLoop.mayEndHead(head, newFrom: head.count - 1))
        #expect(EventLoop.mayEndHead(head, newFrom: head.count - 2) )
        #expect(!EventLoop.mayEndHead(Array(head.dropLast(2)), newFrom: 20))
        #expect(!EventLoop.mayEndHead(Array("GET / HT".utf8), newFrom: 0))
        #expect(EventLoop.mayEndHead(Array("GET / HTTP/1.1\n".utf8), newFrom: 14))
    }

    @Test func bareLineFeedsAreRejected() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        #expect(try await rejection(of: Array("GET /info HTTP/1.1\nHost: x\n\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET /info HTTP/1.1\r\nHost: x\n\r\n".utf8), server: server).status == 400)
    }

    @Test func sixtyFourKibibyteHeaderIs431() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let huge = "GET /info HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 64 * 1024) + "\r\n\r\n"
        let response = try await rejection(of: Array(huge.utf8), server: server)
        #expect(response.status == 431)
        #expect(try await RawClient(port: server.port).get("/info").status == 200)
    }

    @Test func tooManyHeaderFieldsIs431() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let many = "GET /info HTTP/1.1\r\nHost: x\r\n" + (0..<150).map { "X-\($0): y\r\n" }.joined() + "\r\n"
        #expect(try await rejection(of: Array(many.utf8), server: server).status == 431)
    }

    @Test func headerWithoutColon() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        #expect(try await rejection(of: Array("GET /info HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET /info HTTP/1.1\r\nHost : x\r\n\r\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET /info HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n".utf8), server: server).status == 400)
        #expect(try await rejection(of: Array("GET /info HTTP/1.1\r\n\r\n".utf8), server: server).status == 400) // no Host
    }

    @Test func bodiesAreRefused() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let chunked = "POST /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        #expect(try await rejection(of: Array(chunked.utf8), server: server).status == 413)
        let chunkedGet = "GET /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        #expect(try await rejection(of: Array(chunkedGet.utf8), server: server).status == 413)
        let sized = "POST /info HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
        #expect(try await rejection(of: Array(sized.utf8), server: server).status == 413)
        let smuggle = "GET /info HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(try await rejection(of: Array(smuggle.utf8), server: server).status == 400)
        let conflicting = "GET /info HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n"
        #expect(try await rejection(of: Array(conflicting.utf8), server: server).status == 400)
        let zero = try RawClient(port: server.port)
        try zero.send("GET /info HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(try await zero.response().status == 200)
    }

    // MARK: Limits and timeouts

    @Test func fiveHundredIdleConnectionsDoNotDelayInfo() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let idle = try (0..<500).map { _ in try RawClient(port: server.port) }
        // Best of three fresh clients: other tests share these two cores, and a scheduling spike
        // in one attempt says nothing about the server; a server slowed by idle connections
        // fails all three.
        var best = Duration.seconds(60)
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let client = try RawClient(port: server.port, receiveTimeout: 2)
            let response = try await client.get("/info")
            #expect(response.status == 200)
            best = min(best, ContinuousClock.now - started)
        }
        #expect(best < .seconds(1))
        #expect((server.statistics?.open ?? 0) >= 500)
        withExtendedLifetime(idle) {}
    }

    @Test func atTheConnectionCapTheLongestIdleMakesRoom() async throws {
        let server = try startServer { $0.maxConnections = 4 }
        defer { Task { await server.stop() } }
        let first = try RawClient(port: server.port)
        #expect(try await first.get("/info").status == 200)
        let others = try (0..<3).map { _ in try RawClient(port: server.port) }
        for client in others { #expect(try await client.get("/info").status == 200) }
        let newcomer = try RawClient(port: server.port)
        #expect(try await newcomer.get("/info").status == 200)
        #expect(try await first.isClosedByServer()) // the longest idle was closed for it
        #expect(server.statistics?.open == 4)
    }

    @Test func atTheConnectionCapWithNoneIdleNewcomersGet503() async throws {
        let server = try startServer { $0.maxConnections = 2 }
        defer { Task { await server.stop() } }
        // Two clients waiting for a health check are not idle, so they are not evicted.
        let gate = Gate()
        server.responder.addHealthCheck("gate", probes: .all) {
            await gate.pass()
            return .pass
        }
        let busy = try (0..<2).map { _ in try RawClient(port: server.port) }
        try busy[0].send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        try busy[1].send("GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        await gate.waitForArrivals(2)
        let refused = try RawClient(port: server.port)
        let response = try await refused.response()
        #expect(response.status == 503)
        #expect(response.text.contains("too many connections"))
        #expect(server.statistics?.refused == 1)
        await gate.open()
        for client in busy { #expect(try await client.response().status == 200) }
    }

    @Test func idleKeepAliveConnectionsAreClosed() async throws {
        let server = try startServer { $0.idleTimeout = .milliseconds(200) }
        defer { Task { await server.stop() } }
        let client = try RawClient(port: server.port)
        let started = ContinuousClock.now // before the request: the server's idle clock cannot start earlier
        #expect(try await client.get("/info").status == 200)
        #expect(try await client.isClosedByServer())
        #expect(ContinuousClock.now - started >= .milliseconds(190))
    }

    @Test func noWakeUpsWhileIdle() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let clients = try (0..<10).map { _ in try RawClient(port: server.port) }
        for client in clients { #expect(try await client.get("/info").status == 200) }
        let before = try #require(server.statistics?.wakeUps)
        try await Task.sleep(for: .milliseconds(400)) // observing idleness, not waiting for readiness
        #expect(server.statistics?.wakeUps == before)
    }

    @Test func clientsThatVanishDoNotKillTheServer() async throws {
        // Writes to reset connections raise SIGPIPE unless suppressed; the test process would die.
        let server = try startServer()
        defer { Task { await server.stop() } }
        for _ in 0..<20 {
            let client = try RawClient(port: server.port)
            try client.send(String(repeating: "GET /info HTTP/1.1\r\nHost: x\r\n\r\n", count: 2000))
            var reset = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        }
        #expect(try await RawClient(port: server.port).get("/info").status == 200)
    }

    // MARK: Lifecycle

    @Test func portInUseIsAClearError() async throws {
        let server = try startServer()
        defer { Task { await server.stop() } }
        let second = InfoServer(info: ServiceInfo(name: "x"), host: "127.0.0.1", port: server.port)
        #expect(throws: InfoServerError.addressInUse(address: "127.0.0.1:\(server.port)")) { try second.start() }
        let message = String(describing: InfoServerError.addressInUse(address: "127.0.0.1:\(server.port)"))
        #expect(message.contains("already in use"))
        #expect(throws: InfoServerError.alreadyStarted) { try server.start() }
        #expect(throws: InfoServerError.self) { try InfoServer(info: ServiceInfo(name: "x"), host: "no.such.host.invalid", port: 0).start() }
        #expect(throws: InfoServerError.self) { try InfoServer(info: ServiceInfo(name: "x"), host: "127.0.0.1", port: 70000).start() }
    }

    @Test func ipv6Loopback() async throws {
        let server: InfoServer
        do {
            server = try startServer(host: "::1")
        } catch {
            return // this machine has no IPv6 loopback
        }
        defer { Task { await server.stop() } }
        #expect(server.addresses == ["[::1]:\(server.port)"])
        let client = try RawClient(port: server.port, host: "::1")
        #expect(try await client.get("/info").status == 200)
    }

    @Test func dualStackWildcardAcceptsIPv4() async throws {
        let server: InfoServer
        do {
            server = try startServer(host: "::")
        } catch {
            return
        }
        defer { Task { await server.stop() } }
        #expect(try await RawClient(port: server.port, host: "127.0.0.1").get("/info").status == 200)
    }

    @Test func gracefulStopFinishesRequestsInProgress() async throws {
        let server = try startServer()
        let checkStarted = Locked<CheckedContinuation<Void, Never>?>(nil)
        server.responder.addHealthCheck("slow") {
            checkStarted.withLock { $0?.resume(); $0 = nil }
            try? await Task.sleep(for: .milliseconds(300))
            return .pass
        }
        let idle = try RawClient(port: server.port)
        #expect(try await idle.get("/info").status == 200)
        let busy = try RawClient(port: server.port)
        await withCheckedContinuation { continuation in
            checkStarted.withLock { $0 = continuation }
            try? busy.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        let stopping = Task { await server.stop(gracePeriod: .seconds(5)) }
        let response = try await busy.response()
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        busy.close() // as a client does after `Connection: close`; the server's linger then ends at once
        #expect(try await idle.isClosedByServer())
        await stopping.value
        #expect(throws: (any Error).self) { try RawClient(port: server.port) } // no longer listening
        await server.stop() // idempotent
    }

    @Test func stopWithoutStart() async {
        let server = InfoServer(info: ServiceInfo(name: "x"), port: 0)
        await server.stop()
    }

    @Test func runStopsWhenItsTaskIsCancelled() async throws {
        let server = InfoServer(info: ServiceInfo(name: "x"), host: "127.0.0.1", port: 0)
        let running = Task { try await server.run() }
        try await withTimeout(.seconds(5), "the server to listen") {
            while server.port == 0 { await Task.yield() }
        }
        #expect(try await RawClient(port: server.port).get("/info").status == 200)
        running.cancel()
        try await withTimeout(.seconds(10), "run() to return") { try await running.value }
    }
}
