import Foundation
import InfoEndpoint

/// How to read URLs: the same for one URL or ten thousand.
package struct ProbeOptions: Sendable {
    package var method = "GET"
    package var headers: [(name: String, value: String)] = []
    package var body: [UInt8] = []
    /// Time allowed per URL, redirects included.
    package var timeout: Duration = .seconds(5)
    /// Time allowed to resolve and connect (within `timeout`).
    package var connectTimeout: Duration = .seconds(2)
    package var maxBodyBytes = 1 << 20
    package var maxRedirects = 5
    /// URLs read at once by ``Prober/probeAll(_:freshConnection:deadline:)``.
    package var concurrency = 64
    package var userAgent = "DeployVerify"
    /// PEM file of the certificate authorities to trust for `https://`, in place of the
    /// system's (libcurl transport; URLSession on Linux cannot be given one).
    package var caCertificateFile: String?
    package var transport = ProbeTransportChoice.automatic
    /// The `https://` transport of `.automatic`; nil means libcurl.
    package var secureTransport: (any ProbeTransport)?

    package init() {}
}

package enum ProbeTransportChoice: Sendable {
    /// `http://` through DeployVerify's own client; `https://` through
    /// ``ProbeOptions/secureTransport`` when given (URLSession on Darwin), otherwise libcurl.
    case automatic
    /// Everything through libcurl, to hold that path to the same tests over plain HTTP.
    case curl
    /// Everything through this transport (the tests force URLSession this way).
    case only(any ProbeTransport)
}

/// The probe layer: reads URLs concurrently and reports status, headers, a capped body,
/// timings and a classified failure for each, never hanging past the deadlines it was given.
package final class Prober: Sendable {
    package let options: ProbeOptions
    private let client: HTTPClient
    private let curl = Locked<CurlTransport??>(nil)

    package init(options: ProbeOptions = ProbeOptions()) throws {
        self.options = options
        self.client = try HTTPClient(idleTimeout: .seconds(30), userAgent: options.userAgent)
    }

    /// Reads every URL, at most `options.concurrency` at a time, and returns the results in
    /// the order of `urls`. URLs not read by `deadline` fail with a timeout.
    package func probeAll(_ urls: [String], freshConnection: Bool = false,
                          deadline: ContinuousClock.Instant? = nil) async -> [ProbeResult] {
        await probeAll(urls.map { ($0, options) }, freshConnection: freshConnection, deadline: deadline)
    }

    /// Reads URLs with options of their own (headers per service), at most
    /// `options.concurrency` at a time, results in order.
    package func probeAll(_ requests: [(url: String, options: ProbeOptions)], freshConnection: Bool = false,
                          deadline: ContinuousClock.Instant? = nil) async -> [ProbeResult] {
        var results = [ProbeResult?](repeating: nil, count: requests.count)
        await withTaskGroup(of: (Int, ProbeResult).self) { group in
            var next = 0
            func addNext() {
                guard next < requests.count else { return }
                let index = next
                next += 1
                group.addTask {
                    (index, await self.probe(requests[index].url, options: requests[index].options,
                                             freshConnection: freshConnection, deadline: deadline))
                }
            }
            for _ in 0..<max(1, options.concurrency) { addNext() }
            while let (index, result) = await group.next() {
                results[index] = result
                addNext()
            }
        }
        return results.map { $0! }
    }

    /// Reads one URL, following redirects up to `options.maxRedirects`.
    package func probe(_ url: String, freshConnection: Bool = false, deadline: ContinuousClock.Instant? = nil) async -> ProbeResult {
        await probe(url, options: options, freshConnection: freshConnection, deadline: deadline)
    }

    /// Reads one URL with options of its own (method, headers, body, limits); the transport
    /// settings and connections of this prober are shared. With `maxRedirects` 0 a redirect is
    /// not followed: the 3xx response is the answer.
    package func probe(_ url: String, options: ProbeOptions, freshConnection: Bool = false,
                       deadline: ContinuousClock.Instant? = nil) async -> ProbeResult {
        let started = ContinuousClock.now
        var limit = started + options.timeout
        var limitedByDeadline = false
        if let deadline, deadline < limit {
            limit = deadline
            limitedByDeadline = true
        }
        var result = ProbeResult(url: url, finalURL: url, timings: ProbeTimings(connect: nil, firstByte: nil, total: .zero))
        func done(_ failure: ProbeFailure?) -> ProbeResult {
            result.failure = failure
            result.timings.total = ContinuousClock.now - started
            return result
        }
        var method = options.method
        var body = options.body
        var current = url
        var visited: Set<String> = [url]
        while true {
            let target: ProbeTarget
            switch ProbeTarget.parse(current) {
            case .success(let parsed): target = parsed
            case .failure(let failure): return done(failure)
            }
            let remaining = limit - ContinuousClock.now
            guard remaining > .zero else {
                return done(.timeout(limitedByDeadline ? "the overall deadline passed before an answer came"
                    : "no answer within \(DurationText.format(options.timeout))"))
            }
            var headers = options.headers
            if let authorization = target.basicAuthorization,
               !headers.contains(where: { $0.name.caseInsensitiveEquals("Authorization") }) {
                headers.append(("Authorization", authorization))
            }
            let request = ClientRequest(host: target.host, port: target.port, method: method, target: target.requestTarget,
                                        headers: headers, body: body, connectTimeout: min(options.connectTimeout, remaining),
                                        timeout: remaining, maxBodyBytes: options.maxBodyBytes,
                                        freshConnection: freshConnection)
            let hopStarted = ContinuousClock.now - started
            let outcome = await exchange(target, request, options)
            switch outcome {
            case .failure(.timeout(_, let after)) where limitedByDeadline && after != options.connectTimeout:
                // The time left before the overall deadline was the binding limit.
                return done(.timeout("the overall deadline passed before an answer came"))
            case .failure(.timeout(let phase, _)):
                return done(.timeout("no answer within \(DurationText.format(options.timeout)) (\(phase))"))
            case .failure(let failure):
                return done(ProbeFailure(failure))
            case .success(let response):
                if result.timings.connect == nil, let connected = response.connected {
                    result.timings.connect = hopStarted + connected
                }
                result.timings.firstByte = hopStarted + response.firstByte
                result.status = response.status
                result.headers = response.headers
                result.body = response.body
                result.finalURL = current
                guard options.maxRedirects > 0, [301, 302, 303, 307, 308].contains(response.status),
                      let location = response.header("Location") else {
                    return done(response.status >= 400 ? .httpError(response.status) : nil)
                }
                guard let base = target.url, let next = URL(string: location, relativeTo: base)?.absoluteURL.absoluteString else {
                    return done(.protocolError("redirect to an invalid location '\(location.prefix(200))'"))
                }
                let chain = ([url] + result.redirects + [next]).joined(separator: " → ")
                if visited.contains(next) {
                    return done(.redirectLoop("redirect loop: \(chain)"))
                }
                if result.redirects.count >= options.maxRedirects {
                    return done(.redirectLoop("more than \(options.maxRedirects) redirects: \(chain)"))
                }
                visited.insert(next)
                result.redirects.append(next)
                current = next
                if response.status == 303 || ((response.status == 301 || response.status == 302) && method == "POST") {
                    method = "GET"
                    body = []
                }
            }
        }
    }

    private func exchange(_ target: ProbeTarget, _ request: ClientRequest, _ options: ProbeOptions) async -> Result<ClientResponse, ClientFailure> {
        if case .automatic = options.transport, !target.isSecure { return await client.execute(request) }
        guard let url = target.url else {
            return .failure(.protocolError("'\(Redaction.url(target.text))' cannot be handed to the \(target.isSecure ? "https" : "test") transport"))
        }
        switch options.transport {
        case .only(let transport):
            return await transport.execute(url: url, request: request)
        case .automatic where !target.isSecure:
            return await client.execute(request)
        case .automatic where options.secureTransport != nil:
            return await options.secureTransport!.execute(url: url, request: request)
        case .automatic, .curl:
            guard let curl = curlTransport() else {
                return .failure(.tls("https needs libcurl (libcurl.so.4), which cannot be loaded on this machine"))
            }
            return await curl.execute(url: url, request: request)
        }
    }

    private func curlTransport() -> CurlTransport? {
        curl.withLock { transport in
            if let transport { return transport }
            let created = CurlTransport.make(userAgent: options.userAgent, caCertificateFile: options.caCertificateFile)
            transport = .some(created)
            return created
        }
    }
}

/// A URL the probe layer can read: `http` or `https`, with a host.
package struct ProbeTarget {
    /// The URL as given.
    let text: String
    let isSecure: Bool
    let host: String
    let port: Int
    /// Path and query for the request line.
    let requestTarget: String
    /// From `user:password@` in the URL, as curl does.
    let basicAuthorization: String?

    /// For the transports that take a `URL` (https, tests) and for resolving redirects.
    var url: URL? { URL(string: text) }

    package static func parse(_ text: String) -> Result<ProbeTarget, ProbeFailure> {
        if let simple = parseSimple(text) { return .success(simple) }
        return parseWithFoundation(text)
    }

    /// `http(s)://host[:port][/path][?query]` with plain ASCII and nothing to decode: most URLs,
    /// read without Foundation's parser (a fleet's 10,000 URLs are parsed every cycle). Anything
    /// else (credentials, IPv6, percent-escapes, fragments, unusual characters) returns nil.
    static func parseSimple(_ text: String) -> ProbeTarget? {
        let bytes = Array(text.utf8)
        func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
        let secure: Bool
        var index: Int
        if bytes.count > 7, bytes[0..<7].map(lower) == Array("http://".utf8) {
            secure = false
            index = 7
        } else if bytes.count > 8, bytes[0..<8].map(lower) == Array("https://".utf8) {
            secure = true
            index = 8
        } else {
            return nil
        }
        let hostStart = index
        while index < bytes.count {
            let byte = bytes[index]
            let isHostByte = (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            guard isHostByte else { break }
            index += 1
        }
        guard index > hostStart else { return nil }
        let host = String(decoding: bytes[hostStart..<index], as: UTF8.self)
        var port = secure ? 443 : 80
        if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
            index += 1
            let portStart = index
            var value = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57, index - portStart < 5 {
                value = value * 10 + Int(bytes[index] - 48)
                index += 1
            }
            guard index > portStart, value <= 65535 else { return nil }
            port = value
        }
        guard index == bytes.count || bytes[index] == UInt8(ascii: "/") || bytes[index] == UInt8(ascii: "?") else { return nil }
        // The rest goes on the request line as written: only characters that need no encoding.
        for byte in bytes[index...] {
            guard byte > 0x20, byte < 0x7F else { return nil }
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "#"), UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"),
                 UInt8(ascii: "\\"), UInt8(ascii: "^"), UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"),
                 UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "@"):
                return nil
            default: continue
            }
        }
        var requestTarget = String(decoding: bytes[index...], as: UTF8.self)
        if requestTarget.isEmpty || requestTarget.first == "?" { requestTarget = "/" + requestTarget }
        return ProbeTarget(text: text, isSecure: secure, host: host, port: port, requestTarget: requestTarget, basicAuthorization: nil)
    }

    static func parseWithFoundation(_ text: String) -> Result<ProbeTarget, ProbeFailure> {
        guard let components = URLComponents(string: text), let url = components.url else {
            return .failure(.invalidURL("'\(Redaction.url(text))' is not a valid URL"))
        }
        let scheme = components.scheme?.lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(.invalidURL("'\(Redaction.url(text))' is not an http:// or https:// URL"))
        }
        guard var host = components.host, !host.isEmpty else {
            return .failure(.invalidURL("'\(Redaction.url(text))' has no host"))
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let secure = scheme == "https"
        var requestTarget = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { requestTarget += "?" + query }
        var authorization: String?
        if let user = components.user {
            let credentials = user + ":" + (components.password ?? "")
            authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
        }
        return .success(ProbeTarget(text: url.absoluteString, isSecure: secure, host: host, port: components.port ?? (secure ? 443 : 80),
                                    requestTarget: requestTarget, basicAuthorization: authorization))
    }
}
