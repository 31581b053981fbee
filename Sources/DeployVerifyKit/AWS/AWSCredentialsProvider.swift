import Foundation
import InfoEndpoint

/// Why no credentials could be had. No case or description ever holds a secret key, a session
/// token or an authorization token.
package enum AWSCredentialsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A source of the chain and why it gave nothing.
    package struct Note: Sendable, Equatable, CustomStringConvertible {
        package var source: String
        package var reason: String
        package var description: String { "\(source): \(reason)" }
    }

    /// No source had credentials: every source tried, in order, with why it gave nothing.
    case notFound([Note])
    /// A source that is configured failed; the chain stops there, as in the AWS SDKs.
    case sourceFailed(source: String, reason: String)
    /// The configuration asks for credentials DeployVerify does not obtain itself (assuming a
    /// role, IAM Identity Center, a credential process, web identity).
    case unsupported(source: String, reason: String)

    package var description: String {
        switch self {
        case .notFound(let notes):
            "no AWS credentials found: " + notes.map(\.description).joined(separator: "; ")
        case .sourceFailed(let source, let reason):
            "AWS credentials from \(source): \(reason)"
        case .unsupported(let source, let reason):
            "AWS credentials from \(source): \(reason)"
        }
    }
}

/// AWS credentials found the way the AWS SDKs' default chain finds them, first source that has
/// some:
///
/// 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
/// 2. the profile (`AWS_PROFILE`, else `default`) in the shared credentials file, then in the
///    config file: `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`;
/// 3. the container endpoint of ECS (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`) or EKS Pod
///    Identity (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`);
/// 4. the EC2 instance metadata service (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
///
/// A source that is configured but fails stops the chain with its reason. A profile or an
/// environment that asks for a kind of credentials DeployVerify does not obtain (assume role,
/// SSO, `credential_process`, web identity) is refused by name rather than skipped, so that
/// DeployVerify never acts with other credentials than the AWS CLI would.
///
/// Temporary credentials are kept and fetched again a few minutes before they expire; callers
/// that ask at the same time share one fetch.
package final class AWSCredentialsProvider: Sendable {
    /// Time limits and refresh margins (shortened by the tests).
    struct Timing: Sendable {
        /// Temporary credentials are fetched again when they have less than this left.
        var refreshBeforeExpiry: TimeInterval = 5 * 60
        /// Credentials fetched already inside that window (the service has not rotated them yet)
        /// are used for at least this long before asking again.
        var minimumRefreshInterval: TimeInterval = 30
        /// When fetching again fails, credentials with at least this much left are still used.
        var minimumRemainingOnFailure: TimeInterval = 60
        var containerTimeout: Duration = .seconds(2)
        var containerAttempts = 3
        var containerRetryDelay: Duration = .seconds(1)
        var metadataConnectTimeout: Duration = .seconds(1)
        var metadataTimeout: Duration = .seconds(2)
        /// One retry; none when nothing answered at all (not an EC2 instance).
        var metadataAttempts = 2
        var metadataRetryDelay: Duration = .milliseconds(200)
    }

    private struct State {
        var cached: (credentials: AWSCredentials, refreshAt: Date)?
        var inFlight: Task<Result<AWSCredentials, AWSCredentialsError>, Never>?
        /// Raised by `invalidate()`: a fetch started before does not fill the cache.
        var generation = 0
    }

    /// How one source of the chain ended.
    private enum Outcome {
        case found(AWSCredentials)
        case nothing(String)
        case failed(AWSCredentialsError)
    }

    private let environment: [String: String]
    private let prober: Prober
    private let timing: Timing
    private let state = Locked(State())

    static let containerHost = "169.254.170.2"
    static let metadataEndpoint = "http://169.254.169.254"
    static let metadataEndpointIPv6 = "http://[fd00:ec2::254]"

    /// - Parameters:
    ///   - environment: the process environment (the variables above, `HOME`,
    ///     `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, `AWS_PROFILE` …).
    ///   - prober: reads the container and instance metadata endpoints.
    package convenience init(environment: [String: String], prober: Prober) {
        self.init(environment: environment, prober: prober, timing: Timing())
    }

    init(environment: [String: String], prober: Prober, timing: Timing) {
        self.environment = environment
        self.prober = prober
        self.timing = timing
    }

    /// Credentials to sign a request with: the ones kept while they have some minutes left,
    /// otherwise fetched (once, whoever else is asking at the same time).
    package func credentials() async throws(AWSCredentialsError) -> AWSCredentials {
        let now = Date()
        enum Next {
            case ready(AWSCredentials)
            case wait(Task<Result<AWSCredentials, AWSCredentialsError>, Never>)
        }
        let next = state.withLock { state -> Next in
            if let cached = state.cached, now < cached.refreshAt { return .ready(cached.credentials) }
            if let inFlight = state.inFlight { return .wait(inFlight) }
            let generation = state.generation
            let previous = state.cached?.credentials
            let task = Task { await self.refresh(generation: generation, previous: previous) }
            state.inFlight = task
            return .wait(task)
        }
        switch next {
        case .ready(let credentials):
            return credentials
        case .wait(let task):
            switch await task.value {
            case .success(let credentials): return credentials
            case .failure(let error): throw error
            }
        }
    }

    /// Forgets the credentials kept, so that the next call looks for credentials again (AWS
    /// answered `ExpiredToken`, or the files were changed).
    package func invalidate() {
        state.withLock { state in
            state.generation += 1
            state.cached = nil
            state.inFlight = nil
        }
    }

    private func refresh(generation: Int, previous: AWSCredentials?) async -> Result<AWSCredentials, AWSCredentialsError> {
        let result = await resolve()
        let now = Date()
        return state.withLock { state in
            let isCurrent = state.generation == generation
            if isCurrent { state.inFlight = nil }
            switch result {
            case .success(let credentials):
                if isCurrent { state.cached = (credentials, refreshTime(credentials.expiration, now: now)) }
                return result
            case .failure:
                // Credentials with some time left serve while the source is down, as in the SDKs.
                if let previous, let expiration = previous.expiration,
                   expiration.timeIntervalSince(now) >= timing.minimumRemainingOnFailure {
                    if isCurrent {
                        state.cached = (previous, min(now.addingTimeInterval(timing.minimumRefreshInterval), expiration))
                    }
                    return .success(previous)
                }
                if isCurrent { state.cached = nil }
                return result
            }
        }
    }

    /// When to fetch again: `refreshBeforeExpiry` ahead of the expiration, but not sooner than
    /// `minimumRefreshInterval` from now (and never after the expiration).
    func refreshTime(_ expiration: Date?, now: Date) -> Date {
        guard let expiration else { return .distantFuture }
        let planned = expiration.addingTimeInterval(-timing.refreshBeforeExpiry)
        if planned > now { return planned }
        return min(now.addingTimeInterval(timing.minimumRefreshInterval), expiration)
    }

    // MARK: - The chain

    private func resolve() async -> Result<AWSCredentials, AWSCredentialsError> {
        var notes: [AWSCredentialsError.Note] = []
        func step(_ source: String, _ outcome: Outcome) -> Result<AWSCredentials, AWSCredentialsError>? {
            switch outcome {
            case .found(let credentials): return .success(credentials)
            case .failed(let error): return .failure(error)
            case .nothing(let reason):
                notes.append(AWSCredentialsError.Note(source: source, reason: reason))
                return nil
            }
        }
        if let done = step("environment", fromEnvironment()) { return done }
        if let refusal = webIdentityRefusal() { return .failure(refusal) }
        let profile = fromProfile()
        if let done = step(profile.source, profile.outcome) { return done }
        if let done = step("container", await fromContainer()) { return done }
        if let done = step("EC2 instance metadata", await fromInstanceMetadata()) { return done }
        return .failure(.notFound(notes))
    }

    private func value(_ name: String) -> String? {
        guard let value = environment[name]?.trimmed, !value.isEmpty else { return nil }
        return value
    }

    private func fromEnvironment() -> Outcome {
        guard let accessKey = value("AWS_ACCESS_KEY_ID") else { return .nothing("AWS_ACCESS_KEY_ID is not set") }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            return .failed(.sourceFailed(source: "environment", reason: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"))
        }
        return .found(AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret,
                                     sessionToken: value("AWS_SESSION_TOKEN") ?? value("AWS_SECURITY_TOKEN"),
                                     source: "environment"))
    }

    /// EKS IAM roles for service accounts: the SDKs would assume the role with the token; going
    /// on to other credentials (the node's role) would act as someone else.
    private func webIdentityRefusal() -> AWSCredentialsError? {
        guard value("AWS_WEB_IDENTITY_TOKEN_FILE") != nil, value("AWS_ROLE_ARN") != nil else { return nil }
        return .unsupported(source: "environment", reason: "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set (web identity, "
            + "as with EKS IAM roles for service accounts), which DeployVerify does not support; use EKS Pod Identity "
            + "(AWS_CONTAINER_CREDENTIALS_FULL_URI) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    }

    /// Settings that make a profile one of the kinds the SDKs resolve by other means than keys.
    private static func unsupportedKind(_ section: AWSINIFile.Section) -> (key: String, kind: String)? {
        let kinds: [(String, String)] = [
            ("role_arn", "assuming a role"), ("credential_process", "credentials from a command"),
            ("web_identity_token_file", "web identity"),
        ]
        for (key, kind) in kinds where section.value(key) != nil { return (key, kind) }
        if let key = section.settings.keys.sorted().first(where: { $0.hasPrefix("sso_") && section.value($0) != nil }) {
            return (key, "single sign-on with IAM Identity Center")
        }
        return nil
    }

    private func fromProfile() -> (source: String, outcome: Outcome) {
        let files: AWSConfigFiles
        do {
            files = try AWSConfigFiles.load(environment: environment)
        } catch {
            let name = value("AWS_PROFILE") ?? "default"
            return ("profile '\(name)'", .failed(.sourceFailed(source: "profile '\(name)'", reason: error.description)))
        }
        let name = files.profileName
        let source = "profile '\(name)'"
        let named = files.profileIsExplicit ? " (AWS_PROFILE)" : ""
        guard files.credentials.contents != nil || files.config.contents != nil else {
            let reason = files.credentials.path == nil && files.config.path == nil
                ? "HOME is not set and neither AWS_SHARED_CREDENTIALS_FILE nor AWS_CONFIG_FILE is"
                : "no \(files.bothDisplayNames)"
            if files.profileIsExplicit {
                return (source, .failed(.sourceFailed(source: source + named, reason: reason)))
            }
            return (source, .nothing(reason))
        }
        let sections = [(files.credentialsProfile(name), files.credentials.displayName),
                        (files.configProfile(name), files.config.displayName)]
        guard sections.contains(where: { $0.0 != nil }) else {
            let reason = "not in \(files.bothDisplayNames)"
            if files.profileIsExplicit {
                return (source, .failed(.sourceFailed(source: source + named, reason: reason)))
            }
            return (source, .nothing(reason))
        }
        for case let (section?, file) in sections {
            if let (key, kind) = Self.unsupportedKind(section) {
                return (source, .failed(.unsupported(
                    source: "\(source) (\(file))",
                    reason: "the profile uses \(key) (\(kind)), which DeployVerify does not support: it reads only "
                        + "aws_access_key_id, aws_secret_access_key and aws_session_token from a profile. Export the "
                        + "credentials instead: eval \"$(aws configure export-credentials --profile \(name) --format env)\"")))
            }
        }
        for case let (section?, file) in sections {
            guard let accessKey = section.value("aws_access_key_id") else { continue }
            let origin = "\(source) (\(file))"
            guard let secret = section.value("aws_secret_access_key") else {
                return (source, .failed(.sourceFailed(source: origin, reason: "aws_access_key_id is set but aws_secret_access_key is not")))
            }
            return (source, .found(AWSCredentials(
                accessKeyID: accessKey, secretAccessKey: secret,
                sessionToken: section.value("aws_session_token") ?? section.value("aws_security_token"), source: origin)))
        }
        let places = sections.compactMap { $0.0 == nil ? nil : $0.1 }.joined(separator: " and ")
        return (source, .nothing("has no aws_access_key_id (in \(places))"))
    }

    // MARK: - Container credentials (ECS, EKS Pod Identity)

    private func fromContainer() async -> Outcome {
        let url: String
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://\(Self.containerHost)" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            url = full
            if let refusal = Self.refusalOfFullURI(full) {
                return .failed(.sourceFailed(source: "container credentials", reason: refusal))
            }
        } else {
            return .nothing("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set")
        }
        let source = "container credentials (\(Redaction.url(url)))"
        func failed(_ reason: String) -> Outcome { .failed(.sourceFailed(source: source, reason: reason)) }

        // Read at each fetch: EKS Pod Identity rotates the token in the file.
        var authorization: String?
        if let file = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                return failed("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '\(file)'")
            }
            authorization = String(decoding: data, as: UTF8.self).trimmed
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.trimmed.isEmpty {
            authorization = token.trimmed
        }
        if let authorization, authorization.contains(where: { $0 == "\r" || $0 == "\n" }) {
            return failed("the authorization token is not a legal header value (it contains a line break)")
        }
        var redactor = Redactor()
        if let authorization { redactor.add(authorization) }

        var options = metadataOptions(timeout: timing.containerTimeout, connectTimeout: min(timing.containerTimeout, .seconds(1)))
        options.headers = [("Accept", "application/json")] + (authorization.map { [("Authorization", $0)] } ?? [])
        let result = await fetch(url, options: options, attempts: timing.containerAttempts, delay: timing.containerRetryDelay,
                                 retryUnreachable: true)
        guard let status = result.status else {
            return failed("the endpoint could not be read: \(result.failure.map { redactor.redact($0.message) } ?? "no answer")")
        }
        guard status == 200 else {
            return failed("the endpoint answered HTTP \(status)" + Self.errorDetail(result.body, redactor: redactor))
        }
        switch Self.parseCredentials(result, requireSessionFields: false, source: "container credentials", now: Date()) {
        case .success(let credentials): return .found(credentials)
        case .failure(let reason): return failed(reason.description)
        }
    }

    /// Why `AWS_CONTAINER_CREDENTIALS_FULL_URI` cannot be used; nil when it can. Plain http
    /// only to loopback, the ECS address or the EKS Pod Identity addresses, as in the SDKs.
    static func refusalOfFullURI(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              var host = components.host?.lowercased(), !host.isEmpty else {
            return "AWS_CONTAINER_CREDENTIALS_FULL_URI '\(Redaction.url(String(text.prefix(200))))' is not a URL with a host"
        }
        if scheme == "https" { return nil }
        guard scheme == "http" else {
            return "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http:// or https:// URL"
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let isLoopback = host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" || isIPv4Loopback(host)
        let allowed = [containerHost, "169.254.170.23", "fd00:ec2::23"]
        if isLoopback || allowed.contains(host) { return nil }
        return "AWS_CONTAINER_CREDENTIALS_FULL_URI has the host '\(host)': plain http is allowed only to a loopback "
            + "address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https for any other host"
    }

    private static func isIPv4Loopback(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil })
        else { return false }
        return parts[0] == "127"
    }

    // MARK: - EC2 instance metadata (IMDSv2)

    private func fromInstanceMetadata() async -> Outcome {
        if value("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" {
            return .nothing("disabled by AWS_EC2_METADATA_DISABLED")
        }
        var base = value("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            ?? (value("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.lowercased() == "ipv6" ? Self.metadataEndpointIPv6 : Self.metadataEndpoint)
        while base.hasSuffix("/") { base.removeLast() }
        let source = "EC2 instance metadata (\(Redaction.url(base)))"
        func failed(_ reason: String) -> Outcome { .failed(.sourceFailed(source: source, reason: reason)) }

        var tokenOptions = metadataOptions(timeout: timing.metadataTimeout, connectTimeout: timing.metadataConnectTimeout)
        tokenOptions.method = "PUT"
        tokenOptions.headers = [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]
        let tokenResult = await fetch(base + "/latest/api/token", options: tokenOptions, attempts: timing.metadataAttempts,
                                      delay: timing.metadataRetryDelay, retryUnreachable: false)
        guard let tokenStatus = tokenResult.status else {
            let why = tokenResult.failure?.message ?? "no answer"
            return .nothing("no answer from \(Redaction.url(base)) (\(why)): not an EC2 instance, or its metadata service is off")
        }
        let token = String(decoding: tokenResult.body, as: UTF8.self).trimmed
        switch tokenStatus {
        case 200 where !token.isEmpty && !token.contains(where: { $0 == "\r" || $0 == "\n" }):
            break
        case 200:
            return failed("the session token request (PUT /latest/api/token) gave no usable token")
        case 403, 404, 405:
            return .nothing("\(Redaction.url(base)) answered HTTP \(tokenStatus) to the IMDSv2 session token request "
                + "(PUT /latest/api/token): no IMDSv2 there (IMDSv1 is not used)")
        default:
            return failed("the session token request (PUT /latest/api/token) was answered HTTP \(tokenStatus)")
        }
        var redactor = Redactor()
        redactor.add(token)

        var options = metadataOptions(timeout: timing.metadataTimeout, connectTimeout: timing.metadataConnectTimeout)
        options.headers = [("X-aws-ec2-metadata-token", token)]
        let listPath = "/latest/meta-data/iam/security-credentials/"
        let roles = await fetch(base + listPath, options: options, attempts: timing.metadataAttempts,
                                delay: timing.metadataRetryDelay, retryUnreachable: true)
        guard let rolesStatus = roles.status else {
            return failed("GET \(listPath) failed: \(roles.failure.map { redactor.redact($0.message) } ?? "no answer")")
        }
        let role = String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { $0.trimmed } ?? ""
        if rolesStatus == 404 || (rolesStatus == 200 && role.isEmpty) {
            return .nothing("the instance has no IAM role (instance profile)")
        }
        guard rolesStatus == 200 else {
            return failed("GET \(listPath) was answered HTTP \(rolesStatus)" + Self.errorDetail(roles.body, redactor: redactor))
        }
        let isRoleName = role.count <= 128 && role.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "+=,.@_-".unicodeScalars.contains(scalar))
        }
        guard isRoleName else { return failed("GET \(listPath) did not give a role name") }

        let answer = await fetch(base + listPath + role, options: options, attempts: timing.metadataAttempts,
                                 delay: timing.metadataRetryDelay, retryUnreachable: true)
        guard let status = answer.status else {
            return failed("GET \(listPath)\(role) failed: \(answer.failure.map { redactor.redact($0.message) } ?? "no answer")")
        }
        guard status == 200 else {
            return failed("GET \(listPath)\(role) was answered HTTP \(status)" + Self.errorDetail(answer.body, redactor: redactor))
        }
        switch Self.parseCredentials(answer, requireSessionFields: true, source: "EC2 instance metadata (role '\(role)')", now: Date()) {
        case .success(let credentials): return .found(credentials)
        case .failure(let reason): return failed("role '\(role)': \(reason.description)")
        }
    }

    // MARK: - HTTP

    private func metadataOptions(timeout: Duration, connectTimeout: Duration) -> ProbeOptions {
        var options = prober.options
        options.method = "GET"
        options.body = []
        options.timeout = timeout
        options.connectTimeout = connectTimeout
        // A redirect would carry the Authorization header elsewhere: it is an error instead.
        options.maxRedirects = 0
        options.maxBodyBytes = 64 * 1024
        return options
    }

    /// One request, retried after `delay` on 5xx, 429 and network errors. A connection that
    /// never came about (refused, unreachable, connect timeout) is retried only when
    /// `retryUnreachable` is set: on a machine that is not an EC2 instance one try is enough.
    private func fetch(_ url: String, options: ProbeOptions, attempts: Int, delay: Duration,
                       retryUnreachable: Bool) async -> ProbeResult {
        var attempt = 1
        while true {
            let result = await prober.probe(url, options: options, freshConnection: true)
            let retryable: Bool
            if let status = result.status {
                retryable = status >= 500 || status == 429
            } else {
                switch result.failure {
                case .refused, .connectFailed, .dns: retryable = retryUnreachable
                case .timeout where result.timings.connect == nil: retryable = retryUnreachable
                case .invalidURL, .cancelled, .tls, nil: retryable = false
                default: retryable = true
                }
            }
            guard retryable, attempt < attempts, !Task.isCancelled else { return result }
            attempt += 1
            try? await Task.sleep(for: delay)
        }
    }

    /// `: code: message` from a JSON error body (`{"code": …, "message": …}` or `Code`/`Message`),
    /// or the start of a text body, with known secrets masked; empty when there is nothing to show.
    private static func errorDetail(_ body: [UInt8], redactor: Redactor) -> String {
        guard !body.isEmpty else { return "" }
        if let document = try? JSONParser().parse(body) {
            let code = (document["code"] ?? document["Code"])?.scalarText
            let message = (document["message"] ?? document["Message"])?.scalarText
            let parts = [code, message].compactMap { $0 }.map { String($0.prefix(200)) }
            return parts.isEmpty ? "" : ": " + redactor.redact(parts.joined(separator: ": "))
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmed
            .map { $0.isNewline ? " " : $0 }
        return text.isEmpty ? "" : ": " + redactor.redact(String(text))
    }

    /// `{AccessKeyId, SecretAccessKey, Token, Expiration}`; on failure a reason that quotes
    /// nothing from the body. The instance metadata service must give all four (and
    /// `Code: Success` when it gives a code).
    static func parseCredentials(_ result: ProbeResult, requireSessionFields: Bool, source: String,
                                 now: Date) -> Result<AWSCredentials, ReasonText> {
        guard let document = try? JSONParser().parse(result.body), document.objectValue != nil else {
            let type = result.header("Content-Type").map { ", \($0.prefix(60))" } ?? ""
            return .failure(ReasonText("the answer (\(result.body.count) bytes\(type)) is not a JSON object"))
        }
        if let code = document["Code"]?.stringValue, code != "Success" {
            let message = document["Message"]?.stringValue.map { ": " + String($0.prefix(200)) } ?? ""
            return .failure(ReasonText("the answer is an error: \(code.prefix(100))\(message)"))
        }
        var missing: [String] = []
        func field(_ name: String, required: Bool) -> String? {
            if let text = document[name]?.stringValue, !text.isEmpty { return text }
            if required { missing.append(name) }
            return nil
        }
        let accessKey = field("AccessKeyId", required: true)
        let secret = field("SecretAccessKey", required: true)
        let token = field("Token", required: requireSessionFields)
        let expirationText = field("Expiration", required: requireSessionFields)
        guard missing.isEmpty, let accessKey, let secret else {
            return .failure(ReasonText("the answer has no \(missing.joined(separator: ", "))"))
        }
        var expiration: Date?
        if let expirationText {
            guard let date = Timestamps.parse(expirationText) else {
                return .failure(ReasonText("Expiration '\(expirationText.prefix(40))' is not an ISO 8601 time"))
            }
            guard date > now else {
                return .failure(ReasonText("the credentials it gave expired at \(Timestamps.iso8601(date))"))
            }
            expiration = date
        }
        return .success(AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: token,
                                       expiration: expiration, source: source))
    }

    /// A failure reason, as an `Error` for `Result`.
    struct ReasonText: Error, Sendable, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
