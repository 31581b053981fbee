import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import DeployVerifyKit
import DeployVerifyURLSession

/// Every transport must give the same answers, so every scenario runs through each: the own
/// client (http://), libcurl (https:// on Linux) and URLSession (https:// on Darwin), the last
/// two forced onto plain HTTP where the misbehaving server can be put to work.
private let transports: [TransportUnderTest] = [.automatic, .curl, .urlSession]

enum TransportUnderTest: CustomStringConvertible {
    case automatic, curl, urlSession

    var choice: ProbeTransportChoice {
        switch self {
        case .automatic: .automatic
        case .curl: .curl
        case .urlSession: .only(URLSessionTransport(maxConnectionsPerHost: 100, userAgent: "tests"))
        }
    }

    var description: String {
        switch self {
        case .automatic: "automatic"
        case .curl: "curl"
        case .urlSession: "urlSession"
        }
    }
}

private func prober(_ transport: TransportUnderTest, _ configure: (inout ProbeOptions) -> Void = { _ in }) throws -> Prober {
    var options = ProbeOptions()
    options.transport = transport.choice
    options.timeout = .seconds(10)
    configure(&options)
    return try Prober(options: options)
}

@Suite("Probe layer over real sockets")
struct ProberTests {
    @Test(arguments: transports)
    func readsAnInfoEndpoint(transport: TransportUnderTest) async throws {
        let server = InfoServer(info: ServiceInfo(name: "checkout", version: "1.4.2", environmentVariables: [:], buildStamp: nil),
                                host: "127.0.0.1", port: 0)
        try server.start()
        defer { Task { await server.stop() } }
        let result = try await prober(transport).probe("http://127.0.0.1:\(server.port)/info")
        #expect(result.failure == nil)
        #expect(result.status == 200)
        #expect(result.header("content-type") == "application/json")
        let body = try JSONParser().parse(result.body)
        #expect(body["version"] == .string("1.4.2"))
        #expect(result.timings.total > .zero)
        #expect(result.timings.firstByte != nil)
        if transport == .automatic { #expect(result.timings.connect != nil) }
    }

    @Test func keepAliveConnectionsAreReusedAndSamplesUseFreshOnes() async throws {
        let server = InfoServer(info: ServiceInfo(name: "x", version: "1"), host: "127.0.0.1", port: 0)
        try server.start()
        defer { Task { await server.stop() } }
        let url = "http://127.0.0.1:\(server.port)/info"
        let prober = try prober(.automatic) { $0.concurrency = 4 }
        let results = await prober.probeAll(Array(repeating: url, count: 40))
        #expect(results.allSatisfy { $0.status == 200 })
        #expect((server.statistics?.accepted ?? 0) <= 4)
        let before = server.statistics?.accepted ?? 0
        let fresh = await prober.probeAll(Array(repeating: url, count: 10), freshConnection: true)
        #expect(fresh.allSatisfy { $0.status == 200 })
        #expect(server.statistics?.accepted == before + 10)
    }

    @Test(arguments: transports)
    func refused(transport: TransportUnderTest) async throws {
        let refusedPort = refusedPort
        let result = try await prober(transport).probe("http://127.0.0.1:\(refusedPort)/info")
        #expect(result.failure?.className == "refused")
        #expect(result.status == nil)
    }

    @Test(arguments: transports)
    func dns(transport: TransportUnderTest) async throws {
        let result = try await prober(transport).probe("http://no-such-host.invalid/info")
        #expect(result.failure?.className == "dns", "\(String(describing: result.failure))")
    }

    @Test(arguments: transports)
    func neverAnswersTimesOutOnTime(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let started = ContinuousClock.now
        let result = try await prober(transport) { $0.timeout = .milliseconds(300) }.probe(server.url("/never"))
        let elapsed = ContinuousClock.now - started
        #expect(result.failure?.className == "timeout")
        #expect(result.failure?.message.contains("300ms") == true)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(5)) // our timer fired: URLSession's own would never have (set to 1 h)
    }

    @Test(arguments: transports)
    func stalledBodyTimesOut(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let result = try await prober(transport) { $0.timeout = .milliseconds(300) }.probe(server.url("/stall-body"))
        #expect(result.failure?.className == "timeout")
    }

    @Test(arguments: transports)
    func resetAndClose(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(transport)
        for path in ["/reset", "/close"] {
            let result = await prober.probe(server.url(path))
            #expect(result.failure?.className == "reset", "\(path): \(String(describing: result.failure))")
        }
    }

    @Test(arguments: transports)
    func notHTTP(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let result = try await prober(transport).probe(server.url("/garbage"))
        #expect(result.failure?.className == "protocol", "\(String(describing: result.failure))")
    }

    @Test(arguments: transports)
    func chunkedTrailers(transport: TransportUnderTest) async throws {
        // URLSession on Linux ends the process with a fatalError on this legal response
        // (swift-corelibs-foundation#5285): the reason https:// goes through libcurl on Linux.
        #if os(Linux)
        if transport == .urlSession { return }
        #endif
        let server = try MisbehavingServer()
        defer { server.stop() }
        let result = try await prober(transport).probe(server.url("/chunked-trailer"))
        #expect(result.failure == nil)
        #expect(String(decoding: result.body, as: UTF8.self) == "abcd")
    }

    @Test(arguments: transports)
    func httpErrorKeepsTheResponse(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let result = try await prober(transport).probe(server.url("/status/500"))
        #expect(result.failure == .httpError(500))
        #expect(result.failure?.className == "http-error")
        #expect(result.status == 500)
        #expect(String(decoding: result.body, as: UTF8.self).contains("status 500"))
    }

    @Test(arguments: transports)
    func fiftyMegabyteBodiesAreCutOff(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(transport) { $0.maxBodyBytes = 1 << 20 }
        for path in ["/huge", "/huge-chunked"] {
            let started = ContinuousClock.now
            let result = await prober.probe(server.url(path))
            #expect(result.failure?.className == "too-large", "\(path): \(String(describing: result.failure))")
            #expect(result.failure?.message.contains("1 MiB") == true)
            #expect(result.body.count <= 1 << 20)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test(arguments: transports)
    func redirects(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(transport) { $0.maxRedirects = 5 }
        let followed = await prober.probe(server.url("/hop/3"))
        #expect(followed.failure == nil)
        #expect(followed.redirects.count == 3)
        #expect(followed.finalURL == server.url("/hop/0"))
        #expect(String(decoding: followed.body, as: UTF8.self) == #"{"version":"hop"}"#)

        let loop = await prober.probe(server.url("/loop-a"))
        #expect(loop.failure?.className == "redirect-loop")
        #expect(loop.failure?.message.contains("redirect loop: \(server.url("/loop-a")) → \(server.url("/loop-b")) → \(server.url("/loop-a"))") == true)

        let tooMany = await prober.probe(server.url("/hop/9"))
        #expect(tooMany.failure?.className == "redirect-loop")
        #expect(tooMany.failure?.message.hasPrefix("more than 5 redirects") == true)
    }

    @Test(arguments: transports)
    func bodyFramings(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(transport)
        let chunked = await prober.probe(server.url("/chunked/2.0.0"))
        #expect(String(decoding: chunked.body, as: UTF8.self) == #"{"version":"2.0.0"}"#)
        let untilClose = await prober.probe(server.url("/http10/3.0.0"))
        #expect(untilClose.failure == nil)
        #expect(String(decoding: untilClose.body, as: UTF8.self) == #"{"version":"3.0.0"}"#)
    }

    @Test(arguments: transports)
    func headersAndCredentialsAreSent(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(transport) { $0.headers = [("X-Request-Id", "abc-123")] }
        let url = "http://deploy:s3cr3t@127.0.0.1:\(server.port)/version/1"
        let result = await prober.probe(url)
        #expect(result.status == 200)
        let head = try #require(server.requests.last?.head)
        #expect(head.contains("X-Request-Id: abc-123"))
        #expect(head.contains("Authorization: Basic ZGVwbG95OnMzY3IzdA=="))
    }

    @Test(arguments: transports)
    func invalidURLs(transport: TransportUnderTest) async throws {
        let prober = try prober(transport)
        for url in ["ftp://host/x", "not a url", "http:///path"] {
            #expect(await prober.probe(url).failure?.className == "invalid-url", "\(url)")
        }
    }

    @Test func ipv6Literal() async throws {
        let server = InfoServer(info: ServiceInfo(name: "x", version: "6"), host: "::1", port: 0)
        do { try server.start() } catch { return } // no IPv6 loopback here
        defer { Task { await server.stop() } }
        let result = try await prober(.automatic).probe("http://[::1]:\(server.port)/info")
        #expect(result.status == 200)
    }

    @Test(arguments: transports)
    func overallDeadlineBoundsABatch(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(transport) {
            $0.concurrency = 2
            $0.timeout = .seconds(10)
        }
        let started = ContinuousClock.now
        let results = await prober.probeAll(Array(repeating: server.url("/never"), count: 10),
                                            deadline: started + .milliseconds(400))
        let elapsed = ContinuousClock.now - started
        #expect(results.count == 10)
        #expect(results.allSatisfy { $0.failure?.className == "timeout" })
        #expect(results.allSatisfy { $0.failure?.message.contains("overall deadline") == true },
                "\(results.map { $0.failure?.message ?? "-" })")
        #expect(elapsed < .seconds(15)) // without the deadline: five waves of 10 s (slack for a loaded CI machine)
    }

    @Test func concurrencyIsBounded() async throws {
        let server = try MisbehavingServer()
        defer { server.stop() }
        let prober = try prober(.automatic) {
            $0.concurrency = 3
            $0.timeout = .milliseconds(200)
        }
        // Nine reads that each take their full 200 ms, three at a time: at least three waves.
        // (Unbounded, they would all end after one 200 ms wave.)
        let started = ContinuousClock.now
        let results = await prober.probeAll(Array(repeating: server.url("/never"), count: 9))
        #expect(results.allSatisfy { $0.failure?.className == "timeout" })
        #expect(ContinuousClock.now - started >= .milliseconds(590))
    }

    @Test(arguments: transports)
    func cancellingManyRequestsInFlightIsSafe(transport: TransportUnderTest) async throws {
        // swift-corelibs-foundation 6.3.1 crashes or hangs when in-flight data(for:) calls are
        // cancelled; both transports must come back, every time.
        let server = try MisbehavingServer()
        defer { server.stop() }
        let refusedPort = refusedPort
        let prober = try prober(transport) { $0.concurrency = 100 }
        for round in 0..<3 {
            let batch = Task {
                await prober.probeAll((0..<100).map { $0 % 2 == 0 ? server.url("/never") : "http://127.0.0.1:\(refusedPort)/x" })
            }
            try await Task.sleep(for: .milliseconds(30))
            batch.cancel()
            let results = try await withTimeout(.seconds(10), "cancelled batch \(round)") { await batch.value }
            #expect(results.count == 100)
            #expect(results.allSatisfy { $0.failure != nil })
        }
    }

    @Test(arguments: [TransportUnderTest.automatic, .urlSession])
    func untrustedCertificatesAreTLSFailures(transport: TransportUnderTest) async throws {
        guard let server = try await TLSServer.make() else { return } // needs python3 and openssl
        defer { server.stop() }
        let result = try await prober(transport).probe(server.url("/info/1.4.2"))
        #expect(result.failure?.className == "tls", "\(String(describing: result.failure))")
        if transport == .automatic {
            #expect(result.failure?.message.lowercased().contains("certificate") == true, "\(result.failure?.message ?? "")")
        }
    }

    @Test func aPrivateCertificateAuthorityCanBeTrusted() async throws {
        guard let server = try await TLSServer.make() else { return }
        defer { server.stop() }
        let result = try await prober(.automatic) { $0.caCertificateFile = server.certificatePath }.probe(server.url("/info/1.4.2"))
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        #expect(try JSONParser().parse(result.body)["version"] == .string("1.4.2"))
    }
}
