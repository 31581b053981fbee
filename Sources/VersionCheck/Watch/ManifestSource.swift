import DeployVerifyKit
import Foundation

/// Where a manifest is read from: a file, `s3://BUCKET/KEY`, or an `http(s)://` URL. YAML or JSON,
/// told by the name (`.yaml`, `.yml`, `.json`), then by the content type, then by the first
/// character (`{` is JSON).
package enum ManifestSource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case s3(S3Location)
    case url(String)

    package init(_ text: String) throws(ManifestError) {
        if text.hasPrefix("s3://") {
            guard let location = S3Location(text) else {
                throw ManifestError(file: text, location: nil, message: "not s3://BUCKET/KEY")
            }
            self = .s3(location)
        } else if text.hasPrefix("http://") || text.hasPrefix("https://") {
            self = .url(text)
        } else if text.contains("://") {
            throw ManifestError(file: text, location: nil, message: "a manifest is a file, s3://BUCKET/KEY or an http(s):// URL")
        } else {
            self = .file(text)
        }
    }

    package var description: String {
        switch self {
        case .file(let path): path
        case .s3(let location): location.description
        case .url(let url): Redaction.url(url)
        }
    }

    /// Whether reading it needs AWS.
    package var needsAWS: Bool {
        if case .s3 = self { return true }
        return false
    }

    /// Reads and parses the manifest. What cannot be read or parsed is a `ManifestError` naming
    /// the location (exit 2); AWS refusing the credentials, or the network, is an `AWSError`.
    package func load(environment: [String: String], aws: AWSClient?, requireServices: Bool = true) async throws -> Manifest {
        let bytes: [UInt8]
        var contentType: String?
        switch self {
        case .file(let path):
            return try Manifest.load(path: path, environment: environment, requireServices: requireServices)
        case .s3(let location):
            guard let aws else { throw ManifestError(file: description, location: nil, message: "reading from S3 needs AWS settings") }
            do {
                bytes = try await aws.getObject(location)
            } catch {
                if let code = error.code, ["NoSuchKey", "NoSuchBucket", "NotFound"].contains(code) {
                    throw ManifestError(file: description, location: nil, message: "no such object (\(code))")
                }
                throw error
            }
        case .url(let url):
            var options = ProbeOptions()
            options.userAgent = "versioncheck/\(DeployVerifyVersion.current)"
            options.timeout = .seconds(30)
            options.maxBodyBytes = 64 << 20
            options.headers = [("Accept", "application/yaml, application/json;q=0.9, */*;q=0.5")]
            let result = await (try Prober(options: options)).probe(url)
            guard let status = result.status else {
                throw ManifestError(file: description, location: nil, message: "cannot read it: \(result.failure?.message ?? "no answer")")
            }
            guard (200..<300).contains(status) else {
                throw ManifestError(file: description, location: nil, message: "cannot read it: HTTP \(status)")
            }
            bytes = result.body
            contentType = result.header("Content-Type")
        }
        return try Manifest.parse(bytes, path: description, format: Self.format(name: description, contentType: contentType, bytes: bytes),
                                  environment: environment, requireServices: requireServices)
    }

    /// YAML or JSON: by the name's extension, then the content type, then the first character.
    package static func format(name: String, contentType: String?, bytes: [UInt8]) -> Manifest.Format {
        let path = name.split(separator: "?").first.map(String.init) ?? name
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { return .yaml }
        if path.hasSuffix(".json") { return .json }
        if let type = contentType?.lowercased() {
            if type.contains("yaml") { return .yaml }
            if type.contains("json") { return .json }
        }
        let first = bytes.first { ![32, 9, 10, 13, 0xEF, 0xBB, 0xBF].contains($0) }
        return first == UInt8(ascii: "{") ? .json : .yaml
    }
}
