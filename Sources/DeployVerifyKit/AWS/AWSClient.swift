import Foundation
import InfoEndpoint

/// What went wrong calling AWS. The description names the operation and what AWS (or the network,
/// or the local configuration) said; it never contains a key, a token or a signature.
package struct AWSError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// No credentials, or a configured source of them failed.
        case credentials
        /// No region, or an endpoint setting that cannot be used.
        case configuration
        /// AWS answered with an error (`code`, `status`).
        case service
        /// No answer: refused, timed out, reset, TLS.
        case network
    }

    package var kind: Kind
    /// `DynamoDB GetItem`, `S3 GetObject s3://bucket/key`.
    package var operation: String
    /// AWS's error code: `ConditionalCheckFailedException`, `NoSuchKey`, `AccessDenied`.
    package var code: String?
    package var status: Int?
    package var message: String
    /// For a cancelled DynamoDB transaction: each write's reason (`ConditionalCheckFailed`,
    /// `None` …), in the order of the writes.
    package var cancellationReasons: [String]?

    package init(kind: Kind, operation: String, code: String? = nil, status: Int? = nil, message: String,
                 cancellationReasons: [String]? = nil) {
        self.kind = kind
        self.operation = operation
        self.code = code
        self.status = status
        self.message = message
        self.cancellationReasons = cancellationReasons
    }

    package var description: String {
        var text = "\(operation): "
        if let code, kind == .service { text += code + (message.isEmpty ? "" : ": ") }
        text += message
        if let status, kind == .service { text += " (HTTP \(status))" }
        return text
    }

    /// AWS refused the credentials or the signature, or the identity may not do this: retrying
    /// will not help, and the user must fix credentials or permissions.
    package var isAccessProblem: Bool {
        if kind == .credentials { return true }
        guard let code else { return status == 403 }
        return Self.accessCodes.contains(code)
    }

    static let accessCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
        "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
        "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException", "RequestExpired", "AuthFailure",
        "NotAuthorized", "UnauthorizedOperation",
    ]
}

/// An answer from AWS with a 2xx status.
package struct AWSResponse: Sendable {
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }
}

/// DeployVerify's own AWS client: requests signed with Signature Version 4, credentials from the
/// SDKs' standard chain, region and endpoints as the SDKs read them (`AWS_ENDPOINT_URL…` for
/// LocalStack, moto or a VPC endpoint), sent through the project's HTTP transports. Throttling,
/// 5xx and network errors are retried with jittered exponential backoff; expired credentials are
/// fetched again once.
package final class AWSClient: Sendable {
    package let region: String
    package let configuration: AWSConfiguration
    package let credentials: AWSCredentialsProvider
    private let prober: Prober
    private let retry: RetryPolicy
    private let counters = Locked([String: Int]())

    /// How failed requests are retried: `maxAttempts` in all (`AWS_MAX_ATTEMPTS`, default 5), waiting
    /// a random time up to `base` × 2^(attempt − 1), at most `cap` (full jitter).
    package struct RetryPolicy: Sendable {
        package var maxAttempts = 5
        package var base: Duration = .milliseconds(200)
        package var cap: Duration = .seconds(20)
        package init() {}
    }

    /// - Parameters:
    ///   - environment: the process environment: credentials, region, endpoints, profile, files.
    ///   - prober: the HTTP transports (a new one by default).
    /// - Throws: `.configuration` when no region is set or the shared files cannot be read.
    package init(environment: [String: String], prober: Prober? = nil, retry: RetryPolicy? = nil) throws(AWSError) {
        do {
            configuration = try AWSConfiguration.load(environment: environment)
        } catch {
            throw AWSError(kind: .configuration, operation: "AWS configuration", message: error.description)
        }
        guard let region = configuration.region else {
            throw AWSError(kind: .configuration, operation: "AWS configuration",
                           message: "no region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in the profile of ~/.aws/config)")
        }
        self.region = region
        var options = ProbeOptions()
        options.userAgent = "DeployVerify/\(DeployVerifyVersion.current)"
        options.maxRedirects = 0
        do {
            self.prober = try prober ?? Prober(options: options)
        } catch {
            throw AWSError(kind: .network, operation: "AWS client", message: "cannot start the HTTP client: \(error)")
        }
        credentials = AWSCredentialsProvider(environment: environment, prober: self.prober)
        var policy = retry ?? RetryPolicy()
        if retry == nil, let attempts = environment["AWS_MAX_ATTEMPTS"].flatMap({ Int($0.trimmed) }), (1...20).contains(attempts) {
            policy.maxAttempts = attempts
        }
        self.retry = policy
    }

    /// The base URL requests to `service` go to.
    package func endpoint(_ service: AWSService) throws(AWSError) -> AWSEndpoint {
        do {
            return try configuration.endpoint(for: service, region: region)
        } catch {
            throw AWSError(kind: .configuration, operation: "\(service) endpoint", message: error.description)
        }
    }

    /// Requests sent so far (attempts included), per service id: what a cycle costs.
    package var requestsSent: [String: Int] { counters.current }

    // MARK: Requests

    /// Sends one request to `service`, signed, retried on throttling, 5xx and network errors.
    /// - Parameters:
    ///   - operation: how messages name the call (`DynamoDB Query`).
    ///   - path: the percent-encoded path and query after the endpoint (`/bucket/key?versionId=x`).
    ///   - host: another host than the endpoint's (S3 virtual-hosted style), with the same scheme and port.
    package func send(_ service: AWSService, operation: String, method: String = "POST", host: String? = nil,
                      path: String = "/", headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                      timeout: Duration = .seconds(10), maxBodyBytes: Int = 16 << 20) async throws(AWSError) -> AWSResponse {
        let endpoint = try self.endpoint(service)
        var base = endpoint.url
        if let host, var components = URLComponents(string: endpoint.url) {
            components.host = host
            base = components.string ?? base
        }
        let url = base + (path.hasPrefix("/") ? path : "/" + path)
        let signer = SigV4Signer(service: service.signingName, region: region)
        var refreshedCredentials = false
        var attempt = 0
        while true {
            attempt += 1
            let credentials: AWSCredentials
            do {
                credentials = try await self.credentials.credentials()
            } catch {
                throw AWSError(kind: .credentials, operation: operation, message: "no usable AWS credentials: \(error.description)")
            }
            let signed: [(name: String, value: String)]
            do {
                let payload: SigV4Signer.Payload = service == .s3 && body.isEmpty ? .empty : .body(body)
                signed = try signer.sign(method: method, url: url, headers: headers, payload: payload, credentials: credentials,
                                         date: Date()).applied(to: headers)
            } catch {
                throw AWSError(kind: .configuration, operation: operation, message: error.description)
            }
            var options = prober.options
            options.method = method
            options.headers = signed
            options.body = body
            options.timeout = timeout
            options.connectTimeout = min(.seconds(3), timeout)
            options.maxBodyBytes = maxBodyBytes
            counters.withLock { $0[service.id, default: 0] += 1 }
            let result = await prober.probe(url, options: options)

            let failure: AWSError
            if let status = result.status {
                if (200..<300).contains(status) {
                    return AWSResponse(status: status, headers: result.headers, body: result.body)
                }
                failure = Self.serviceError(status: status, headers: result.headers, body: result.body, operation: operation)
                if Self.expiredCodes.contains(failure.code ?? ""), !refreshedCredentials {
                    refreshedCredentials = true
                    self.credentials.invalidate()
                    attempt -= 1
                    continue
                }
                guard Self.isRetryable(failure), attempt < retry.maxAttempts else { throw failure }
            } else {
                let probeFailure = result.failure ?? .cancelled
                failure = AWSError(kind: .network, operation: operation, code: probeFailure.className,
                                   message: "no answer from \(Redaction.url(endpoint.url)): \(probeFailure.message)")
                if probeFailure == .cancelled || Task.isCancelled { throw failure }
                guard attempt < retry.maxAttempts else { throw failure }
            }
            let ceiling = min(retry.cap.seconds, retry.base.seconds * pow(2, Double(attempt - 1)))
            do {
                try await Task.sleep(for: .milliseconds(Int64(Double.random(in: 0...ceiling) * 1000)))
            } catch {
                throw failure
            }
        }
    }

    /// An AWS JSON protocol call (`application/x-amz-json-1.0` for DynamoDB, `1.1` for CodeDeploy):
    /// `target` is `DynamoDB_20120810.GetItem`, `body` the request's JSON text.
    package func json(_ service: AWSService, target: String, version: String, body: String,
                      timeout: Duration = .seconds(10)) async throws(AWSError) -> JSONValue {
        let operation = "\(service) \(target.split(separator: ".").last.map(String.init) ?? target)"
        let response = try await send(service, operation: operation, headers: [
            ("Content-Type", "application/x-amz-json-\(version)"), ("X-Amz-Target", target),
        ], body: Array(body.utf8), timeout: timeout)
        if response.body.isEmpty { return .object(JSONObject()) }
        do {
            return try JSONParser().parse(response.body)
        } catch {
            throw AWSError(kind: .service, operation: operation, status: response.status, message: "the answer is not JSON: \(error.description)")
        }
    }

    // MARK: Errors

    static let expiredCodes: Set<String> = ["ExpiredToken", "ExpiredTokenException", "RequestExpired"]

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "ThrottledByServiceException",
    ]

    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "InternalServerError",
        "ServiceUnavailable", "ServiceUnavailableException",
    ]

    static func isRetryable(_ error: AWSError) -> Bool {
        if let code = error.code, throttlingCodes.contains(code) || transientCodes.contains(code) { return true }
        guard let status = error.status else { return error.kind == .network }
        return status == 429 || status >= 500
    }

    /// The error code and message from an error answer of any protocol: JSON (`__type`,
    /// `message`), the `x-amzn-ErrorType` header, or XML (`<Code>`, `<Message>`: S3, query APIs).
    static func serviceError(status: Int, headers: [(name: String, value: String)], body: [UInt8], operation: String) -> AWSError {
        var code: String?
        var message = ""
        var reasons: [String]?
        if let parsed = try? JSONParser().parse(body), case .object(let object) = parsed {
            code = (object["__type"] ?? object["code"] ?? object["Code"])?.stringValue
            message = (object["message"] ?? object["Message"] ?? object["errorMessage"])?.stringValue ?? ""
            reasons = object["CancellationReasons"]?.arrayValue?.map { $0["Code"]?.stringValue ?? "None" }
        } else if body.first(where: { $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }) == UInt8(ascii: "<") {
            let text = String(decoding: body, as: UTF8.self)
            code = XMLText.firstElement("Code", in: text)
            message = XMLText.firstElement("Message", in: text) ?? ""
        }
        if code == nil, let header = headers.first(where: { $0.name.caseInsensitiveEquals("x-amzn-ErrorType") })?.value {
            code = String(header.split(separator: ":").first ?? "")
        }
        // `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` → the name.
        if let full = code, let hash = full.lastIndex(of: "#") { code = String(full[full.index(after: hash)...]) }
        if code?.isEmpty == true { code = nil }
        if code == nil {
            switch status {
            case 403: code = "AccessDenied"
            case 404: code = "NotFound"
            default: break
            }
        }
        if message.isEmpty { message = "HTTP \(status)" }
        if reasons == nil, code == "TransactionCanceledException",
           let open = message.lastIndex(of: "["), let close = message.lastIndex(of: "]"), open < close {
            // Without CancellationReasons, the message lists them: "… [ConditionalCheckFailed, None]".
            reasons = message[message.index(after: open)..<close].split(separator: ",").map { $0.trimmed }
        }
        return AWSError(kind: .service, operation: operation, code: code, status: status, message: String(message.prefix(500)),
                        cancellationReasons: reasons)
    }
}

/// Reads single elements out of the small XML documents AWS answers with (errors, S3 and query
/// API results). Not a general XML parser: no DTDs, no namespaces beyond ignoring prefixes.
package enum XMLText {
    /// The text of the first `<name>…</name>` element (entities decoded), nil when there is none.
    package static func firstElement(_ name: String, in text: String) -> String? {
        elements(name, in: text).first
    }

    /// The text of every `<name>…</name>` element, in document order.
    package static func elements(_ name: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        let open = "<\(name)>", close = "</\(name)>"
        while let start = rest.range(of: open) {
            guard let end = rest.range(of: close, range: start.upperBound..<rest.endIndex) else { break }
            found.append(unescape(String(rest[start.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        return found
    }

    package static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "&", let semicolon = text[index...].prefix(11).firstIndex(of: ";"), text.distance(from: index, to: semicolon) <= 10 {
                let entity = text[text.index(after: index)..<semicolon]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                        replacement = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                        replacement = String(Character(scalar))
                    }
                }
                if let replacement {
                    result += replacement
                    index = text.index(after: semicolon)
                    continue
                }
            }
            result.append(character)
            index = text.index(after: index)
        }
        return result
    }
}
