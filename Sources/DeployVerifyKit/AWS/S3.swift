import Foundation

/// An object in S3 named as the AWS CLI names it: `s3://bucket/key`.
package struct S3Location: Sendable, Equatable, CustomStringConvertible {
    package var bucket: String
    package var key: String

    package init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// `s3://bucket/path/to/key`; nil for anything else, or without a bucket or a key.
    package init?(_ text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let bucket = String(rest[..<slash]), key = String(rest[rest.index(after: slash)...])
        guard !bucket.isEmpty, !key.isEmpty else { return nil }
        self.init(bucket: bucket, key: key)
    }

    package var description: String { "s3://\(bucket)/\(key)" }
}

extension AWSClient {
    /// The object's bytes. A missing bucket or key, or a denied read, is an error naming the object.
    package func getObject(_ location: S3Location, maxBytes: Int = 64 << 20) async throws(AWSError) -> [UInt8] {
        let (host, path) = try s3Address(location)
        return try await send(.s3, operation: "S3 GetObject \(location)", method: "GET", host: host, path: path,
                              timeout: .seconds(30), maxBodyBytes: maxBytes).body
    }

    /// Writes the object (used by tests and tooling; the watcher only reads).
    package func putObject(_ location: S3Location, body: [UInt8], contentType: String = "application/octet-stream") async throws(AWSError) {
        let (host, path) = try s3Address(location)
        _ = try await send(.s3, operation: "S3 PutObject \(location)", method: "PUT", host: host, path: path,
                           headers: [("Content-Type", contentType)], body: body, timeout: .seconds(30))
    }

    /// Creates a bucket in the client's region.
    package func createBucket(_ bucket: String) async throws(AWSError) {
        let body = region == "us-east-1" ? "" : """
        <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>
        """
        let (host, path) = try s3Address(S3Location(bucket: bucket, key: ""))
        _ = try await send(.s3, operation: "S3 CreateBucket \(bucket)", method: "PUT", host: host, path: path, body: Array(body.utf8))
    }

    /// Path-style (`ENDPOINT/bucket/key`) on a custom endpoint and for bucket names with dots (a
    /// TLS wildcard covers one label); virtual-hosted (`bucket.s3.REGION.amazonaws.com/key`) otherwise.
    private func s3Address(_ location: S3Location) throws(AWSError) -> (host: String?, path: String) {
        let endpoint = try self.endpoint(.s3)
        let key = Self.s3Encoded(location.key)
        if endpoint.isCustom || location.bucket.contains(".") {
            return (nil, "/\(Self.s3Encoded(location.bucket))" + (key.isEmpty ? "" : "/\(key)"))
        }
        let host = URLComponents(string: endpoint.url)?.host.map { "\(location.bucket).\($0)" }
        return (host, "/\(key)")
    }

    /// Percent-encodes all but the RFC 3986 unreserved characters and `/`, as S3 signs keys.
    static func s3Encoded(_ key: String) -> String {
        var result = ""
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}
