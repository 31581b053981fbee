import Foundation

/// An AWS service as DeployVerify's client calls it.
package struct AWSService: Sendable, Hashable, CustomStringConvertible {
    /// The `serviceId` of its API model (`S3`, `DynamoDB`, `CodeDeploy`, `CloudWatch`, `STS`): it
    /// names the endpoint settings (`AWS_ENDPOINT_URL_CLOUDWATCH`, `cloudwatch =` in a
    /// `[services …]` section).
    package var id: String
    /// The first label of its standard host (`monitoring` for CloudWatch).
    package var endpointPrefix: String
    /// The service name of the SigV4 credential scope.
    package var signingName: String

    package init(id: String, endpointPrefix: String, signingName: String) {
        self.id = id
        self.endpointPrefix = endpointPrefix
        self.signingName = signingName
    }

    package static let s3 = AWSService(id: "S3", endpointPrefix: "s3", signingName: "s3")
    package static let dynamoDB = AWSService(id: "DynamoDB", endpointPrefix: "dynamodb", signingName: "dynamodb")
    package static let codeDeploy = AWSService(id: "CodeDeploy", endpointPrefix: "codedeploy", signingName: "codedeploy")
    package static let cloudWatch = AWSService(id: "CloudWatch", endpointPrefix: "monitoring", signingName: "monitoring")
    package static let sts = AWSService(id: "STS", endpointPrefix: "sts", signingName: "sts")

    /// `AWS_ENDPOINT_URL_` and the service id upper-cased, spaces as `_`.
    package var endpointVariable: String {
        "AWS_ENDPOINT_URL_" + id.uppercased().replacingOccurrences(of: " ", with: "_")
    }

    /// Its key in a `[services …]` section: the service id lower-cased, spaces as `_`.
    package var configKey: String {
        id.lowercased().replacingOccurrences(of: " ", with: "_")
    }

    package var description: String { id }
}

/// The base URL requests to a service go to.
package struct AWSEndpoint: Sendable, Equatable {
    /// Without a trailing `/`: `https://monitoring.eu-west-1.amazonaws.com`, `http://localhost:4566`.
    /// A configured URL keeps its path (`https://proxy.example/aws`).
    package var url: String
    /// Set by configuration rather than AWS's standard endpoint (a local emulator, a proxy, a VPC
    /// endpoint): S3 is then addressed path-style (`/bucket/key`).
    package var isCustom: Bool
    /// Where it came from, for messages: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`,
    /// `profile 'local' (~/.aws/config) services 'local'`, `profile 'local' (~/.aws/config)`, `standard`.
    package var source: String

    package init(url: String, isCustom: Bool, source: String) {
        self.url = url
        self.isCustom = isCustom
        self.source = source
    }
}

/// A region or endpoint setting that cannot be used. The message names the setting.
package struct AWSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}

/// Where DeployVerify's AWS client sends its requests, read the way the AWS SDKs read it.
///
/// Region: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `region` in the profile of the config
/// file; nil when none is set (the caller says so).
///
/// Endpoint of a service, first found: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
/// service's `endpoint_url` in the `[services NAME]` section the profile names with
/// `services = NAME`, the profile's `endpoint_url`, then AWS's standard
/// `https://<prefix>.<region>.amazonaws.com` (`.amazonaws.com.cn` in China). With
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or `ignore_configured_endpoint_urls = true` in
/// the profile) only the standard endpoint is used.
package struct AWSConfiguration: Sendable {
    package let region: String?
    /// Where the region came from: `AWS_REGION`, `AWS_DEFAULT_REGION`, `profile 'ci' (~/.aws/config)`.
    package let regionSource: String?
    private let environment: [String: String]
    private let files: AWSConfigFiles

    /// From the environment and the shared files already loaded (pure).
    package init(environment: [String: String], files: AWSConfigFiles) {
        self.environment = environment
        self.files = files
        let profile = files.configProfile(files.profileName)
        if let region = Self.nonEmpty(environment["AWS_REGION"]) {
            self.region = region
            regionSource = "AWS_REGION"
        } else if let region = Self.nonEmpty(environment["AWS_DEFAULT_REGION"]) {
            self.region = region
            regionSource = "AWS_DEFAULT_REGION"
        } else if let region = Self.nonEmpty(profile?.settings["region"]) {
            self.region = region
            regionSource = "profile '\(files.profileName)' (\(files.config.displayName))"
        } else {
            region = nil
            regionSource = nil
        }
    }

    /// Reads the shared files named by the environment.
    package static func load(environment: [String: String]) throws(AWSConfigFileError) -> AWSConfiguration {
        AWSConfiguration(environment: environment, files: try AWSConfigFiles.load(environment: environment))
    }

    /// Endpoints from the environment or the config file are ignored.
    package var ignoresConfiguredEndpoints: Bool {
        if let value = Self.nonEmpty(environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]) {
            return value.lowercased() == "true"
        }
        return files.configProfile(files.profileName)?.settings["ignore_configured_endpoint_urls"]?.lowercased() == "true"
    }

    /// The base URL for `service` in `region` (the region is needed in any case: requests are
    /// signed for it).
    package func endpoint(for service: AWSService, region: String) throws(AWSConfigurationError) -> AWSEndpoint {
        if let configured = try configuredEndpoint(for: service) { return configured }
        return try Self.standardEndpoint(for: service, region: region)
    }

    /// The endpoint set by configuration, if any (nil also when configured endpoints are ignored).
    package func configuredEndpoint(for service: AWSService) throws(AWSConfigurationError) -> AWSEndpoint? {
        guard !ignoresConfiguredEndpoints else { return nil }
        for variable in [service.endpointVariable, "AWS_ENDPOINT_URL"] {
            if let url = Self.nonEmpty(environment[variable]) {
                return AWSEndpoint(url: try Self.validated(url, setting: variable), isCustom: true, source: variable)
            }
        }
        let name = files.profileName
        guard let profile = files.configProfile(name) else { return nil }
        let origin = "profile '\(name)' (\(files.config.displayName))"
        if let servicesName = profile.value("services"), let section = files.servicesSection(servicesName),
           let url = Self.nonEmpty(section.nested[service.configKey]?["endpoint_url"]) {
            let source = "\(origin) services '\(servicesName)'"
            return AWSEndpoint(url: try Self.validated(url, setting: "\(service.configKey).endpoint_url in [services \(servicesName)] of \(files.config.displayName)"),
                               isCustom: true, source: source)
        }
        if let url = profile.value("endpoint_url") {
            return AWSEndpoint(url: try Self.validated(url, setting: "endpoint_url of \(origin)"), isCustom: true, source: origin)
        }
        return nil
    }

    /// AWS's own endpoint: `https://<prefix>.<region>.amazonaws.com`, `.amazonaws.com.cn` for `cn-` regions.
    package static func standardEndpoint(for service: AWSService, region: String) throws(AWSConfigurationError) -> AWSEndpoint {
        let isRegionName = !region.isEmpty && region.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        } && region.first != "-" && region.last != "-"
        guard isRegionName else {
            throw AWSConfigurationError(message: "'\(region.prefix(64))' is not an AWS region name (like eu-west-1)")
        }
        let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return AWSEndpoint(url: "https://\(service.endpointPrefix).\(region).\(domain)", isCustom: false, source: "standard")
    }

    /// An `http(s)://host[:port][/path]` URL without its trailing `/`.
    private static func validated(_ text: String, setting: String) throws(AWSConfigurationError) -> String {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil else {
            throw AWSConfigurationError(
                message: "\(setting) is '\(Redaction.url(String(text.prefix(200))))', not an http:// or https:// URL with a host")
        }
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let trimmed = value?.trimmed, !trimmed.isEmpty else { return nil }
        return trimmed
    }
}
