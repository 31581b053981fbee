import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a DeployVerify binary as an AWS Lambda function on an OS-only runtime
/// (`provided.al2023`, the binary deployed as `bootstrap`), speaking the Runtime API itself:
///
/// ```swift
/// exit(await LambdaRuntime.run(environment: environment) { invocation in
///     try await oneCycle(invocation.jsonBody(), timeout: invocation.remainingTime())
/// })
/// ```
///
/// Each event goes to the handler; what it returns is the invocation's response, what it
/// throws the invocation's error. The loop ends only when the Runtime API cannot be reached
/// or answers in a way that means the runtime must stop; Lambda then starts a new one.
package enum LambdaRuntime {
    /// The environment variable in which Lambda passes the Runtime API's `host:port`.
    package static let endpointVariable = "AWS_LAMBDA_RUNTIME_API"
    /// The environment variable the X-Ray SDKs read the current trace header from.
    package static let traceIDVariable = "_X_AMZN_TRACE_ID"

    /// The loop: `next` → `_X_AMZN_TRACE_ID` set to the invocation's trace header (unset when it
    /// has none) → `handler` → the response, or an invocation error when the handler throws
    /// (`errorType` the error's type name, `errorMessage` its description).
    ///
    /// A response or error the Runtime API refuses with a 4xx status (400: unknown request id,
    /// 403: already answered or timed out, 413: the response is too large, which Lambda reports
    /// as the invocation's error itself) ends only that invocation. A `next` answer without a
    /// usable deadline is answered with a `Runtime.MalformedInvocation` error.
    ///
    /// - Parameters:
    ///   - maxInvocations: return 0 after this many events (tests); nil runs until the
    ///     Runtime API goes away.
    ///   - log: where the one line written per failure goes (standard error).
    /// - Returns: the exit status: 1 when `AWS_LAMBDA_RUNTIME_API` is missing or invalid, the
    ///   Runtime API cannot be reached (the calling task cancelled included), answers `next`
    ///   with anything but an event, answers without a request id, or answers a post with a
    ///   5xx status ("non-recoverable state, runtime should exit promptly"); 0 after
    ///   `maxInvocations`.
    package static func run(environment: [String: String], maxInvocations: Int? = nil,
                            log: @escaping @Sendable (String) -> Void = { Console().error($0) },
                            handler: @escaping @Sendable (LambdaInvocation) async throws -> [UInt8]) async -> Int32 {
        let say = oneLine(log)
        let client: LambdaRuntimeClient
        do {
            client = try makeClient(environment)
        } catch {
            say("\(error)")
            return 1
        }
        var handled = 0
        while maxInvocations.map({ handled < $0 }) ?? true {
            handled += 1
            let invocation: LambdaInvocation
            do {
                invocation = try await client.next()
            } catch LambdaRuntimeError.malformedInvocation(let requestID?, let reason) {
                say("invocation \(requestID) cannot be handled: \(reason)")
                guard await settle(say, { () async throws(LambdaRuntimeError) in
                    try await client.fail(requestID, errorType: "Runtime.MalformedInvocation", message: reason)
                }) else { return 1 }
                continue
            } catch {
                say("\(error); exiting")
                return 1
            }
            exportTraceID(invocation.traceID)
            let requestID = invocation.requestID
            let outcome: Result<[UInt8], any Error>
            do {
                outcome = .success(try await handler(invocation))
            } catch {
                outcome = .failure(error)
            }
            let continues: Bool
            switch outcome {
            case .success(let body):
                continues = await settle(say, { () async throws(LambdaRuntimeError) in
                    try await client.respond(to: requestID, body: body)
                })
            case .failure(let error):
                let report = errorReport(error)
                say("invocation \(requestID) failed: \(report.type): \(report.message)")
                continues = await settle(say, { () async throws(LambdaRuntimeError) in
                    try await client.fail(requestID, errorType: report.type, message: report.message)
                })
            }
            guard continues else { return 1 }
        }
        return 0
    }

    /// Reports a configuration error found before the loop starts to `/runtime/init/error`
    /// (`errorType` the error's type name, `errorMessage` its description); Lambda serves it in
    /// answer to the first invocation. Returns the exit status to end with: 1.
    package static func reportInitError(_ error: any Error, environment: [String: String],
                                        log: @escaping @Sendable (String) -> Void = { Console().error($0) }) async -> Int32 {
        let say = oneLine(log)
        let report = errorReport(error)
        say("init error: \(report.type): \(report.message)")
        do {
            let client = try makeClient(environment)
            try await client.initError(errorType: report.type, message: report.message)
        } catch {
            say("the init error could not be reported: \(error)")
        }
        return 1
    }

    // MARK: Helpers

    static func makeClient(_ environment: [String: String]) throws(LambdaRuntimeError) -> LambdaRuntimeClient {
        guard let endpoint = environment[endpointVariable], !endpoint.isEmpty else {
            throw .invalidEndpoint("\(endpointVariable) is not set: this runs as a Lambda function's bootstrap only")
        }
        return try LambdaRuntimeClient(endpoint: endpoint)
    }

    /// Runs one post to the Runtime API; false when the runtime must stop.
    private static func settle(_ say: (String) -> Void, _ post: () async throws(LambdaRuntimeError) -> Void) async -> Bool {
        do {
            try await post()
            return true
        } catch LambdaRuntimeError.rejected(let call, let status, let message) where (400..<500).contains(status) {
            say("the Runtime API refused the \(call) with HTTP \(status): \(message)")
            return true
        } catch {
            say("\(error); exiting")
            return false
        }
    }

    /// `errorType` and `errorMessage` for an error: its type name and its description.
    static func errorReport(_ error: any Error) -> (type: String, message: String) {
        let type = String(describing: Swift.type(of: error))
        let message = String(describing: error)
        return (type, message.isEmpty ? type : message)
    }

    /// Sets `_X_AMZN_TRACE_ID` for the invocation, or removes the previous one's.
    static func exportTraceID(_ traceID: String?) {
        if let traceID {
            setenv(traceIDVariable, traceID, 1)
        } else {
            unsetenv(traceIDVariable)
        }
    }

    /// Log lines prefixed and kept on one line (a description may span several).
    private static func oneLine(_ log: @escaping @Sendable (String) -> Void) -> @Sendable (String) -> Void {
        { text in
            log("lambda runtime: " + String(text.map { $0.isNewline ? " " : $0 }))
        }
    }
}
