import CShims
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#endif

/// `https://` on Linux: libcurl's easy interface, driven directly.
///
/// URLSession on Linux is a Swift layer over the same libcurl, and that layer can end the
/// process with a `fatalError` on legal responses (a chunked body with trailer fields:
/// swift-corelibs-foundation#5285); a tool that must survive any endpoint cannot use it.
/// Underneath, libcurl gives what this layer needs: millisecond timeouts, a body cap, no
/// redirect following, exact TLS error messages, and abort on cancellation. Each exchange runs
/// on a thread of its own (bounded by the prober's concurrency); easy handles, and so their
/// connections, are kept for reuse.
final class CurlTransport: ProbeTransport, @unchecked Sendable {
    private let idleHandles = Locked<[UnsafeMutableRawPointer]>([])
    private let userAgent: String
    private let caCertificateFile: String?

    /// Nil when libcurl cannot be loaded.
    static func make(userAgent: String, caCertificateFile: String? = nil) -> CurlTransport? {
        cshims_curl_load() == 1 ? CurlTransport(userAgent: userAgent, caCertificateFile: caCertificateFile) : nil
    }

    private init(userAgent: String, caCertificateFile: String?) {
        self.userAgent = userAgent
        self.caCertificateFile = caCertificateFile
    }

    func execute(url: URL, request: ClientRequest) async -> Result<ClientResponse, ClientFailure> {
        let exchange = CurlExchange(request: request)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                exchange.attach(continuation)
                Thread.detachNewThread { [self] in perform(url: url, exchange: exchange) }
            }
        } onCancel: {
            exchange.cancel()
        }
    }

    private func perform(url: URL, exchange: CurlExchange) {
        let request = exchange.request
        guard let handle = idleHandles.withLock({ $0.popLast() }) ?? cshims_curl_easy_init() else {
            exchange.finish(.failure(.connectFailed("libcurl could not create a handle")))
            return
        }
        cshims_curl_easy_reset(handle)
        var headerList: UnsafeMutableRawPointer?
        for (name, value) in request.headers {
            headerList = cshims_curl_slist_append(headerList, "\(name): \(value)")
        }
        if request.freshConnection {
            headerList = cshims_curl_slist_append(headerList, "Connection: close")
        }
        // curl adds "Expect: 100-continue" to larger bodies; a probe has no use for the wait.
        headerList = cshims_curl_slist_append(headerList, "Expect:")
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
        errorBuffer.initialize(repeating: 0, count: 256)
        defer {
            cshims_curl_slist_free_all(headerList)
            errorBuffer.deallocate()
        }
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        _ = cshims_curl_setopt_pointer(handle, Option.url, url.absoluteString)
        _ = cshims_curl_setopt_long(handle, Option.protocols, 1 | 2) // http, https only
        _ = cshims_curl_setopt_long(handle, Option.noSignal, 1)
        _ = cshims_curl_setopt_long(handle, Option.followLocation, 0)
        _ = cshims_curl_setopt_long(handle, Option.timeoutMilliseconds, Int(max(1, request.timeout.milliseconds)))
        _ = cshims_curl_setopt_long(handle, Option.connectTimeoutMilliseconds, Int(max(1, request.connectTimeout.milliseconds)))
        _ = cshims_curl_setopt_long(handle, Option.maxFileSize, request.maxBodyBytes)
        _ = cshims_curl_setopt_pointer(handle, Option.userAgent, userAgent)
        _ = cshims_curl_setopt_pointer(handle, Option.httpHeader, headerList)
        _ = cshims_curl_setopt_pointer(handle, Option.errorBuffer, errorBuffer)
        if let caCertificateFile { _ = cshims_curl_setopt_pointer(handle, Option.caInfo, caCertificateFile) }
        switch request.method {
        case "GET": break
        case "HEAD": _ = cshims_curl_setopt_long(handle, Option.noBody, 1)
        default: _ = cshims_curl_setopt_pointer(handle, Option.customRequest, request.method)
        }
        if !request.body.isEmpty {
            _ = cshims_curl_setopt_long(handle, Option.postFieldSize, request.body.count)
            request.body.withUnsafeBytes { _ = cshims_curl_setopt_pointer(handle, Option.copyPostFields, $0.baseAddress) }
        }
        if request.freshConnection {
            _ = cshims_curl_setopt_long(handle, Option.freshConnect, 1)
            _ = cshims_curl_setopt_long(handle, Option.forbidReuse, 1)
        }
        _ = cshims_curl_setopt_data_callback(handle, Option.writeFunction, CurlExchange.onBody)
        _ = cshims_curl_setopt_pointer(handle, Option.writeData, context)
        _ = cshims_curl_setopt_data_callback(handle, Option.headerFunction, CurlExchange.onHeader)
        _ = cshims_curl_setopt_pointer(handle, Option.headerData, context)
        _ = cshims_curl_setopt_long(handle, Option.noProgress, 0)
        _ = cshims_curl_setopt_progress_callback(handle, Option.progressFunction, CurlExchange.onProgress)
        _ = cshims_curl_setopt_pointer(handle, Option.progressData, context)

        let code = withExtendedLifetime(exchange) { cshims_curl_perform(handle) }
        var status = 0
        var osError = 0
        var connectTime = 0.0, firstByteTime = 0.0, totalTime = 0.0
        var connects = 0
        _ = cshims_curl_getinfo_long(handle, Info.responseCode, &status)
        _ = cshims_curl_getinfo_long(handle, Info.osErrno, &osError)
        _ = cshims_curl_getinfo_double(handle, Info.connectTime, &connectTime)
        _ = cshims_curl_getinfo_double(handle, Info.startTransferTime, &firstByteTime)
        _ = cshims_curl_getinfo_double(handle, Info.totalTime, &totalTime)
        _ = cshims_curl_getinfo_long(handle, Info.numConnects, &connects)
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: cshims_curl_strerror(code)) : detail

        if code == 0 && !request.freshConnection {
            idleHandles.withLock { $0.append(handle) } // keeps its connection for the next exchange
        } else {
            cshims_curl_easy_cleanup(handle)
        }
        if code != 0 {
            exchange.finish(.failure(exchange.overflowed ? .tooLarge(limit: request.maxBodyBytes)
                : Self.classify(code: code, osError: Int32(osError), message: message, request: request)))
            return
        }
        let parsed = exchange.snapshot()
        exchange.finish(.success(ClientResponse(
            status: status, reason: parsed.reason, headers: parsed.headers, body: parsed.body,
            connected: connects > 0 ? .nanoseconds(Int64(connectTime * 1e9)) : nil,
            firstByte: .nanoseconds(Int64(firstByteTime * 1e9)), total: .nanoseconds(Int64(totalTime * 1e9)),
            reusedConnection: connects == 0)))
    }

    /// CURLcode to the probe layer's failure classes.
    static func classify(code: Int32, osError: Int32, message: String, request: ClientRequest) -> ClientFailure {
        let target = "\(request.host):\(request.port)"
        switch code {
        case 1, 3: return .protocolError(message)
        case 5, 6: return .dns(message)
        case 7: return osError == ECONNREFUSED ? .refused("connection refused by \(target)") : .connectFailed(message)
        case 28: return .timeout(phase: message.contains("onnect") ? "connecting" : "waiting for the response", after: request.timeout)
        case 35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98: return .tls(message)
        case 18, 52, 55, 56: return .reset(message)
        case 63: return .tooLarge(limit: request.maxBodyBytes)
        case 42: return .cancelled
        case 8, 16, 61, 92: return .protocolError(message)
        default: return .connectFailed("\(message) (libcurl error \(code))")
        }
    }

    private enum Option {
        static let writeData: Int32 = 10001
        static let url: Int32 = 10002
        static let errorBuffer: Int32 = 10010
        static let writeFunction: Int32 = 20011
        static let userAgent: Int32 = 10018
        static let httpHeader: Int32 = 10023
        static let headerData: Int32 = 10029
        static let customRequest: Int32 = 10036
        static let noProgress: Int32 = 43
        static let caInfo: Int32 = 10065
        static let noBody: Int32 = 44
        static let followLocation: Int32 = 52
        static let progressData: Int32 = 10057
        static let postFieldSize: Int32 = 60
        static let freshConnect: Int32 = 74
        static let forbidReuse: Int32 = 75
        static let headerFunction: Int32 = 20079
        static let noSignal: Int32 = 99
        static let maxFileSize: Int32 = 114
        static let timeoutMilliseconds: Int32 = 155
        static let connectTimeoutMilliseconds: Int32 = 156
        static let copyPostFields: Int32 = 10165
        static let protocols: Int32 = 181
        static let progressFunction: Int32 = 20219
    }

    private enum Info {
        static let responseCode: Int32 = 0x200000 + 2
        static let totalTime: Int32 = 0x300000 + 3
        static let connectTime: Int32 = 0x300000 + 5
        static let startTransferTime: Int32 = 0x300000 + 17
        static let osErrno: Int32 = 0x200000 + 25
        static let numConnects: Int32 = 0x200000 + 26
    }
}

/// One exchange's state, shared between the caller, the transfer thread and libcurl's callbacks.
private final class CurlExchange: @unchecked Sendable {
    let request: ClientRequest
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>?
    private var cancelled = false
    private(set) var overflowed = false
    private var reason = ""
    private var headers: [(name: String, value: String)] = []
    private var body: [UInt8] = []
    private var bodyStarted = false

    init(request: ClientRequest) {
        self.request = request
    }

    func attach(_ continuation: CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>) {
        let alreadyCancelled = lock.withLock { () -> Bool in
            if !cancelled { self.continuation = continuation }
            return cancelled
        }
        // Cancelled before the exchange began: answer now; the transfer aborts on its own.
        if alreadyCancelled { continuation.resume(returning: .failure(.cancelled)) }
    }

    /// The caller gets `.cancelled` at once; libcurl aborts at its next progress callback.
    func cancel() {
        lock.withLock { cancelled = true }
        finish(.failure(.cancelled))
    }

    func finish(_ result: Result<ClientResponse, ClientFailure>) {
        let continuation = lock.withLock { () -> CheckedContinuation<Result<ClientResponse, ClientFailure>, Never>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(returning: result)
    }

    func snapshot() -> (reason: String, headers: [(name: String, value: String)], body: [UInt8]) {
        lock.withLock { (reason, headers, body) }
    }

    static let onBody: cshims_curl_data_callback = { data, size, count, context in
        let exchange = Unmanaged<CurlExchange>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        return exchange.lock.withLock {
            exchange.bodyStarted = true
            guard exchange.body.count + length <= exchange.request.maxBodyBytes else {
                exchange.overflowed = true
                return 0 // makes libcurl stop with CURLE_WRITE_ERROR
            }
            if let data { exchange.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
            return length
        }
    }

    /// Header lines of every response block (interim and final) arrive here, and trailer
    /// fields after the body; the last block before the body is the one kept.
    static let onHeader: cshims_curl_data_callback = { data, size, count, context in
        let exchange = Unmanaged<CurlExchange>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        guard let data else { return length }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            .trimmed
        exchange.lock.withLock {
            guard !exchange.bodyStarted else { return }
            if line.hasPrefix("HTTP/") {
                exchange.headers = []
                let parts = line.split(separator: " ", maxSplits: 2)
                exchange.reason = parts.count > 2 ? String(parts[2]) : ""
            } else if let colon = line.firstIndex(of: ":") {
                exchange.headers.append((line[..<colon].trimmed,
                                         line[line.index(after: colon)...].trimmed))
            }
        }
        return length
    }

    static let onProgress: cshims_curl_progress_callback = { context, _, _, _, _ in
        let exchange = Unmanaged<CurlExchange>.fromOpaque(context!).takeUnretainedValue()
        return exchange.lock.withLock { exchange.cancelled } ? 1 : 0
    }
}
