import Foundation
import InfoEndpoint

/// Keeps secrets out of everything DeployVerify prints or writes.
package enum Redaction {
    package static let mask = "***"

    /// Authorization, Proxy-Authorization, Cookie, Set-Cookie, and any header whose name contains
    /// `token`, `key`, `secret`, `password` or `auth` (case-insensitive).
    package static func isSensitiveHeader(_ name: String) -> Bool {
        let lowered = name.lowercased()
        if ["authorization", "proxy-authorization", "cookie", "set-cookie"].contains(lowered) { return true }
        return ["token", "key", "secret", "password", "auth"].contains { lowered.contains($0) }
    }

    /// A query parameter name that carries a credential.
    package static func isSensitiveParameter(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["token", "key", "secret", "password", "passwd", "signature", "sig", "auth", "credential"].contains {
            lowered.contains($0)
        }
    }

    /// The URL with the password of `user:password@` and the values of credential-like query
    /// parameters replaced by `***`. Text that is not a URL is returned unchanged.
    package static func url(_ text: String) -> String {
        // Without '@' there is no password, without '?' no query: nothing to mask.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "?") }) else { return text }
        guard var components = URLComponents(string: text), components.scheme != nil else { return text }
        var changed = false
        if components.password != nil {
            components.percentEncodedPassword = mask
            changed = true
        }
        if let items = components.percentEncodedQueryItems, items.contains(where: { isSensitiveParameter($0.name) }) {
            components.percentEncodedQueryItems = items.map { item in
                isSensitiveParameter(item.name) ? URLQueryItem(name: item.name, value: mask) : item
            }
            changed = true
        }
        return changed ? (components.string ?? text) : text
    }
}

/// Replaces known secret values wherever they appear in a text: header values, expanded
/// variables, tokens echoed back in an error page. Every output path of the CLIs goes
/// through one.
package struct Redactor: Sendable {
    private var secrets: [String] = []

    package init(secrets: some Sequence<String> = []) {
        for secret in secrets { add(secret) }
    }

    /// Registers a secret. For a credential with a scheme (`Bearer abc123`), the credential
    /// alone is registered too. Values shorter than 3 characters cannot be told apart from
    /// ordinary text and are not registered.
    package mutating func add(_ secret: String) {
        var candidates = [secret.trimmed]
        if let space = secret.firstIndex(of: " ") {
            candidates.append(secret[secret.index(after: space)...].trimmed)
        }
        for candidate in candidates where candidate.count >= 3 && !secrets.contains(candidate) {
            secrets.append(candidate)
        }
        secrets.sort { $0.count > $1.count }
    }

    /// Registers a URL that is a secret as a whole (a Slack, Teams or Discord webhook carries its
    /// token in the path): the URL, and the parts a receiver might echo on their own — the
    /// credentials, the path with and without its query, the query and each of its values, and
    /// every path segment that looks like a token rather than a word (`T0001/B0002/XXXX`, not
    /// `services`) — each as written and percent-decoded. Only the scheme and host stay readable.
    package mutating func addURL(_ url: String) {
        add(url)
        guard let components = URLComponents(string: url), components.host != nil else { return }
        var parts: [String] = []
        if let password = components.percentEncodedPassword { parts.append(password) }
        if let user = components.percentEncodedUser, components.percentEncodedPassword != nil { parts.append(user) }
        let path = components.percentEncodedPath
        if path.count > 1 { parts.append(path) }
        if let query = components.percentEncodedQuery, !query.isEmpty {
            parts.append(query)
            parts.append(path + "?" + query)
            for item in components.percentEncodedQueryItems ?? [] {
                if let value = item.value { parts.append(value) }
            }
        }
        for segment in path.split(separator: "/") where Self.looksLikeToken(segment) { parts.append(String(segment)) }
        for part in parts {
            add(part)
            if let decoded = part.removingPercentEncoding, decoded != part { add(decoded) }
        }
    }

    /// A path segment that reads as an identifier or a token (digits, capitals or symbols in it,
    /// or long), not as a word of an API's path such as `services` or `webhooks`.
    private static func looksLikeToken(_ segment: Substring) -> Bool {
        guard segment.count >= 6 else { return false }
        if segment.count >= 24 { return true }
        return segment.contains { !($0.isLowercase || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    /// Registers the value of every sensitive header.
    package mutating func addHeaders(_ headers: [(name: String, value: String)]) {
        for (name, value) in headers where Redaction.isSensitiveHeader(name) { add(value) }
    }

    /// Registers every secret of another redactor.
    package mutating func add(contentsOf other: Redactor) {
        for secret in other.secrets where !secrets.contains(secret) { secrets.append(secret) }
        secrets.sort { $0.count > $1.count }
    }

    package var isEmpty: Bool { secrets.isEmpty }

    package func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Redaction.mask)
        }
        return result
    }

    /// Headers for display: sensitive values masked.
    package func display(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        headers.map { ($0.name, Redaction.isSensitiveHeader($0.name) ? Redaction.mask : redact($0.value)) }
    }
}
