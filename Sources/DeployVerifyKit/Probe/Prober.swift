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
                guard let next = URL(string: location, relativeTo: target.url)?.absoluteURL.absoluteString else {
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
        switch options.transport {
        case .only(let transport):
            return await transport.execute(url: target.url, request: request)
        case .automatic where !target.isSecure:
            return await client.execute(request)
        case .automatic where options.secureTransport != nil:
            return await options.secureTransport!.execute(url: target.url, request: request)
        case .automatic, .curl:
            guard let curl = curlTransport() else {
                return .failure(.tls("https needs libcurl (libcurl.so.4), which cannot be loaded on this machine"))
            }
            return await curl.execute(url: target.url, request: request)
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
    let url: URL
    let isSecure: Bool
    let host: String
    let port: Int
    /// Path and query for the request line.
    let requestTarget: String
    /// From `user:password@` in the URL, as curl does.
    let basicAuthorization: String?

    package static func parse(_ text: String) -> Result<ProbeTarget, ProbeFailure> {
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
        return .success(ProbeTarget(url: url, isSecure: secure, host: host, port: components.port ?? (secure ? 443 : 80),
                                    requestTarget: requestTarget, basicAuthorization: authorization))
    }
}
