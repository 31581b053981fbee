import Foundation
import InfoEndpoint

/// What went wrong talking to the Lambda Runtime API.
package enum LambdaRuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `AWS_LAMBDA_RUNTIME_API` is missing or is not `host:port`.
    case invalidEndpoint(String)
    /// No usable HTTP answer to `call` (`next`, `response for …`): refused, reset, timed out,
    /// not HTTP, too large. The runtime cannot go on.
    case unreachable(call: String, reason: String)
    /// `call` was answered with a status it does not expect; `message` comes from the body
    /// (`errorType: errorMessage` when it is Lambda's error document).
    case rejected(call: String, status: Int, message: String)
    /// A `next` answer that cannot be handed to a handler: no request id, no usable deadline.
    /// With a request id the invocation can still be answered with an error.
    case malformedInvocation(requestID: String?, reason: String)

    package var description: String {
        switch self {
        case .invalidEndpoint(let reason): reason
        case .unreachable(let call, let reason): "no usable answer from the Runtime API to \(call): \(reason)"
        case .rejected(let call, let status, let message): "the Runtime API answered \(call) with HTTP \(status): \(message)"
        case .malformedInvocation(_, let reason): reason
        }
    }
}

/// A client of the Lambda Runtime API (version 2018-06-01) at `AWS_LAMBDA_RUNTIME_API`, on
/// DeployVerify's own HTTP client. `next` waits as long as it takes (the function is frozen
/// between invocations, for hours if nobody calls it); the other calls have short timeouts and
/// go out on a connection of their own, so that none is sent on a kept-alive connection the
/// Runtime API closed while the function was frozen.
package struct LambdaRuntimeClient: Sendable {
    /// The Runtime API's host and port, from `host:port`.
    package let host: String
    package let port: Int
    private let http: HTTPClient

    /// How long `next` may wait: a year, which is to say no limit (AWS: "do not set a timeout on
    /// the GET request").
    static let nextTimeout: Duration = .seconds(366 * 24 * 3600)
    /// Time allowed for posting a response or an error (the Runtime API is local).
    static let postTimeout: Duration = .seconds(10)
    static let connectTimeout: Duration = .seconds(2)
    /// Largest event accepted from `next` (Lambda's own limit for a synchronous event is 6 MB).
    static let maxEventBytes = 16 << 20

    /// - Parameter endpoint: the value of `AWS_LAMBDA_RUNTIME_API`, `host:port` (`127.0.0.1:9001`,
    ///   `[::1]:9001`).
    package init(endpoint: String) throws(LambdaRuntimeError) {
        guard let (host, port) = Self.parseEndpoint(endpoint) else {
            throw .invalidEndpoint("AWS_LAMBDA_RUNTIME_API '\(endpoint.prefix(100))' is not host:port")
        }
        self.host = host
        self.port = port
        do {
            http = try HTTPClient(idleTimeout: .seconds(30), userAgent: "DeployVerify-lambda-runtime")
        } catch {
            throw .unreachable(call: "start", reason: "cannot start the HTTP client: \(error)")
        }
    }

    /// Waits for the next event. A status other than 200 is ``LambdaRuntimeError/rejected(call:status:message:)``,
    /// an answer without a request id or a usable deadline ``LambdaRuntimeError/malformedInvocation(requestID:reason:)``.
    package func next() async throws(LambdaRuntimeError) -> LambdaInvocation {
        let response = try await exchange("next", method: "GET", path: "invocation/next", timeout: Self.nextTimeout,
                                          maxBodyBytes: Self.maxEventBytes, freshConnection: false)
        guard response.status == 200 else {
            throw .rejected(call: "next", status: response.status, message: Self.summary(of: response.body))
        }
        return try LambdaInvocation.parse(headers: response.headers, body: response.body)
    }

    /// Posts the handler's result for an invocation.
    package func respond(to requestID: String, body: [UInt8]) async throws(LambdaRuntimeError) {
        try await post("response for \(requestID)", path: "invocation/\(Self.pathSegment(requestID))/response",
                       headers: [], body: body)
    }

    /// Reports that an invocation failed, in Lambda's error format.
    package func fail(_ requestID: String, errorType: String, message: String) async throws(LambdaRuntimeError) {
        try await postError("error for \(requestID)", path: "invocation/\(Self.pathSegment(requestID))/error",
                            errorType: errorType, message: message)
    }

    /// Reports that the function could not start (bad configuration); the process should
    /// exit afterwards. Lambda serves the error in answer to the first invocation.
    package func initError(errorType: String, message: String) async throws(LambdaRuntimeError) {
        try await postError("init error", path: "init/error", errorType: errorType, message: message)
    }

    // MARK: Exchanges

    private func postError(_ call: String, path: String, errorType: String, message: String) async throws(LambdaRuntimeError) {
        let document = JSONValue.object(JSONObject([
            ("errorMessage", .string(message)),
            ("errorType", .string(errorType)),
            ("stackTrace", .array([])),
        ]))
        try await post(call, path: path, headers: [
            ("Content-Type", "application/vnd.aws.lambda.error+json"),
            ("Lambda-Runtime-Function-Error-Type", Self.headerValue(errorType)),
        ], body: Array(document.serialized.utf8))
    }

    private func post(_ call: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) async throws(LambdaRuntimeError) {
        let response = try await exchange(call, method: "POST", path: path, headers: headers, body: body,
                                          timeout: Self.postTimeout, maxBodyBytes: 1 << 20, freshConnection: true)
        guard (200..<300).contains(response.status) else {
            throw .rejected(call: call, status: response.status, message: Self.summary(of: response.body))
        }
    }

    private func exchange(_ call: String, method: String, path: String, headers: [(name: String, value: String)] = [],
                          body: [UInt8] = [], timeout: Duration, maxBodyBytes: Int,
                          freshConnection: Bool) async throws(LambdaRuntimeError) -> ClientResponse {
        let request = ClientRequest(host: host, port: port, method: method, target: "/2018-06-01/runtime/" + path,
                                    headers: headers, body: body, connectTimeout: Self.connectTimeout, timeout: timeout,
                                    maxBodyBytes: maxBodyBytes, freshConnection: freshConnection)
        switch await http.execute(request) {
        case .success(let response): return response
        case .failure(let failure): throw .unreachable(call: call, reason: ProbeFailure(failure).message)
        }
    }

    // MARK: Helpers

    /// `host:port` or `[v6]:port` → host (without brackets) and port; nil for anything else.
    package static func parseEndpoint(_ text: String) -> (host: String, port: Int)? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.isEmpty, host.utf8.allSatisfy({ byte in
                (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }) else { return nil }
        }
        guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// A request id as one path segment: RFC 3986 unreserved characters as they are, every
    /// other byte percent-encoded (an id can never break the request line).
    static func pathSegment(_ text: String) -> String {
        var segment = ""
        for byte in text.utf8 {
            let unreserved = (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if unreserved {
                segment.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                segment += (byte < 16 ? "%0" : "%") + hex
            }
        }
        return segment
    }

    /// A header value from free text: visible ASCII only, at most 200 characters.
    static func headerValue(_ text: String) -> String {
        let kept = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(200)
        let value = String(String.UnicodeScalarView(kept)).trimmed
        return value.isEmpty ? "Unhandled" : value
    }

    /// What an error answer says: `errorType: errorMessage` from Lambda's error document,
    /// otherwise the start of the body on one line.
    static func summary(of body: [UInt8]) -> String {
        if let document = try? JSONParser().parse(body) {
            let type = document["errorType"]?.stringValue, message = document["errorMessage"]?.stringValue
            switch (type, message) {
            case let (type?, message?): return "\(type): \(message)"
            case let (type?, nil): return type
            case let (nil, message?): return message
            case (nil, nil): break
            }
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .map { $0.isNewline ? " " : $0 }
        let line = String(text).trimmed
        return line.isEmpty ? "no details" : line
    }
}
