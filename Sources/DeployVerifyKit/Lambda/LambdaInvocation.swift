import Foundation
import InfoEndpoint

/// One event handed out by the Lambda Runtime API's `next` call: the headers that describe it
/// and the event document as sent.
package struct LambdaInvocation: Sendable {
    /// `Lambda-Runtime-Aws-Request-Id`: names the invocation when answering it.
    package var requestID: String
    /// `Lambda-Runtime-Deadline-Ms`: when Lambda ends the invocation (wall-clock time).
    package var deadline: Date
    /// `Lambda-Runtime-Invoked-Function-Arn`: the function, version or alias invoked.
    package var invokedFunctionARN: String?
    /// `Lambda-Runtime-Trace-Id`: the X-Ray tracing header (exported as `_X_AMZN_TRACE_ID`).
    package var traceID: String?
    /// `Lambda-Runtime-Client-Context` (invocations from the AWS Mobile SDK).
    package var clientContext: String?
    /// `Lambda-Runtime-Cognito-Identity` (invocations from the AWS Mobile SDK).
    package var cognitoIdentity: String?
    /// The event document, unparsed.
    package var body: [UInt8]

    package init(requestID: String, deadline: Date, invokedFunctionARN: String? = nil, traceID: String? = nil,
                 clientContext: String? = nil, cognitoIdentity: String? = nil, body: [UInt8] = []) {
        self.requestID = requestID
        self.deadline = deadline
        self.invokedFunctionARN = invokedFunctionARN
        self.traceID = traceID
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.body = body
    }

    /// Time left before the deadline as seen at `now` (zero once it has passed), in whole
    /// milliseconds (the deadline's precision). Hookrunner's `--timeout` comes from here.
    package func remainingTime(now: Date = Date()) -> Duration {
        let milliseconds = (deadline.timeIntervalSince(now) * 1000).rounded()
        guard milliseconds > 0 else { return .zero }
        return .milliseconds(Int64(min(milliseconds, 1e15)))
    }

    /// The event document parsed as JSON.
    package func jsonBody() throws(JSONSyntaxError) -> JSONValue {
        try JSONParser().parse(body)
    }

    /// Reads a `next` answer's headers. A missing request id, or a deadline that is missing or
    /// not a whole number of milliseconds, is ``LambdaRuntimeError/malformedInvocation(requestID:reason:)``
    /// (with the request id when there is one, so that the invocation can still be answered).
    package static func parse(headers: [(name: String, value: String)], body: [UInt8]) throws(LambdaRuntimeError) -> LambdaInvocation {
        func header(_ name: String) -> String? {
            guard let value = headers.first(where: { $0.name.caseInsensitiveEquals(name) })?.value.trimmed else { return nil }
            return value.isEmpty ? nil : value
        }
        guard let requestID = header("Lambda-Runtime-Aws-Request-Id") else {
            throw .malformedInvocation(requestID: nil, reason: "the answer to next has no Lambda-Runtime-Aws-Request-Id header")
        }
        guard let deadlineText = header("Lambda-Runtime-Deadline-Ms") else {
            throw .malformedInvocation(requestID: requestID, reason: "the answer to next has no Lambda-Runtime-Deadline-Ms header")
        }
        guard let deadline = parseDeadline(deadlineText) else {
            throw .malformedInvocation(requestID: requestID,
                                       reason: "Lambda-Runtime-Deadline-Ms '\(deadlineText.prefix(40))' is not milliseconds since the epoch")
        }
        return LambdaInvocation(requestID: requestID, deadline: deadline,
                                invokedFunctionARN: header("Lambda-Runtime-Invoked-Function-Arn"),
                                traceID: header("Lambda-Runtime-Trace-Id"),
                                clientContext: header("Lambda-Runtime-Client-Context"),
                                cognitoIdentity: header("Lambda-Runtime-Cognito-Identity"),
                                body: body)
    }

    /// `1542409706888` (Unix epoch milliseconds, 1 to 15 digits) as a date; nil for anything else.
    package static func parseDeadline(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard (1...15).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let milliseconds = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 48) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
