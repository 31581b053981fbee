import Foundation
import InfoEndpoint

/// Why a request cannot be signed: its URL, a header name or the date. The message never
/// contains a credential: a URL in it is shown without its query, fragment and `user:password@`.
package struct SigV4Error: Error, CustomStringConvertible, Sendable {
    package let description: String
}

/// Signs requests with AWS Signature Version 4 (the `Authorization` header form), as AWS's
/// documentation and test suite define it and as botocore computes it, byte for byte:
///
/// - canonical URI: for every service but S3 the path's `.`/`..` segments and empty segments
///   are removed and the result is percent-encoded again (so `%2F` is signed as `%252F`); for
///   S3 the path is signed exactly as sent.
/// - canonical query: each `&`-separated parameter is percent-decoded (`+` stays a plus) and
///   re-encoded with only RFC 3986's unreserved characters left bare, then the parameters are
///   sorted by name, then value; a parameter without `=` is signed as `name=`.
/// - headers: names lowercased, values trimmed with inner whitespace runs collapsed to one
///   space, repeated names joined with `,` in order. Every header given is signed except
///   `authorization` and the hop-by-hop and proxy-altered ones botocore leaves out
///   (``unsignedHeaders``); `host` and `x-amz-date` always are.
///
/// Headers the signer sets replace any the caller gives of the same name: `X-Amz-Date` and
/// `Authorization` always, `X-Amz-Security-Token` with a session token, `X-Amz-Content-SHA256`
/// for S3 (always) and for an `UNSIGNED-PAYLOAD` request to any service. A `Date` header is
/// signed like any other; the date that counts is `X-Amz-Date`.
///
/// The key derived from the secret for a day (four HMACs) is kept for the next request, so
/// signing costs a few SHA-256 blocks over the canonical request.
package struct SigV4Signer: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package let service: String
    package let region: String
    private let keyCache = Locked<CachedSigningKey?>(nil)

    /// - Parameters:
    ///   - service: the signing name: `s3`, `dynamodb`, `codedeploy`, `monitoring`, `sts`.
    ///   - region: `us-east-1`, `eu-west-3`.
    package init(service: String, region: String) {
        self.service = service
        self.region = region
    }

    /// The payload hash of a request whose body is not signed (S3 over TLS, streaming).
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Headers that are never signed (lowercase): proxies and HTTP libraries add, drop or
    /// rewrite them on the way, and AWS does not expect them in the signature.
    package static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// What is signed as the request's body.
    package enum Payload: Sendable {
        /// The body itself: its SHA-256 is signed.
        case body([UInt8])
        /// A payload hash given as is: the body's SHA-256 in lowercase hex computed elsewhere
        /// (a file streamed from disk), or `UNSIGNED-PAYLOAD`.
        case precomputed(String)

        /// No body.
        package static let empty = Payload.body([])
        /// An unsigned body (``SigV4Signer/unsignedPayload``).
        package static let unsigned = Payload.precomputed(SigV4Signer.unsignedPayload)
    }

    /// The outcome of signing: the headers to add and, for tests and debugging, every
    /// intermediate step. `description` shows only the scope and the signed header names:
    /// the canonical request can hold the session token, and the headers hold the signature.
    package struct Signature: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        /// The headers to add, in this order: `Host` (when the caller gave none),
        /// `X-Amz-Date`, `X-Amz-Security-Token`, `X-Amz-Content-SHA256`, `Authorization`.
        package var headers: [(name: String, value: String)]
        package var canonicalRequest: String
        package var stringToSign: String
        /// `20150830/us-east-1/iam/aws4_request`.
        package var credentialScope: String
        /// `content-type;host;x-amz-date`.
        package var signedHeaders: String
        /// `20150830T123600Z`.
        package var amzDate: String
        /// The last line of the canonical request.
        package var payloadHash: String
        /// The value of the `Authorization` header.
        package var authorization: String
        /// The signature alone: 64 lowercase hex digits.
        package var signature: String

        /// The value of the added header `name` (case-insensitive), if any.
        package func value(of name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// `headers` with every header this signature sets removed (whatever its case) and
        /// the signature's headers appended: what to send.
        package func applied(to headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
            let replaced = Set(self.headers.map { $0.name.lowercased() })
            return headers.filter { !replaced.contains($0.name.lowercased()) } + self.headers
        }

        package var description: String {
            "SigV4 signature (scope \(credentialScope), signed headers \(signedHeaders))"
        }

        package var debugDescription: String { description }

        package var customMirror: Mirror {
            Mirror(self, children: ["credentialScope": credentialScope, "signedHeaders": signedHeaders], displayStyle: .struct)
        }
    }

    package var description: String { "SigV4Signer(service: \(service), region: \(region))" }
    package var debugDescription: String { description }
    package var customMirror: Mirror {
        Mirror(self, children: ["service": service, "region": region], displayStyle: .struct)
    }

    /// Signs a request given by its URL text.
    ///
    /// - Parameters:
    ///   - method: `GET`, `POST`… (uppercased for signing, as botocore does).
    ///   - url: the URL as it is sent: scheme, host, optional port, the path as it goes on the
    ///     request line (percent-encoded), query. A fragment is ignored.
    ///   - headers: the headers that will be sent, in order (not `Host` unless it differs from
    ///     the URL's host).
    ///   - payload: the body, or its precomputed hash.
    ///   - date: the signing time; AWS rejects a request more than 5 minutes off.
    package func sign(method: String, url: String, headers: [(name: String, value: String)], payload: Payload,
                      credentials: AWSCredentials, date: Date) throws(SigV4Error) -> Signature {
        let target = try RequestURL(url)
        let amzDate = try Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        let isS3 = service == "s3"
        let token = credentials.sessionToken.flatMap { $0.isEmpty ? nil : $0 }

        // The payload hash, and whether X-Amz-Content-SHA256 is sent with it.
        var payloadHash: String
        switch payload {
        case .body(let body): payloadHash = SHA256.hash(body).hexString
        case .precomputed(let hash): payloadHash = hash
        }
        let sendsContentHash = isS3 || payloadHash == Self.unsignedPayload

        // Header names the signer sets itself: the caller's values for them are dropped.
        var replaced: Set<String> = ["authorization", "x-amz-date"]
        if token != nil { replaced.insert("x-amz-security-token") }
        if sendsContentHash { replaced.insert("x-amz-content-sha256") }

        var values: [String: [String]] = [:]
        var callerHost = false
        var callerContentHash: String?
        for (name, value) in headers {
            guard Self.isToken(name) else {
                let shown = String(name.unicodeScalars.prefix(100).map { (0x20..<0x7F).contains($0.value) ? Character($0) : "?" })
                throw SigV4Error(description: "the header name '\(shown)' is not a valid HTTP field name")
            }
            let lowered = Self.asciiLowercased(name)
            guard !replaced.contains(lowered), !Self.unsignedHeaders.contains(lowered) else { continue }
            if lowered == "host" { callerHost = true }
            if lowered == "x-amz-content-sha256", callerContentHash == nil { callerContentHash = value }
            values[lowered, default: []].append(value)
        }
        // Another service given X-Amz-Content-SHA256 signs its value as the payload hash.
        if !sendsContentHash, let callerContentHash { payloadHash = callerContentHash }

        var added: [(name: String, value: String)] = []
        if !callerHost { added.append(("Host", target.hostHeader)) }
        added.append(("X-Amz-Date", amzDate))
        if let token { added.append(("X-Amz-Security-Token", token)) }
        if sendsContentHash { added.append(("X-Amz-Content-SHA256", payloadHash)) }
        for (name, value) in added { values[name.lowercased(), default: []].append(value) }

        let names = values.keys.sorted()
        let signedHeaders = names.joined(separator: ";")

        var canonical: [UInt8] = []
        canonical.reserveCapacity(512 + url.utf8.count)
        canonical.append(contentsOf: Self.asciiUppercased(method).utf8)
        canonical.append(0x0A)
        if isS3 {
            canonical.append(contentsOf: target.path.isEmpty ? [UInt8(ascii: "/")] : Array(target.path.utf8))
        } else {
            Self.percentEncode(Self.removingDotSegments(target.path.utf8), keepingSlash: true, into: &canonical)
        }
        canonical.append(0x0A)
        Self.appendCanonicalQuery(target.query, to: &canonical)
        canonical.append(0x0A)
        for name in names {
            canonical.append(contentsOf: name.utf8)
            canonical.append(UInt8(ascii: ":"))
            for (index, value) in (values[name] ?? []).enumerated() {
                if index > 0 { canonical.append(UInt8(ascii: ",")) }
                Self.appendTrimmed(value, to: &canonical)
            }
            canonical.append(0x0A)
        }
        canonical.append(0x0A)
        canonical.append(contentsOf: signedHeaders.utf8)
        canonical.append(0x0A)
        canonical.append(contentsOf: payloadHash.utf8)

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SHA256.hash(canonical).hexString)"
        let signature = signingKey(secret: credentials.secretAccessKey, day: day).authenticate(stringToSign.utf8).hexString
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        added.append(("Authorization", authorization))
        return Signature(headers: added, canonicalRequest: String(decoding: canonical, as: UTF8.self),
                         stringToSign: stringToSign, credentialScope: scope, signedHeaders: signedHeaders,
                         amzDate: amzDate, payloadHash: payloadHash, authorization: authorization, signature: signature)
    }

    /// Signs a request given by a Foundation `URL` (its `absoluteString`, which is what a
    /// client sends).
    package func sign(method: String, url: URL, headers: [(name: String, value: String)], payload: Payload,
                      credentials: AWSCredentials, date: Date) throws(SigV4Error) -> Signature {
        try sign(method: method, url: url.absoluteString, headers: headers, payload: payload, credentials: credentials, date: date)
    }

    // MARK: - Signing key

    private struct CachedSigningKey: Sendable {
        var secret: String
        var day: String
        var key: HMACSHA256
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request"),
    /// ready to authenticate (its pads already hashed), reused while the secret and day stay.
    private func signingKey(secret: String, day: String) -> HMACSHA256 {
        if let cached = keyCache.withLock({ $0 }), cached.day == day, cached.secret == secret { return cached.key }
        let kDate = HMACSHA256.authenticate(day.utf8, key: Array(("AWS4" + secret).utf8))
        let kRegion = HMACSHA256.authenticate(region.utf8, key: kDate)
        let kService = HMACSHA256.authenticate(service.utf8, key: kRegion)
        let key = HMACSHA256(key: HMACSHA256.authenticate("aws4_request".utf8, key: kService))
        keyCache.withLock { $0 = CachedSigningKey(secret: secret, day: day, key: key) }
        return key
    }

    // MARK: - Date

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, by arithmetic on the time since 1970 (no calendar, no
    /// locale): whole seconds, rounded down as botocore's `strftime` does.
    static func amzDate(_ date: Date) throws(SigV4Error) -> String {
        let interval = date.timeIntervalSince1970.rounded(.down)
        // Years 1 to 9999 only: the format has four digits for the year.
        guard interval.isFinite, interval >= -62_135_596_800, interval < 253_402_300_800 else {
            // Not `\(date)`: Date's description traps on a NaN time.
            throw SigV4Error(description: "the signing time (\(date.timeIntervalSince1970) s since 1970) is not in the years 1 to 9999")
        }
        let seconds = Int(interval)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day number.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var text = ""
        text.reserveCapacity(16)
        func append(_ value: Int, digits: Int) {
            let number = String(value)
            text += String(repeating: "0", count: max(0, digits - number.count)) + number
        }
        append(year, digits: 4)
        append(month, digits: 2)
        append(day, digits: 2)
        text += "T"
        append(secondOfDay / 3600, digits: 2)
        append(secondOfDay / 60 % 60, digits: 2)
        append(secondOfDay % 60, digits: 2)
        text += "Z"
        return text
    }

    // MARK: - Canonical forms

    /// RFC 3986 section 5.2.4 on the path, as AWS's test suite expects: `.` segments
    /// dropped, `..` removing the segment before it, empty segments (`//`) dropped; a leading
    /// and a trailing slash kept; an empty result is `/`.
    static func removingDotSegments(_ path: Substring.UTF8View) -> [UInt8] {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        guard let first = path.first, let last = path.last else { return [slash] }
        var output: [Substring.UTF8View.SubSequence] = []
        for segment in path.split(separator: slash, omittingEmptySubsequences: true) {
            if segment.elementsEqual([dot]) { continue }
            if segment.elementsEqual([dot, dot]) {
                if !output.isEmpty { output.removeLast() }
                continue
            }
            output.append(segment)
        }
        var result: [UInt8] = first == slash ? [slash] : []
        for (index, segment) in output.enumerated() {
            if index > 0 { result.append(slash) }
            result.append(contentsOf: segment)
        }
        if last == slash, !output.isEmpty { result.append(slash) }
        return result
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 unreserved: `A-Z a-z 0-9 - . _ ~`.
    @inline(__always)
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Appends `bytes` with every byte but the unreserved ones (and `/` if asked) as `%XX`.
    static func percentEncode(_ bytes: some Sequence<UInt8>, keepingSlash: Bool, into output: inout [UInt8]) {
        for byte in bytes {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "%"))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            }
        }
    }

    /// One query name or value in canonical form: `%XX` escapes decoded (an invalid escape
    /// stays as it is; a byte sequence that is not UTF-8 becomes U+FFFD, as in botocore and
    /// in AWS's servers), then percent-encoded again.
    private static func appendCanonicalComponent(_ component: Substring.UTF8View, to output: inout [UInt8]) {
        if component.allSatisfy(isUnreserved) {
            output.append(contentsOf: component)
            return
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(component.count)
        var index = component.startIndex
        while index != component.endIndex {
            let byte = component[index]
            if byte == UInt8(ascii: "%") {
                let first = component.index(after: index)
                if first != component.endIndex {
                    let second = component.index(after: first)
                    if second != component.endIndex, let high = hexValue(component[first]), let low = hexValue(component[second]) {
                        decoded.append(high << 4 | low)
                        index = component.index(after: second)
                        continue
                    }
                }
            }
            decoded.append(byte)
            index = component.index(after: index)
        }
        percentEncode(String(decoding: decoded, as: UTF8.self).utf8, keepingSlash: false, into: &output)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The query's parameters (every `&`-separated piece, split at its first `=`), each side
    /// in canonical form, sorted by name then value, joined with `&`.
    private static func appendCanonicalQuery(_ query: Substring, to output: inout [UInt8]) {
        guard !query.isEmpty else { return }
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        for piece in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            let text = Substring(piece)
            var name: [UInt8] = [], value: [UInt8] = []
            if let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
                appendCanonicalComponent(text[..<equals].utf8, to: &name)
                appendCanonicalComponent(text[text.utf8.index(after: equals)...].utf8, to: &value)
            } else {
                appendCanonicalComponent(text.utf8, to: &name)
            }
            pairs.append((name, value))
        }
        pairs.sort { left, right in
            left.name == right.name ? left.value.lexicographicallyPrecedes(right.value) : left.name.lexicographicallyPrecedes(right.name)
        }
        for (index, pair) in pairs.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "&")) }
            output.append(contentsOf: pair.name)
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: pair.value)
        }
    }

    /// Appends `value` without leading and trailing whitespace and with each inner run of
    /// whitespace as one space. Whitespace is what Python's `str.split()` splits on (Unicode
    /// White_Space and U+001C–U+001F), which is what botocore trims.
    private static func appendTrimmed(_ value: String, to output: inout [UInt8]) {
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            var pendingSpace = false, started = false
            for byte in value.utf8 {
                if byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte) {
                    pendingSpace = started
                } else {
                    if pendingSpace { output.append(0x20) }
                    pendingSpace = false
                    started = true
                    output.append(byte)
                }
            }
            return
        }
        var pendingSpace = false, started = false
        for scalar in value.unicodeScalars {
            if scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value) {
                pendingSpace = started
            } else {
                if pendingSpace { output.append(0x20) }
                pendingSpace = false
                started = true
                output.append(contentsOf: String(scalar).utf8)
            }
        }
    }

    /// An RFC 9110 token: the characters a header name may have.
    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    private static func asciiLowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else { return text }
        return String(decoding: text.utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    private static func asciiUppercased(_ text: String) -> String {
        guard text.utf8.contains(where: { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else { return text }
        return String(decoding: text.utf8.map { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) ? $0 & ~0x20 : $0 }, as: UTF8.self)
    }
}

/// The parts of a request URL that SigV4 signs, split the way Python's `urlsplit` splits them
/// (which is what botocore signs): `scheme://[userinfo@]host[:port]/path?query#fragment`.
/// Split on bytes, not characters: a combining mark after a `/` must not hide the slash.
private struct RequestURL {
    /// The `Host` header for it: the host lowercased, with `:port` unless the port is the
    /// scheme's default.
    var hostHeader: String
    /// Empty when the URL has no path.
    var path: Substring
    var query: Substring

    init(_ text: String) throws(SigV4Error) {
        func failure(_ reason: String) -> SigV4Error {
            SigV4Error(description: "cannot sign a request to '\(Self.shown(text))': \(reason)")
        }
        let bytes = text.utf8
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw SigV4Error(description: "cannot sign a request to a URL with control characters")
        }
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), let first = bytes.first, isLetter(first),
              bytes[..<colon].allSatisfy({ isLetter($0) || isDigit($0) || "+-.".utf8.contains($0) }),
              text[colon...].utf8.starts(with: "://".utf8)
        else { throw failure("it is not an absolute URL (scheme://host/path)") }
        let scheme = text[..<colon].lowercased()
        var rest = text[bytes.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.utf8.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
            ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if let hash = rest.utf8.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        if let question = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = rest[..<question]
            query = rest[rest.utf8.index(after: question)...]
        } else {
            path = rest
            query = ""
        }

        let hostAndPort = authority.utf8.lastIndex(of: UInt8(ascii: "@")).map { authority[authority.utf8.index(after: $0)...] } ?? authority
        let host: Substring, port: Substring
        if hostAndPort.utf8.first == UInt8(ascii: "[") {
            guard let close = hostAndPort.utf8.firstIndex(of: UInt8(ascii: "]")) else { throw failure("an IPv6 address without its ']'") }
            host = hostAndPort[...close]
            let after = hostAndPort[hostAndPort.utf8.index(after: close)...]
            guard after.isEmpty || after.utf8.first == UInt8(ascii: ":") else { throw failure("text after the IPv6 address") }
            port = after.isEmpty ? "" : after[after.utf8.index(after: after.startIndex)...]
        } else {
            guard !hostAndPort.utf8.contains(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }) else {
                throw failure("a malformed IPv6 address")
            }
            let colon = hostAndPort.utf8.firstIndex(of: UInt8(ascii: ":"))
            host = colon.map { hostAndPort[..<$0] } ?? hostAndPort
            port = colon.map { hostAndPort[hostAndPort.utf8.index(after: $0)...] } ?? ""
        }
        guard !host.isEmpty else { throw failure("it has no host") }
        var hostHeader = host.lowercased()
        if !port.isEmpty {
            guard port.utf8.allSatisfy(isDigit), let number = Int(port), number <= 65535 else {
                throw failure("the port '\(port)' is not a number from 0 to 65535")
            }
            let defaultPort = ["http": 80, "https": 443][scheme]
            if number != defaultPort { hostHeader += ":\(number)" }
        }
        self.hostHeader = hostHeader
    }

    /// The URL for an error message, without what may be a credential: the query and the
    /// fragment are left out (a presigned URL carries its signature and token there) and so is
    /// `user:password@`; long URLs are cut.
    static func shown(_ text: String) -> String {
        var shown = text.prefix { $0 != "?" && $0 != "#" }
        if let start = shown.range(of: "://")?.upperBound {
            let authorityEnd = shown[start...].firstIndex(of: "/") ?? shown.endIndex
            if let at = shown[start..<authorityEnd].lastIndex(of: "@") {
                shown = shown[..<start] + shown[shown.index(after: at)...]
            }
        }
        let hidden = shown.count < text.count ? "…" : ""
        return String(shown.prefix(200)) + (shown.count > 200 ? "…" : hidden)
    }
}
