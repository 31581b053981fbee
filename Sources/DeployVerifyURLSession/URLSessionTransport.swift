import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import DeployVerifyKit
import InfoEndpoint

/// `https://` through URLSession, the transport on Darwin. Linux uses libcurl directly
/// (``CurlTransport``): this target is linked there only by the tests, so that the CLIs do not
/// load FoundationNetworking and libcurl's thirty-odd libraries at every start. Made safe for
/// probing (and for running the same tests on Linux):
/// - our own timer enforces the timeout to the millisecond (URLSession rounds it to whole
///   seconds and never enforces resource timeouts), then cancels the task;
/// - each request is a `dataTask` resumed through a continuation of our own (cancelling
///   `data(for:)` can crash or hang in swift-corelibs-foundation 6.3.1);
/// - the delegate stops reading at the body cap and does not follow redirects (the probe layer
///   follows them, the same way for both transports);
/// - no cache, no cookies, as many connections per host as the prober's concurrency.
package final class URLSessionTransport: NSObject, URLSessionDataDelegate, ProbeTransport, @unchecked Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>?
        var task: URLSessionDataTask?
        var timer: Task<Void, Never>?
        var started: ContinuousClock.Instant
        var maxBodyBytes: Int
        var response: HTTPURLResponse?
        var firstByte: Duration?
        var body: [UInt8] = []
        var overflow = false
    }

    private var session: URLSession!
    private let pending = Locked<[Int: Pending]>([:])
    private let lastID = Locked(0)
    private let userAgent: String

    package init(maxConnectionsPerHost: Int, userAgent: String) {
        self.userAgent = userAgent
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpMaximumConnectionsPerHost = max(6, maxConnectionsPerHost)
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.timeoutIntervalForRequest = 3600
        configuration.timeoutIntervalForResource = 3600
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    package func execute(url: URL, request: ClientRequest) async -> Result<ClientResponse, ClientFailure> {
        let id = lastID.withLock { id in
            id += 1
            return id
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval = max(1, (request.timeout.seconds + 1).rounded(.up))
        urlRequest.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if request.freshConnection { urlRequest.setValue("close", forHTTPHeaderField: "Connection") }
        if !request.body.isEmpty { urlRequest.httpBody = Data(request.body) }
        let timeout = request.timeout
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let task = session.dataTask(with: urlRequest)
                task.taskDescription = String(id)
                pending.withLock {
                    $0[id] = Pending(continuation: continuation, task: task, started: .now, maxBodyBytes: request.maxBodyBytes)
                }
                let timer = Task { [weak self] in
                    do { try await Task.sleep(for: timeout) } catch { return }
                    self?.finish(id, .failure(.timeout(phase: "waiting for the response", after: timeout)), cancelTask: true)
                }
                pending.withLock { $0[id]?.timer = timer }
                task.resume()
                // Cancelled before the request was registered: the handler found nothing to cancel.
                if Task.isCancelled { finish(id, .failure(.cancelled), cancelTask: true) }
            }
        } onCancel: {
            finish(id, .failure(.cancelled), cancelTask: true)
        }
    }

    /// Resumes the caller once, from whichever comes first: completion, timer, cancellation.
    private func finish(_ id: Int, _ result: Result<ClientResponse, ClientFailure>, cancelTask: Bool) {
        guard let entry = pending.withLock({ $0.removeValue(forKey: id) }) else { return }
        entry.timer?.cancel()
        if cancelTask { entry.task?.cancel() }
        entry.continuation?.resume(returning: result)
    }

    private static func id(of task: URLSessionTask) -> Int? {
        task.taskDescription.flatMap { Int($0) }
    }

    // MARK: URLSessionDataDelegate

    package func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let id = Self.id(of: dataTask) else { return completionHandler(.cancel) }
        let tooLarge = pending.withLock { pending -> Bool in
            guard var entry = pending[id] else { return false }
            entry.response = response as? HTTPURLResponse
            entry.firstByte = ContinuousClock.now - entry.started
            let declared = response.expectedContentLength
            entry.overflow = declared > Int64(entry.maxBodyBytes)
            pending[id] = entry
            return entry.overflow
        }
        if tooLarge {
            completionHandler(.cancel)
            finishTooLarge(id)
        } else {
            completionHandler(.allow)
        }
    }

    package func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let id = Self.id(of: dataTask) else { return }
        let tooLarge = pending.withLock { pending -> Bool in
            guard var entry = pending[id] else { return false }
            if entry.body.count + data.count > entry.maxBodyBytes {
                entry.overflow = true
            } else {
                entry.body.append(contentsOf: data)
            }
            pending[id] = entry
            return entry.overflow
        }
        if tooLarge { finishTooLarge(id) }
    }

    private func finishTooLarge(_ id: Int) {
        let limit = pending.withLock { $0[id]?.maxBodyBytes } ?? 0
        finish(id, .failure(.tooLarge(limit: limit)), cancelTask: true)
    }

    package func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil) // the 3xx itself is the response; the prober follows it
    }

    package func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let id = Self.id(of: task), let entry = pending.withLock({ $0[id] }) else { return }
        if let error {
            finish(id, .failure(Self.classify(error, url: task.originalRequest?.url)), cancelTask: false)
            return
        }
        guard let response = entry.response else {
            finish(id, .failure(.protocolError("no HTTP response")), cancelTask: false)
            return
        }
        let total = ContinuousClock.now - entry.started
        let headers = response.allHeaderFields.compactMap { key, value -> (name: String, value: String)? in
            guard let name = key as? String else { return nil }
            return (name, "\(value)")
        }
        finish(id, .success(ClientResponse(status: response.statusCode,
                                           reason: HTTPURLResponse.localizedString(forStatusCode: response.statusCode),
                                           headers: headers, body: entry.body, connected: nil,
                                           firstByte: entry.firstByte ?? total, total: total, reusedConnection: false)),
               cancelTask: false)
    }

    /// NSURLErrorDomain codes to the probe layer's failure classes.
    static func classify(_ error: Error, url: URL?) -> ClientFailure {
        let nsError = error as NSError
        let message = nsError.localizedDescription
        guard nsError.domain == NSURLErrorDomain else { return .connectFailed(message) }
        switch nsError.code {
        case NSURLErrorCannotConnectToHost: return .refused("connection refused (\(message))")
        case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: return .dns(message)
        case NSURLErrorTimedOut: return .timeout(phase: "waiting for the response", after: .zero)
        case NSURLErrorSecureConnectionFailed, NSURLErrorServerCertificateHasBadDate, NSURLErrorServerCertificateUntrusted,
             NSURLErrorServerCertificateHasUnknownRoot, NSURLErrorServerCertificateNotYetValid,
             NSURLErrorClientCertificateRejected, NSURLErrorClientCertificateRequired:
            return .tls(message)
        case NSURLErrorNetworkConnectionLost: return .reset("the connection was lost (\(message))")
        case NSURLErrorBadServerResponse:
            // libcurl's "Empty reply from server": closed without a byte of response.
            return message.contains("Empty reply") ? .reset("the server closed the connection without a response")
                : .protocolError(message)
        case NSURLErrorUnsupportedURL:
            // The probe layer only hands over http(s) URLs; libcurl reports a non-HTTP answer
            // ("Received HTTP/0.9 when not allowed") with this code.
            return .protocolError("not an HTTP response (\(message))")
        case NSURLErrorCancelled: return .cancelled
        case NSURLErrorUnknown where url?.scheme?.lowercased() == "https":
            // swift-corelibs-foundation reports libcurl's TLS failures (certificate verification,
            // handshake) as -1 "unknown".
            return .tls("TLS handshake or certificate verification failed (\(message))")
        default: return .connectFailed("\(message) (NSURLErrorDomain \(nsError.code))")
        }
    }
}
