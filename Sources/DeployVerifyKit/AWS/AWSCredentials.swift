import Foundation

/// A set of AWS credentials: an access key, its secret, and for temporary credentials (a role
/// in Lambda, ECS, EKS or EC2) the session token and when they expire. `description` never shows
/// the secret or the token.
package struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?
    package var expiration: Date?
    /// Where they came from, for messages: `environment`, `profile 'ci' (~/.aws/credentials)`,
    /// `container credentials`, `EC2 instance metadata`.
    package var source: String

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil,
                 source: String = "given") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    package var description: String {
        "AWS credentials \(accessKeyID.prefix(4))… from \(source)" + (expiration.map { ", expiring \($0)" } ?? "")
    }
}
