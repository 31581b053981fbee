import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import DeployVerifyKit

// Secrets used throughout: none of them may appear in any error's description.
private let envSecret = "ENVwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
private let profileSecret = "PROFILEwJalrXUtnFEMI/K7MDENG+bPxRfiCYKEY"
private let configSecret = "CONFIGwJalrXUtnFEMI/K7MDENG+bPxRfiCYKEY"
private let containerSecret = "CONTAINERwJalrXUtnFEMI/K7MDENG/bPxRfiCY"
private let instanceSecret = "INSTANCEwJalrXUtnFEMI/K7MDENG/bPxRfiCY"
private let sessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN=="
private let authorizationToken = "auth-token-3f9a1c7e5b"
private let metadataToken = "AQAEAIMDSv2-session-token-77"
private let allSecrets = [envSecret, profileSecret, configSecret, containerSecret, instanceSecret, sessionToken,
                          authorizationToken, metadataToken]

/// A temporary HOME with its own credentials and config files: no test reads the real ~/.aws.
private final class Sandbox {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "awscreds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/home", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var home: String { directory + "/home" }
    var credentialsPath: String { directory + "/credentials" }
    var configPath: String { directory + "/config" }

    func write(credentials: String? = nil, config: String? = nil) throws {
        if let credentials { try credentials.write(toFile: credentialsPath, atomically: true, encoding: .utf8) }
        if let config { try config.write(toFile: configPath, atomically: true, encoding: .utf8) }
    }

    /// HOME and both files in the sandbox, instance metadata off; `extra` on top.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HOME": home, "AWS_SHARED_CREDENTIALS_FILE": credentialsPath, "AWS_CONFIG_FILE": configPath,
         "AWS_EC2_METADATA_DISABLED": "true"].merging(extra) { _, new in new }
    }

    /// Instance metadata on, pointed at a local server.
    func environment(metadata server: ScriptedServer, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = self.environment(extra)
        environment["AWS_EC2_METADATA_DISABLED"] = nil
        environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url("")
        return environment
    }
}

private var fastTiming: AWSCredentialsProvider.Timing {
    var timing = AWSCredentialsProvider.Timing()
    timing.containerRetryDelay = .milliseconds(10)
    timing.metadataRetryDelay = .milliseconds(10)
    return timing
}

/// A provider over a fresh prober; refuses environments that could reach 169.254.x.x or ~/.aws.
private func provider(_ environment: [String: String], timing: AWSCredentialsProvider.Timing = fastTiming) throws -> AWSCredentialsProvider {
    let metadataIsLocal = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        || environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"]?.hasPrefix("http://127.0.0.1:") == true
    try #require(metadataIsLocal, "the test environment could reach the real instance metadata service")
    try #require(environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == nil, "the test would contact 169.254.170.2")
    try #require(environment["HOME"]?.hasPrefix(NSTemporaryDirectory()) == true)
    return AWSCredentialsProvider(environment: environment, prober: try Prober(), timing: timing)
}

private func credentialsJSON(key: String = "ASIACONTAINERKEY0001", secret: String = containerSecret,
                             token: String = sessionToken, expiresIn: TimeInterval = 3600) -> String {
    #"{"AccessKeyId":"\#(key)","SecretAccessKey":"\#(secret)","Token":"\#(token)","Expiration":"\#(Timestamps.iso8601(Date().addingTimeInterval(expiresIn)))"}"#
}

/// The error `credentials()` throws; records an issue when it returns credentials instead.
private func failure(_ provider: AWSCredentialsProvider, sourceLocation: SourceLocation = #_sourceLocation) async -> AWSCredentialsError? {
    do {
        let credentials = try await provider.credentials()
        Issue.record("expected an error, got \(credentials)", sourceLocation: sourceLocation)
        return nil
    } catch {
        expectNoSecrets(error.description, sourceLocation: sourceLocation)
        return error
    }
}

private func expectNoSecrets(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for secret in allSecrets {
        #expect(!text.contains(secret), "a secret in: \(text)", sourceLocation: sourceLocation)
    }
}

/// A stand-in for IMDSv2: token, role list, the role's credentials.
private func metadataServer(role: String = "deploy-role", credentials: @escaping @Sendable () -> InfoResponse = {
    ScriptedServer.json(credentialsJSON(key: "ASIAINSTANCEKEY00001", secret: instanceSecret))
}) throws -> ScriptedServer {
    try ScriptedServer { request, _ in
        switch (request.method, request.path) {
        case ("PUT", "/latest/api/token"): return ScriptedServer.text(metadataToken)
        case ("GET", "/latest/meta-data/iam/security-credentials/"): return ScriptedServer.text(role + "\n")
        case ("GET", "/latest/meta-data/iam/security-credentials/" + role): return credentials()
        default: return ScriptedServer.text("not found", status: 404)
        }
    }
}

@Suite("AWS shared config files")
struct AWSConfigFilesTests {
    @Test func parsesSectionsCommentsAndWhitespace() throws {
        let text = """
        # a comment
        ; another
        [default]
          aws_access_key_id=AKIDDEFAULT
          aws_secret_access_key   =   with#hash;semi   \r
        region = eu-west-1 # trailing comment
        Output: json
        \t
        [profile   ci]  ; comment after the header
        region = us-east-2
        s3 =
          addressing_style = path
          not a setting
          max_concurrent_requests=4
        role_session_name = first
          second line
        [profile ci]
        output = text
        [ci]
        """
        let file = try AWSINIFile.parse(text, file: "config")
        let defaults = try #require(file.sections["default"])
        #expect(defaults.settings["aws_access_key_id"] == "AKIDDEFAULT")
        // `#` and `;` start a comment only after whitespace.
        #expect(defaults.settings["aws_secret_access_key"] == "with#hash;semi")
        #expect(defaults.settings["region"] == "eu-west-1")
        #expect(defaults.settings["output"] == "json")
        let ci = try #require(file.sections["profile ci"])
        #expect(ci.settings["region"] == "us-east-2")
        #expect(ci.nested["s3"] == ["addressing_style": "path", "max_concurrent_requests": "4"])
        #expect(ci.settings["role_session_name"] == "first\nsecond line")
        #expect(ci.settings["output"] == "text", "a repeated section is merged")
        #expect(file.sections["ci"] == AWSINIFile.Section())
        #expect(file.sections.count == 3)

        let windows = try AWSINIFile.parse("[default]\r\nregion = eu-west-1\r\ns3 =\r\n  addressing_style = path\r\n", file: "config")
        #expect(windows.sections["default"] == AWSINIFile.Section(settings: ["region": "eu-west-1", "s3": ""],
                                                                  nested: ["s3": ["addressing_style": "path"]]))
        #expect(try AWSINIFile.parse("", file: "config") == AWSINIFile())
    }

    @Test(arguments: [
        ("key = value\n[default]", 1, "before any [section]"),
        ("[default]\n\njust words", 3, "expected 'name = value'"),
        ("[default\nkey = value", 1, "without ']'"),
        ("[]", 1, "empty section name"),
        ("[default] junk", 1, "after the section header"),
        ("[default]\n = value", 2, "without a name"),
    ])
    func rejectsMalformedLinesWithoutQuotingThem(text: String, line: Int, reason: String) {
        #expect {
            try AWSINIFile.parse(text, file: "~/.aws/config")
        } throws: { error in
            guard let error = error as? AWSConfigFileError else { return false }
            return error.line == line && error.reason.contains(reason) && error.description.hasPrefix("~/.aws/config line \(line): ")
                && !error.description.contains("junk") && !error.description.contains("just words")
        }
    }

    @Test func findsTheFilesFromTheEnvironment() throws {
        let sandbox = try Sandbox()
        // Defaults under HOME, shown with ~.
        var files = try AWSConfigFiles.load(environment: ["HOME": sandbox.home])
        #expect(files.credentials.path == sandbox.home + "/.aws/credentials")
        #expect(files.credentials.displayName == "~/.aws/credentials")
        #expect(files.config.displayName == "~/.aws/config")
        #expect(files.credentials.contents == nil && files.config.contents == nil)
        #expect(files.profileName == "default" && !files.profileIsExplicit)

        try FileManager.default.createDirectory(atPath: sandbox.home + "/.aws", withIntermediateDirectories: true)
        try "[default]\naws_access_key_id = AKIDHOME\n".write(toFile: sandbox.home + "/.aws/credentials", atomically: true, encoding: .utf8)
        files = try AWSConfigFiles.load(environment: ["HOME": sandbox.home, "AWS_PROFILE": " ci "])
        #expect(files.credentialsProfile("default")?.settings["aws_access_key_id"] == "AKIDHOME")
        #expect(files.profileName == "ci" && files.profileIsExplicit)

        // The variables win; ~ in them is HOME.
        files = try AWSConfigFiles.load(environment: ["HOME": sandbox.home, "AWS_SHARED_CREDENTIALS_FILE": "~/elsewhere",
                                                      "AWS_CONFIG_FILE": sandbox.configPath])
        #expect(files.credentials.path == sandbox.home + "/elsewhere")
        #expect(files.credentials.displayName == "~/elsewhere")
        #expect(files.config.path == sandbox.configPath)
        #expect(files.config.displayName == sandbox.configPath)

        // Without HOME and variables there is nothing to read.
        files = try AWSConfigFiles.load(environment: [:])
        #expect(files.credentials.path == nil && files.config.path == nil)

        // A directory where the file should be is an error.
        #expect(throws: AWSConfigFileError.self) {
            try AWSConfigFiles.load(environment: ["HOME": sandbox.home, "AWS_CONFIG_FILE": sandbox.home])
        }
    }

    @Test func profilesOfTheConfigFile() throws {
        let config = """
        [default]
        region = eu-west-1
        output = json
        [profile default]
        region = eu-central-1
        [profile ci]
        region = us-east-1
        [ci]
        region = not-a-profile
        [services local]
        s3 =
          endpoint_url = http://127.0.0.1:4566
        """
        let files = try AWSConfigFiles(environment: [:], credentialsText: "[profile x]\na = b\n[ci]\nc = d", configText: config)
        #expect(files.configProfile("default")?.settings == ["region": "eu-central-1", "output": "json"])
        #expect(files.configProfile("ci")?.settings["region"] == "us-east-1")
        #expect(files.configProfile("x") == nil)
        #expect(files.credentialsProfile("ci")?.settings["c"] == "d")
        #expect(files.credentialsProfile("x") == nil, "[profile x] is not how the credentials file names a profile")
        #expect(files.servicesSection("local")?.nested["s3"]?["endpoint_url"] == "http://127.0.0.1:4566")
    }
}

@Suite("AWS credentials provider chain")
struct AWSCredentialsProviderTests {
    @Test func theEnvironmentBeatsTheProfileWhichBeatsTheContainerWhichBeatsInstanceMetadata() async throws {
        let sandbox = try Sandbox()
        try sandbox.write(credentials: "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = \(profileSecret)\n")
        let container = try ScriptedServer { _, _ in ScriptedServer.json(credentialsJSON()) }
        let metadata = try metadataServer()
        let containerSettings = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url("/creds")]
        let keys = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": envSecret, "AWS_SESSION_TOKEN": sessionToken]

        let fromEnvironment = try await provider(sandbox.environment(metadata: metadata, keys.merging(containerSettings) { a, _ in a }))
            .credentials()
        #expect(fromEnvironment == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: envSecret, sessionToken: sessionToken,
                                                  source: "environment"))

        let fromProfile = try await provider(sandbox.environment(metadata: metadata, containerSettings)).credentials()
        #expect(fromProfile.accessKeyID == "AKIDPROFILE" && fromProfile.secretAccessKey == profileSecret)
        #expect(fromProfile.sessionToken == nil && fromProfile.expiration == nil)
        #expect(fromProfile.source == "profile 'default' (\(sandbox.credentialsPath))")
        #expect(container.requests.isEmpty && metadata.requests.isEmpty)

        try FileManager.default.removeItem(atPath: sandbox.credentialsPath)
        let fromContainer = try await provider(sandbox.environment(metadata: metadata, containerSettings)).credentials()
        #expect(fromContainer.accessKeyID == "ASIACONTAINERKEY0001" && fromContainer.sessionToken == sessionToken)
        #expect(fromContainer.source == "container credentials")
        #expect(container.requests.count == 1 && metadata.requests.isEmpty)

        let fromInstance = try await provider(sandbox.environment(metadata: metadata)).credentials()
        #expect(fromInstance.accessKeyID == "ASIAINSTANCEKEY00001" && fromInstance.secretAccessKey == instanceSecret)
        #expect(fromInstance.source == "EC2 instance metadata (role 'deploy-role')")
        #expect(container.requests.count == 1 && metadata.requests.count == 3)
        expectNoSecrets(fromInstance.description)
        await container.stop()
        await metadata.stop()
    }

    @Test func awsProfileChoosesTheProfileInTheCredentialsAndTheConfigFile() async throws {
        let sandbox = try Sandbox()
        try sandbox.write(credentials: """
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = \(profileSecret)
            [ci]
            aws_access_key_id = AKIDCI
            aws_secret_access_key = \(profileSecret)
            aws_session_token = \(sessionToken)
            """, config: """
            [profile ci]
            aws_access_key_id = AKIDCICONFIG
            aws_secret_access_key = \(configSecret)
            [profile staging]
            region = eu-west-1
            aws_access_key_id = AKIDSTAGING
            aws_secret_access_key = \(configSecret)
            """)
        let ci = try await provider(sandbox.environment(["AWS_PROFILE": "ci"])).credentials()
        #expect(ci.accessKeyID == "AKIDCI" && ci.sessionToken == sessionToken, "the credentials file comes before the config file")
        #expect(ci.source == "profile 'ci' (\(sandbox.credentialsPath))")
        let staging = try await provider(sandbox.environment(["AWS_PROFILE": "staging"])).credentials()
        #expect(staging.accessKeyID == "AKIDSTAGING" && staging.secretAccessKey == configSecret)
        #expect(staging.source == "profile 'staging' (\(sandbox.configPath))")
        #expect(try await provider(sandbox.environment()).credentials().accessKeyID == "AKIDDEFAULT")

        // A profile AWS_PROFILE names must exist: no other credentials are used instead.
        let error = await failure(try provider(sandbox.environment(["AWS_PROFILE": "prod"])))
        #expect(error == .sourceFailed(source: "profile 'prod' (AWS_PROFILE)",
                                       reason: "not in \(sandbox.credentialsPath) or \(sandbox.configPath)"))
    }

    @Test(arguments: [
        ("role_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base", "role_arn", "assuming a role"),
        ("credential_process = /usr/local/bin/creds --json", "credential_process", "credentials from a command"),
        ("sso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Deploy", "sso_account_id", "single sign-on with IAM Identity Center"),
        ("web_identity_token_file = /var/run/token\nrole_arn2 = x", "web_identity_token_file", "web identity"),
    ])
    func unsupportedProfilesAreRefusedByName(settings: String, key: String, kind: String) async throws {
        let sandbox = try Sandbox()
        try sandbox.write(credentials: "[deploy]\naws_access_key_id = AKIDDEPLOY\naws_secret_access_key = \(profileSecret)\n",
                          config: "[profile deploy]\nregion = eu-west-1\n\(settings)\n")
        let container = try ScriptedServer { _, _ in ScriptedServer.json(credentialsJSON()) }
        let environment = sandbox.environment(["AWS_PROFILE": "deploy", "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url("/creds")])
        let error = try #require(await failure(try provider(environment)))
        guard case .unsupported(let source, let reason) = error else {
            Issue.record("expected .unsupported, got \(error)")
            return
        }
        #expect(source == "profile 'deploy' (\(sandbox.configPath))")
        #expect(reason.contains("uses \(key) (\(kind))"))
        #expect(reason.contains("aws configure export-credentials --profile deploy"))
        #expect(error.description.hasPrefix("AWS credentials from profile 'deploy' (\(sandbox.configPath)): the profile uses \(key)"))
        #expect(container.requests.isEmpty, "an unsupported profile must not fall through to other credentials")
        await container.stop()
    }

    @Test func webIdentityInTheEnvironmentIsRefused() async throws {
        let sandbox = try Sandbox()
        try sandbox.write(credentials: "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = \(profileSecret)\n")
        let error = await failure(try provider(sandbox.environment([
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/pod", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token",
        ])))
        guard case .unsupported(source: "environment", let reason)? = error else {
            Issue.record("expected .unsupported from the environment, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
        // Keys in the environment still come first.
        let keys = try await provider(sandbox.environment([
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/pod", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token",
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": envSecret,
        ])).credentials()
        #expect(keys.accessKeyID == "AKIDENV")
    }

    @Test func halfConfiguredKeysAreErrors() async throws {
        let sandbox = try Sandbox()
        try sandbox.write(credentials: "[default]\naws_access_key_id = AKIDPROFILE\n")
        let environment = await failure(try provider(sandbox.environment(["AWS_ACCESS_KEY_ID": "AKIDENV"])))
        #expect(environment == .sourceFailed(source: "environment", reason: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"))
        let profile = await failure(try provider(sandbox.environment()))
        #expect(profile == .sourceFailed(source: "profile 'default' (\(sandbox.credentialsPath))",
                                         reason: "aws_access_key_id is set but aws_secret_access_key is not"))
    }

    @Test func aBrokenFileIsAnErrorNamingTheLine() async throws {
        let sandbox = try Sandbox()
        try sandbox.write(credentials: "[default]\naws_access_key_id = AKIDPROFILE\n\(profileSecret)\n")
        let error = await failure(try provider(sandbox.environment()))
        #expect(error == .sourceFailed(source: "profile 'default'",
                                       reason: "\(sandbox.credentialsPath) line 3: expected 'name = value', a [section] or a comment"))
    }

    @Test func nothingFoundListsEverySourceAndWhy() async throws {
        let sandbox = try Sandbox()
        let error = await failure(try provider(sandbox.environment()))
        #expect(error == .notFound([
            .init(source: "environment", reason: "AWS_ACCESS_KEY_ID is not set"),
            .init(source: "profile 'default'", reason: "no \(sandbox.credentialsPath) or \(sandbox.configPath)"),
            .init(source: "container", reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set"),
            .init(source: "EC2 instance metadata", reason: "disabled by AWS_EC2_METADATA_DISABLED"),
        ]))
        #expect(error?.description == "no AWS credentials found: environment: AWS_ACCESS_KEY_ID is not set; "
            + "profile 'default': no \(sandbox.credentialsPath) or \(sandbox.configPath); "
            + "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set; "
            + "EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED")

        // With the default files under HOME, and a profile without keys.
        var environment = sandbox.environment(["AWS_EC2_METADATA_DISABLED": "TRUE"])
        environment["AWS_SHARED_CREDENTIALS_FILE"] = nil
        environment["AWS_CONFIG_FILE"] = nil
        try FileManager.default.createDirectory(atPath: sandbox.home + "/.aws", withIntermediateDirectories: true)
        let listed = await failure(try provider(environment))
        #expect(listed?.description.contains("profile 'default': no ~/.aws/credentials or ~/.aws/config;") == true)
        try "[default]\nregion = eu-west-1\n".write(toFile: sandbox.home + "/.aws/config", atomically: true, encoding: .utf8)
        let withoutKeys = await failure(try provider(environment))
        #expect(withoutKeys?.description.contains("profile 'default': has no aws_access_key_id (in ~/.aws/config);") == true)
        try "[other]\n".write(toFile: sandbox.home + "/.aws/credentials", atomically: true, encoding: .utf8)
        try "[profile other]\n".write(toFile: sandbox.home + "/.aws/config", atomically: true, encoding: .utf8)
        let notThere = await failure(try provider(environment))
        #expect(notThere?.description.contains("profile 'default': not in ~/.aws/credentials or ~/.aws/config;") == true)
    }
}

@Suite("AWS container and instance metadata credentials")
struct AWSMetadataCredentialsTests {
    @Test func containerCredentialsWithTheTokenFromTheVariable() async throws {
        let container = try ScriptedServer { _, _ in ScriptedServer.json(credentialsJSON(expiresIn: 6 * 3600)) }
        let sandbox = try Sandbox()
        let credentials = try await provider(sandbox.environment([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url("/v1/credentials?id=7"),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": authorizationToken,
        ])).credentials()
        #expect(credentials.accessKeyID == "ASIACONTAINERKEY0001")
        #expect(credentials.secretAccessKey == containerSecret && credentials.sessionToken == sessionToken)
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 6 * 3600) < 5)
        let request = try #require(container.requests.first)
        #expect(request.method == "GET" && request.path == "/v1/credentials" && request.query == "id=7")
        #expect(request.header("Authorization") == authorizationToken)
        #expect(request.header("Accept") == "application/json")
        await container.stop()
    }

    @Test func theTokenFileIsReadAtEachFetch() async throws {
        let sandbox = try Sandbox()
        let tokenFile = sandbox.directory + "/eks-pod-identity-token"
        try (authorizationToken + "-1\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let container = try ScriptedServer { _, _ in ScriptedServer.json(credentialsJSON()) }
        let provider = try provider(sandbox.environment([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url("/v1/credentials"),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "the-file-wins",
        ]))
        _ = try await provider.credentials()
        try (authorizationToken + "-2").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await provider.credentials()
        #expect(container.requests.count == 1, "credentials valid for an hour are kept")
        provider.invalidate()
        _ = try await provider.credentials()
        #expect(container.requests.map { $0.header("Authorization") } == [authorizationToken + "-1", authorizationToken + "-2"])

        try FileManager.default.removeItem(atPath: tokenFile)
        provider.invalidate()
        let error = await failure(provider)
        #expect(error == .sourceFailed(source: "container credentials (\(container.url("/v1/credentials")))",
                                       reason: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '\(tokenFile)'"))
        #expect(container.requests.count == 2)

        try "line\nbreak".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let illegal = await failure(provider)
        #expect(illegal?.description.contains("not a legal header value") == true)
        await container.stop()
    }

    @Test func plainHTTPGoesOnlyToTheAllowedHosts() async throws {
        for allowed in ["http://127.0.0.1:8080/creds", "http://127.10.0.3/x", "http://localhost:51679/creds", "http://[::1]:9/x",
                        "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials",
                        "http://[fd00:ec2::23]/v1/credentials", "https://credentials.example.com/aws"] {
            #expect(AWSCredentialsProvider.refusalOfFullURI(allowed) == nil, "\(allowed)")
        }
        for refused in ["http://example.com/creds", "http://169.254.169.254/latest", "http://10.0.0.1/creds", "ftp://127.0.0.1/x",
                        "http://127.0.0.1.example.com/x", "not a url"] {
            #expect(AWSCredentialsProvider.refusalOfFullURI(refused) != nil, "\(refused)")
        }
        let sandbox = try Sandbox()
        let error = await failure(try provider(sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"])))
        #expect(error == .sourceFailed(source: "container credentials", reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI has the host "
            + "'example.com': plain http is allowed only to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https for any other host"))
    }

    @Test func instanceMetadataV2TokenThenRoleThenCredentials() async throws {
        let metadata = try metadataServer()
        let sandbox = try Sandbox()
        let credentials = try await provider(sandbox.environment(metadata: metadata)).credentials()
        #expect(credentials.accessKeyID == "ASIAINSTANCEKEY00001" && credentials.secretAccessKey == instanceSecret)
        #expect(credentials.sessionToken == sessionToken && credentials.expiration != nil)
        let requests = metadata.requests
        #expect(requests.map { "\($0.method) \($0.path)" } == [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/deploy-role",
        ])
        #expect(requests.first?.header("X-aws-ec2-metadata-token-ttl-seconds") == "21600")
        #expect(requests.first?.header("X-aws-ec2-metadata-token") == nil)
        #expect(requests.dropFirst().allSatisfy { $0.header("X-aws-ec2-metadata-token") == metadataToken })
        await metadata.stop()
    }

    @Test func instanceMetadataThatHasNothingEndsTheChainQuietly() async throws {
        let sandbox = try Sandbox()
        // No role attached.
        let noRole = try ScriptedServer { request, _ in
            request.method == "PUT" ? ScriptedServer.text(metadataToken) : ScriptedServer.text("", status: 404)
        }
        let error = await failure(try provider(sandbox.environment(metadata: noRole)))
        guard case .notFound(let notes)? = error else {
            Issue.record("expected .notFound, got \(String(describing: error))")
            return
        }
        #expect(notes.last == .init(source: "EC2 instance metadata", reason: "the instance has no IAM role (instance profile)"))
        #expect(noRole.requests.count == 2)
        await noRole.stop()

        // Something that does not speak IMDSv2 (another cloud's metadata service).
        let other = try ScriptedServer { _, _ in ScriptedServer.text("no", status: 405) }
        let otherError = await failure(try provider(sandbox.environment(metadata: other)))
        #expect(otherError?.description.contains("answered HTTP 405 to the IMDSv2 session token request") == true)
        await other.stop()

        // Nothing listening: not an EC2 instance, one try only.
        let port = refusedPort
        var environment = sandbox.environment()
        environment["AWS_EC2_METADATA_DISABLED"] = nil
        environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:\(port)/"
        let started = ContinuousClock.now
        let refused = await failure(try provider(environment))
        #expect(ContinuousClock.now - started < .seconds(2))
        guard case .notFound(let refusedNotes)? = refused else {
            Issue.record("expected .notFound, got \(String(describing: refused))")
            return
        }
        #expect(refusedNotes.last?.reason.hasPrefix("no answer from http://127.0.0.1:\(port) (") == true)
    }

    @Test func instanceMetadataErrorsAreNamed() async throws {
        let sandbox = try Sandbox()
        let failing = try metadataServer(credentials: { ScriptedServer.text("busy", status: 500) })
        let error = await failure(try provider(sandbox.environment(metadata: failing)))
        #expect(error == .sourceFailed(source: "EC2 instance metadata (\(failing.url("")))",
                                       reason: "GET /latest/meta-data/iam/security-credentials/deploy-role was answered HTTP 500: busy"))
        #expect(failing.requests.count == 4, "one retry of the 500")
        await failing.stop()

        let refusing = try metadataServer(credentials: {
            ScriptedServer.json(#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role deploy-role."}"#)
        })
        let refusal = await failure(try provider(sandbox.environment(metadata: refusing)))
        #expect(refusal?.description.hasSuffix("role 'deploy-role': the answer is an error: AssumeRoleUnauthorizedAccess: "
            + "EC2 cannot assume the role deploy-role.") == true)
        await refusing.stop()
    }

    @Test(arguments: [
        (500, #"{"code":"InternalError","message":"agent restarting"}"#, 3, "the endpoint answered HTTP 500: InternalError: agent restarting"),
        (403, #"{"code":"AccessDenied","message":"token \#(authorizationToken) is not valid"}"#, 1,
         "the endpoint answered HTTP 403: AccessDenied: token *** is not valid"),
        (200, "<html>\(containerSecret)", 1, "the answer (\(6 + containerSecret.count) bytes, application/json) is not a JSON object"),
        (200, #"{"AccessKeyId":"ASIAX","Token":"\#(sessionToken)"}"#, 1, "the answer has no SecretAccessKey"),
        (200, credentialsJSON(expiresIn: -60), 1, "the credentials it gave expired at "),
        (200, #"{"AccessKeyId":"ASIAX","SecretAccessKey":"\#(containerSecret)","Expiration":"tomorrow"}"#, 1,
         "Expiration 'tomorrow' is not an ISO 8601 time"),
    ])
    func containerErrorsStopTheChainWithTheirReason(status: Int, body: String, requests: Int, reason: String) async throws {
        let container = try ScriptedServer { _, _ in ScriptedServer.json(body, status: status) }
        let metadata = try metadataServer()
        let sandbox = try Sandbox()
        let error = await failure(try provider(sandbox.environment(metadata: metadata, [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.url("/creds"), "AWS_CONTAINER_AUTHORIZATION_TOKEN": authorizationToken,
        ])))
        guard case .sourceFailed(let source, let text)? = error else {
            Issue.record("expected .sourceFailed, got \(String(describing: error))")
            return
        }
        #expect(source == "container credentials (\(container.url("/creds")))")
        #expect(text.hasPrefix(reason), "\(text)")
        #expect(container.requests.count == requests)
        #expect(metadata.requests.isEmpty, "a failing container source must not fall through to instance metadata")
        await container.stop()
        await metadata.stop()
    }

    @Test func aContainerEndpointThatRefusesIsAnError() async throws {
        let port = refusedPort
        let sandbox = try Sandbox()
        let url = "http://127.0.0.1:\(port)/creds"
        let error = await failure(try provider(sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": url])))
        guard case .sourceFailed(let source, let reason)? = error else {
            Issue.record("expected .sourceFailed, got \(String(describing: error))")
            return
        }
        #expect(source == "container credentials (\(url))")
        #expect(reason.hasPrefix("the endpoint could not be read: "))
    }
}

@Suite("AWS credentials kept and refreshed")
struct AWSCredentialsRefreshTests {
    /// A container endpoint whose n-th answer has the key ASIAKEYn, expiring in `expiresIn`.
    private func numberedServer(expiresIn: TimeInterval, gate: Gate? = nil) throws -> ScriptedServer {
        try ScriptedServer { _, index in
            await gate?.pass()
            return ScriptedServer.json(credentialsJSON(key: "ASIAKEY\(index)", expiresIn: expiresIn))
        }
    }

    @Test func credentialsExpiringSoonAreFetchedAgain() async throws {
        let sandbox = try Sandbox()
        let server = try numberedServer(expiresIn: 120)
        var timing = fastTiming
        timing.minimumRefreshInterval = 0
        let provider = try provider(sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url("/creds")]), timing: timing)
        #expect(try await provider.credentials().accessKeyID == "ASIAKEY0")
        #expect(try await provider.credentials().accessKeyID == "ASIAKEY1")
        #expect(server.requests.count == 2)
        await server.stop()
    }

    @Test func credentialsWithTimeLeftAreKeptUntilInvalidated() async throws {
        let sandbox = try Sandbox()
        let server = try numberedServer(expiresIn: 3600)
        let provider = try provider(sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url("/creds")]))
        #expect(try await provider.credentials().accessKeyID == "ASIAKEY0")
        #expect(try await provider.credentials().accessKeyID == "ASIAKEY0")
        #expect(server.requests.count == 1)
        provider.invalidate()
        #expect(try await provider.credentials().accessKeyID == "ASIAKEY1")
        #expect(server.requests.count == 2)
        await server.stop()
    }

    @Test func refreshTimes() throws {
        let provider = try provider(try Sandbox().environment())
        let now = Date()
        #expect(provider.refreshTime(nil, now: now) == .distantFuture)
        #expect(provider.refreshTime(now.addingTimeInterval(3600), now: now) == now.addingTimeInterval(3600 - 300))
        // Inside the window: not again for 30 s, and never past the expiration.
        #expect(provider.refreshTime(now.addingTimeInterval(120), now: now) == now.addingTimeInterval(30))
        #expect(provider.refreshTime(now.addingTimeInterval(10), now: now) == now.addingTimeInterval(10))
    }

    @Test func concurrentCallersShareOneFetch() async throws {
        let sandbox = try Sandbox()
        let gate = Gate()
        let server = try numberedServer(expiresIn: 3600, gate: gate)
        let provider = try provider(sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url("/creds")]))
        async let keys = withThrowingTaskGroup(of: String.self, returning: [String].self) { group in
            for _ in 0..<8 { group.addTask { try await provider.credentials().accessKeyID } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        await gate.waitForArrivals(1)
        try await Task.sleep(for: .milliseconds(150))
        await gate.open()
        #expect(try await keys == Array(repeating: "ASIAKEY0", count: 8))
        #expect(server.requests.count == 1)
        await server.stop()
    }

    @Test func aFailedRefreshKeepsCredentialsThatAreStillValid() async throws {
        let sandbox = try Sandbox()
        let server = try ScriptedServer { _, index in
            index == 0 ? ScriptedServer.json(credentialsJSON(key: "ASIAFIRST", expiresIn: 240)) : ScriptedServer.text("down", status: 503)
        }
        var timing = fastTiming
        timing.minimumRefreshInterval = 0
        let provider = try provider(sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url("/creds")]), timing: timing)
        #expect(try await provider.credentials().accessKeyID == "ASIAFIRST")
        #expect(try await provider.credentials().accessKeyID == "ASIAFIRST")
        #expect(server.requests.count == 1 + timing.containerAttempts)
        // Once invalidated (AWS said ExpiredToken) they are not used again.
        provider.invalidate()
        let error = await failure(provider)
        #expect(error?.description.contains("the endpoint answered HTTP 503: down") == true)
        await server.stop()
    }
}

@Suite("AWS region and endpoints")
struct AWSConfigurationTests {
    private func configuration(_ environment: [String: String], config: String? = nil) throws -> AWSConfiguration {
        try AWSConfiguration(environment: environment, files: AWSConfigFiles(environment: environment, credentialsText: nil, configText: config))
    }

    @Test func region() throws {
        let config = "[default]\nregion = eu-west-1\n[profile ci]\nregion = us-east-2\n"
        #expect(try configuration(["AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-north-1"], config: config).region == "ap-south-1")
        let fallback = try configuration(["AWS_REGION": " ", "AWS_DEFAULT_REGION": "eu-north-1"], config: config)
        #expect(fallback.region == "eu-north-1" && fallback.regionSource == "AWS_DEFAULT_REGION")
        #expect(try configuration([:], config: config).region == "eu-west-1")
        let profile = try configuration(["AWS_PROFILE": "ci", "HOME": "/home/u"], config: config)
        #expect(profile.region == "us-east-2" && profile.regionSource == "profile 'ci' (~/.aws/config)")
        #expect(try configuration(["AWS_PROFILE": "other"], config: config).region == nil)
        #expect(try configuration([:]).region == nil)

        let sandbox = try Sandbox()
        try sandbox.write(config: config)
        #expect(try AWSConfiguration.load(environment: sandbox.environment(["AWS_PROFILE": "ci"])).region == "us-east-2")
    }

    @Test func standardEndpoints() throws {
        let none = try configuration([:])
        #expect(try none.endpoint(for: .s3, region: "eu-west-1") == AWSEndpoint(url: "https://s3.eu-west-1.amazonaws.com", isCustom: false, source: "standard"))
        #expect(try none.endpoint(for: .cloudWatch, region: "us-east-1").url == "https://monitoring.us-east-1.amazonaws.com")
        #expect(try none.endpoint(for: .dynamoDB, region: "ap-southeast-2").url == "https://dynamodb.ap-southeast-2.amazonaws.com")
        #expect(try none.endpoint(for: .codeDeploy, region: "cn-north-1").url == "https://codedeploy.cn-north-1.amazonaws.com.cn")
        #expect(try none.endpoint(for: .sts, region: "us-gov-west-1").url == "https://sts.us-gov-west-1.amazonaws.com")
        for bad in ["", "eu west 1", "EU-WEST-1", "evil.com/x", "-eu"] {
            #expect(throws: AWSConfigurationError.self) { try none.endpoint(for: .s3, region: bad) }
        }
        #expect(AWSService.cloudWatch.endpointVariable == "AWS_ENDPOINT_URL_CLOUDWATCH")
        #expect(AWSService.dynamoDB.configKey == "dynamodb")
        let spaced = AWSService(id: "Elastic Load Balancing v2", endpointPrefix: "elasticloadbalancing", signingName: "elasticloadbalancing")
        #expect(spaced.endpointVariable == "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2")
        #expect(spaced.configKey == "elastic_load_balancing_v2")
    }

    @Test func configuredEndpointsInOrder() throws {
        let config = """
        [profile local]
        endpoint_url = http://127.0.0.1:4000/
        services = emulators
        [profile plain]
        endpoint_url = https://proxy.example/aws
        [profile ignoring]
        endpoint_url = http://127.0.0.1:4000
        ignore_configured_endpoint_urls = true
        [services emulators]
        dynamodb =
          endpoint_url = http://127.0.0.1:8000
        """
        let local = ["AWS_PROFILE": "local", "HOME": "/home/u"]
        let both = local.merging(["AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000/", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"]) { a, _ in a }
        let all = try configuration(both, config: config)
        #expect(try all.endpoint(for: .s3, region: "eu-west-1") == AWSEndpoint(url: "http://127.0.0.1:9000", isCustom: true, source: "AWS_ENDPOINT_URL_S3"))
        #expect(try all.endpoint(for: .dynamoDB, region: "eu-west-1") == AWSEndpoint(url: "http://127.0.0.1:4566", isCustom: true, source: "AWS_ENDPOINT_URL"))

        let fromFile = try configuration(local, config: config)
        #expect(try fromFile.endpoint(for: .dynamoDB, region: "eu-west-1")
            == AWSEndpoint(url: "http://127.0.0.1:8000", isCustom: true, source: "profile 'local' (~/.aws/config) services 'emulators'"))
        #expect(try fromFile.endpoint(for: .s3, region: "eu-west-1")
            == AWSEndpoint(url: "http://127.0.0.1:4000", isCustom: true, source: "profile 'local' (~/.aws/config)"))
        #expect(try configuration(["AWS_PROFILE": "plain"], config: config).endpoint(for: .sts, region: "eu-west-1").url == "https://proxy.example/aws")
        #expect(try configuration([:], config: config).configuredEndpoint(for: .s3) == nil)

        // Ignored: by the environment (which wins over the profile) or by the profile.
        let ignored = try configuration(both.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "True"]) { a, _ in a }, config: config)
        #expect(try ignored.endpoint(for: .s3, region: "eu-west-1") == AWSEndpoint(url: "https://s3.eu-west-1.amazonaws.com", isCustom: false, source: "standard"))
        #expect(try configuration(["AWS_PROFILE": "ignoring"], config: config).endpoint(for: .s3, region: "eu-west-1").isCustom == false)
        let notIgnored = try configuration(["AWS_PROFILE": "ignoring", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"], config: config)
        #expect(try notIgnored.endpoint(for: .s3, region: "eu-west-1").url == "http://127.0.0.1:4000")

        let invalid = try configuration(["AWS_ENDPOINT_URL_CLOUDWATCH": "localhost:4566"])
        #expect {
            try invalid.endpoint(for: .cloudWatch, region: "eu-west-1")
        } throws: { error in
            (error as? AWSConfigurationError)?.message.hasPrefix("AWS_ENDPOINT_URL_CLOUDWATCH is 'localhost:4566'") == true
        }
    }
}
