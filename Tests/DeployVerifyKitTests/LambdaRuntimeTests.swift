import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import DeployVerifyKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The runtime's log lines, collected instead of written to standard error.
private final class LogLines: Sendable {
    private let lines = Locked<[String]>([])
    var all: [String] { lines.current }
    var sink: @Sendable (String) -> Void { { [lines] line in lines.withLock { $0.append(line) } } }
}

/// What a handler throws: its type name becomes the errorType, its description the errorMessage.
private struct HandlerFailure: Error, CustomStringConvertible {
    let description: String
}

private struct ConfigurationProblem: Error, CustomStringConvertible {
    let description: String
}

private func exportedTraceID() -> String? {
    getenv("_X_AMZN_TRACE_ID").map { String(cString: $0) }
}

// Serialized: `_X_AMZN_TRACE_ID` belongs to the whole process.
@Suite("Lambda runtime against a local Runtime API", .serialized)
struct LambdaRuntimeTests {
    @Test func answersEventsInOrder() async throws {
        let server = try LambdaRuntimeAPIServer()
        let ids = ["8476a536-e9f4-11e8-9739-2dfe598c3fcd", "second", "third id/with space"]
        for (index, id) in ids.enumerated() {
            server.enqueue(.init(requestID: id, body: #"{"n":\#(index + 1)}"#))
        }
        let log = LogLines()
        let status = try await withTimeout(.seconds(20), "three invocations") {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 3, log: log.sink) { invocation in
                let n = try invocation.jsonBody()["n"]?.scalarText ?? "?"
                return Array("answer \(n) to \(invocation.requestID)".utf8)
            }
        }
        await server.stop()
        #expect(status == 0)
        let posts = server.posts
        #expect(posts.map(\.kind) == [.response, .response, .response])
        // The third id went out percent-encoded in the path and arrived intact.
        #expect(posts.map(\.requestID) == ids)
        #expect(posts.map(\.status) == [202, 202, 202])
        #expect(posts.map(\.text) == ["answer 1 to \(ids[0])", "answer 2 to second", "answer 3 to third id/with space"])
        #expect(server.nextRequests == 3)
        #expect(log.all.isEmpty)
    }

    @Test func aThrowingHandlerBecomesAnInvocationErrorAndTheLoopGoesOn() async throws {
        let server = try LambdaRuntimeAPIServer()
        server.enqueue(.init(requestID: "bad", body: #"{"service":"nope"}"#))
        server.enqueue(.init(requestID: "good", body: "{}"))
        let log = LogLines()
        let status = try await withTimeout(.seconds(20), "two invocations") {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 2, log: log.sink) { invocation in
                if invocation.requestID == "bad" { throw HandlerFailure(description: "no service named 'nope'\nin the manifest") }
                return Array("ok".utf8)
            }
        }
        await server.stop()
        #expect(status == 0)
        let error = try #require(server.posts.first { $0.requestID == "bad" })
        #expect(error.kind == .error)
        #expect(error.header("Lambda-Runtime-Function-Error-Type") == "HandlerFailure")
        #expect(error.header("Content-Type") == "application/vnd.aws.lambda.error+json")
        let document = try JSONParser().parse(error.body)
        #expect(document["errorType"] == .string("HandlerFailure"))
        #expect(document["errorMessage"] == .string("no service named 'nope'\nin the manifest"))
        #expect(document["stackTrace"] == .array([]))
        let good = try #require(server.posts.first { $0.requestID == "good" })
        #expect(good.kind == .response)
        #expect(good.text == "ok")
        // One line per failure, on one line even when the description has several.
        #expect(log.all.count == 1)
        #expect(log.all.first?.contains("invocation bad failed: HandlerFailure: no service named 'nope' in the manifest") == true)
    }

    @Test func theDeadlineAndHeadersReachTheHandler() async throws {
        let server = try LambdaRuntimeAPIServer()
        let deadline = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + 90) * 1000).rounded(.down) / 1000)
        var event = LambdaRuntimeAPIServer.Event(requestID: "with-deadline", body: #"{"watch":"cycle"}"#, deadline: deadline,
                                                 functionARN: "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime")
        event.clientContext = #"{"client":{}}"#
        server.enqueue(event)
        let seen = Locked<(LambdaInvocation, Duration)?>(nil)
        let status = try await withTimeout(.seconds(20), "one invocation") {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 1) { invocation in
                seen.withLock { $0 = (invocation, invocation.remainingTime()) }
                return []
            }
        }
        await server.stop()
        #expect(status == 0)
        let (invocation, remainingInHandler) = try #require(seen.current)
        #expect(invocation.requestID == "with-deadline")
        #expect(invocation.deadline == deadline)
        #expect(remainingInHandler > .seconds(80) && remainingInHandler <= .seconds(90))
        #expect(invocation.remainingTime(now: deadline.addingTimeInterval(-30)) == .seconds(30))
        #expect(invocation.remainingTime(now: deadline.addingTimeInterval(-1.25)) == .milliseconds(1250))
        #expect(invocation.remainingTime(now: deadline) == .zero)
        #expect(invocation.remainingTime(now: deadline.addingTimeInterval(5)) == .zero)
        #expect(invocation.invokedFunctionARN == "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime")
        #expect(invocation.clientContext == #"{"client":{}}"#)
        #expect(invocation.cognitoIdentity == nil)
        #expect(try invocation.jsonBody()["watch"] == .string("cycle"))
        // An empty response is still a response.
        #expect(server.posts.map(\.kind) == [.response])
        #expect(server.posts.first?.body == [])
    }

    @Test func theTraceIDIsExportedPerInvocation() async throws {
        let server = try LambdaRuntimeAPIServer()
        let trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
        server.enqueue(.init(requestID: "traced", body: "{}", traceID: trace))
        server.enqueue(.init(requestID: "untraced", body: "{}"))
        let status = try await withTimeout(.seconds(20), "two invocations") {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 2) { _ in
                Array((exportedTraceID() ?? "none").utf8)
            }
        }
        await server.stop()
        #expect(status == 0)
        #expect(server.posts.map(\.text) == [trace, "none"])
        #expect(exportedTraceID() == nil)
    }

    @Test func aDeadlineThatIsNotANumberIsAnsweredWithAnErrorAndTheLoopGoesOn() async throws {
        let server = try LambdaRuntimeAPIServer()
        var event = LambdaRuntimeAPIServer.Event(requestID: "bad-deadline", body: "{}")
        event.deadlineHeader = "soon"
        server.enqueue(event)
        server.enqueue(.init(requestID: "fine", body: "{}"))
        let calls = Locked<[String]>([])
        let log = LogLines()
        let status = try await withTimeout(.seconds(20), "two events") {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 2, log: log.sink) { invocation in
                calls.withLock { $0.append(invocation.requestID) }
                return Array("ok".utf8)
            }
        }
        await server.stop()
        #expect(status == 0)
        #expect(calls.current == ["fine"])
        let error = try #require(server.posts.first { $0.requestID == "bad-deadline" })
        #expect(error.kind == .error)
        #expect(error.header("Lambda-Runtime-Function-Error-Type") == "Runtime.MalformedInvocation")
        let document = try JSONParser().parse(error.body)
        #expect(document["errorType"] == .string("Runtime.MalformedInvocation"))
        #expect(document["errorMessage"]?.stringValue?.contains("Lambda-Runtime-Deadline-Ms 'soon'") == true)
        #expect(server.posts.first { $0.requestID == "fine" }?.kind == .response)
        #expect(log.all.count == 1)
    }

    @Test func anAnswerWithoutARequestIDEndsTheLoop() async throws {
        let server = try LambdaRuntimeAPIServer()
        server.enqueue(.init(requestID: nil, body: "{}"))
        server.enqueue(.init(requestID: "never-reached", body: "{}"))
        let calls = Locked(0)
        let log = LogLines()
        let status = try await withTimeout(.seconds(10), "run to return") {
            await LambdaRuntime.run(environment: server.environment, log: log.sink) { _ in
                calls.withLock { $0 += 1 }
                return []
            }
        }
        await server.stop()
        #expect(status == 1)
        #expect(calls.current == 0)
        #expect(server.posts.isEmpty)
        #expect(server.nextRequests == 1)
        #expect(log.all.count == 1)
        #expect(log.all.first?.contains("no Lambda-Runtime-Aws-Request-Id header") == true)
    }

    @Test func anInitErrorIsPosted() async throws {
        let server = try LambdaRuntimeAPIServer()
        let log = LogLines()
        let status = await LambdaRuntime.reportInitError(ConfigurationProblem(description: "--manifest FILE is required"),
                                                         environment: server.environment, log: log.sink)
        #expect(status == 1)
        let post = try #require(await withTimeout(.seconds(10), "the init error") { await server.waitForInitError() })
        await server.stop()
        #expect(post.requestID == nil)
        #expect(post.status == 202)
        #expect(post.header("Lambda-Runtime-Function-Error-Type") == "ConfigurationProblem")
        let document = try JSONParser().parse(post.body)
        #expect(document["errorType"] == .string("ConfigurationProblem"))
        #expect(document["errorMessage"] == .string("--manifest FILE is required"))
        #expect(document["stackTrace"] == .array([]))
        #expect(log.all == ["lambda runtime: init error: ConfigurationProblem: --manifest FILE is required"])

        // Outside Lambda there is nowhere to post it: still exit status 1, and a line saying so.
        let outside = LogLines()
        #expect(await LambdaRuntime.reportInitError(ConfigurationProblem(description: "x"), environment: [:], log: outside.sink) == 1)
        #expect(outside.all.count == 2)
        #expect(outside.all.last?.contains("AWS_LAMBDA_RUNTIME_API is not set") == true)
    }

    @Test func theRuntimeAPIGoingAwayEndsTheLoopPromptly() async throws {
        let server = try LambdaRuntimeAPIServer()
        let log = LogLines()
        let loop = Task { await LambdaRuntime.run(environment: server.environment, log: log.sink) { _ in [] } }
        let waiting = try await withTimeout(.seconds(10), "the runtime to ask for an event") { await server.waitForNextRequests(1) }
        #expect(waiting)
        let stopped = ContinuousClock.now
        await server.stop()
        let status = try await withTimeout(.seconds(10), "run to return once the Runtime API is gone") { await loop.value }
        #expect(status == 1)
        #expect(ContinuousClock.now - stopped < .seconds(5))
        #expect(log.all.count == 1)
        #expect(log.all.first?.contains("no usable answer from the Runtime API to next") == true)
    }

    @Test func nothingListeningOrNoEndpointEndsTheLoopAtOnce() async throws {
        let port = refusedPort
        for (environment, expected) in [
            (["AWS_LAMBDA_RUNTIME_API": "127.0.0.1:\(port)"], "connection refused"),
            (["AWS_LAMBDA_RUNTIME_API": "localhost"], "is not host:port"),
            ([:], "AWS_LAMBDA_RUNTIME_API is not set"),
        ] {
            let log = LogLines()
            let started = ContinuousClock.now
            let status = try await withTimeout(.seconds(10), "run to return") {
                await LambdaRuntime.run(environment: environment, log: log.sink) { _ in [] }
            }
            #expect(status == 1)
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(log.all.count == 1)
            #expect(log.all.first?.contains(expected) == true, "\(log.all)")
        }
    }

    @Test func aNextHeldForSecondsStillDeliversTheEvent() async throws {
        // Longer than ClientRequest's default timeout (5 s): `next` must not be cut short.
        #expect(LambdaRuntimeClient.nextTimeout >= .seconds(86_400))
        let server = try LambdaRuntimeAPIServer()
        let loop = Task {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 1) { invocation in
                Array("late \(invocation.requestID)".utf8)
            }
        }
        let waiting = try await withTimeout(.seconds(10), "the runtime to ask for an event") { await server.waitForNextRequests(1) }
        #expect(waiting)
        try await Task.sleep(for: .milliseconds(5_500))
        server.enqueue(.init(requestID: "late-1", body: "{}"))
        let status = try await withTimeout(.seconds(10), "run to return") { await loop.value }
        await server.stop()
        #expect(status == 0)
        #expect(server.nextRequests == 1)
        #expect(server.posts.map(\.text) == ["late late-1"])
    }

    @Test func refusedPostsEndTheInvocationAndServerErrorsEndTheLoop() async throws {
        let server = try LambdaRuntimeAPIServer()
        server.answerPosts(for: "too-big", with: 413)
        server.enqueue(.init(requestID: "too-big", body: "{}"))
        server.enqueue(.init(requestID: "after", body: "{}"))
        let log = LogLines()
        let status = try await withTimeout(.seconds(20), "two invocations") {
            await LambdaRuntime.run(environment: server.environment, maxInvocations: 2, log: log.sink) { _ in Array("x".utf8) }
        }
        #expect(status == 0)
        // After a 413 Lambda has failed the invocation itself: no error is posted on top.
        #expect(server.posts.map(\.kind) == [.response, .response])
        #expect(server.posts.map(\.status) == [413, 202])
        #expect(log.all.count == 1)
        #expect(log.all.first?.contains("refused the response for too-big with HTTP 413: RequestEntityTooLarge") == true)

        // 500: "container error, non-recoverable state, runtime should exit promptly".
        server.answerPosts(for: "broken", with: 500)
        server.enqueue(.init(requestID: "broken", body: "{}"))
        let before = server.nextRequests
        let broken = try await withTimeout(.seconds(10), "run to return") {
            await LambdaRuntime.run(environment: server.environment, log: log.sink) { _ in [] }
        }
        #expect(broken == 1)
        #expect(server.nextRequests == before + 1) // no `next` after the 500

        // `next` answered with anything but an event ends the loop too.
        var failing = LambdaRuntimeAPIServer.Event(requestID: "x", body: "")
        failing.status = 500
        server.enqueue(failing)
        let nextFailed = try await withTimeout(.seconds(10), "run to return") {
            await LambdaRuntime.run(environment: server.environment, log: log.sink) { _ in [] }
        }
        await server.stop()
        #expect(nextFailed == 1)
        #expect(log.all.last?.contains("answered next with HTTP 500") == true)
    }

    // MARK: Pure logic

    @Test func endpoints() {
        func parsed(_ text: String) -> String? {
            LambdaRuntimeClient.parseEndpoint(text).map { "\($0.host) \($0.port)" }
        }
        #expect(parsed("127.0.0.1:9001") == "127.0.0.1 9001")
        #expect(parsed("localhost:9001") == "localhost 9001")
        #expect(parsed("[::1]:9001") == "::1 9001")
        for invalid in ["localhost", ":9001", "host:", "host:0", "host:65536", "host:12a", "host:+80", "::1:9001",
                        "[::1]9001", "[]:9001", "ho st:80", "host/x:80", "http://host:80", ""] {
            #expect(parsed(invalid) == nil, "\(invalid)")
        }
        #expect(throws: LambdaRuntimeError.self) { try LambdaRuntimeClient(endpoint: "nonsense") }
    }

    @Test func deadlines() {
        #expect(LambdaInvocation.parseDeadline("1542409706888") == Date(timeIntervalSince1970: 1542409706.888))
        #expect(LambdaInvocation.parseDeadline("0") == Date(timeIntervalSince1970: 0))
        for invalid in ["", "soon", "-1542409706888", "1542409706888.5", "1e12", " 1542409706888", "9999999999999999"] {
            #expect(LambdaInvocation.parseDeadline(invalid) == nil, "\(invalid)")
        }
    }

    @Test func nextAnswersAreReadStrictly() throws {
        let invocation = try LambdaInvocation.parse(headers: [
            ("lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
            ("LAMBDA-RUNTIME-DEADLINE-MS", "1542409706888"),
            ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"),
            ("Lambda-Runtime-Cognito-Identity", "{}"),
        ], body: Array("[]".utf8))
        #expect(invocation.requestID == "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
        #expect(invocation.deadline == Date(timeIntervalSince1970: 1542409706.888))
        #expect(invocation.traceID == "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
        #expect(invocation.cognitoIdentity == "{}")
        #expect(invocation.invokedFunctionARN == nil)
        #expect(try invocation.jsonBody() == .array([]))

        #expect(throws: LambdaRuntimeError.malformedInvocation(requestID: nil, reason: "the answer to next has no Lambda-Runtime-Aws-Request-Id header")) {
            try LambdaInvocation.parse(headers: [("Lambda-Runtime-Aws-Request-Id", " "), ("Lambda-Runtime-Deadline-Ms", "1")], body: [])
        }
        #expect(throws: LambdaRuntimeError.malformedInvocation(requestID: "id", reason: "the answer to next has no Lambda-Runtime-Deadline-Ms header")) {
            try LambdaInvocation.parse(headers: [("Lambda-Runtime-Aws-Request-Id", "id")], body: [])
        }
        let invalidBody = LambdaInvocation(requestID: "id", deadline: Date(), body: Array("<html>".utf8))
        #expect(throws: JSONSyntaxError.self) { try invalidBody.jsonBody() }
    }

    @Test func requestIDsAndErrorTypesCannotBreakTheRequest() {
        #expect(LambdaRuntimeClient.pathSegment("8476a536-e9f4-11e8-9739-2dfe598c3fcd") == "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
        #expect(LambdaRuntimeClient.pathSegment("a b/c\r\nHost: x%é") == "a%20b%2Fc%0D%0AHost%3A%20x%25%C3%A9")
        #expect(LambdaRuntimeClient.headerValue("Bad\r\nInjected: yes") == "BadInjected: yes")
        #expect(LambdaRuntimeClient.headerValue("\n") == "Unhandled")
        let report = LambdaRuntime.errorReport(HandlerFailure(description: ""))
        #expect(report.type == "HandlerFailure" && report.message == "HandlerFailure")
    }
}
