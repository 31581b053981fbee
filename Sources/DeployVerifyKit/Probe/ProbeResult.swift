import Foundation
import InfoEndpoint

/// Why a URL could not be read, in the classes every DeployVerify report uses.
package enum ProbeFailure: Error, Sendable, Equatable {
    case invalidURL(String)
    case dns(String)
    case refused(String)
    case connectFailed(String)
    case timeout(String)
    case tls(String)
    case reset(String)
    case protocolError(String)
    case tooLarge(String)
    case redirectLoop(String)
    /// The server answered with a status of 400 or more (the response is kept).
    case httpError(Int)
    case cancelled

    /// The class name shown in tables and JSON: `refused`, `dns`, `timeout`, `tls`, `reset`,
    /// `protocol`, `too-large`, `redirect-loop`, `http-error`, `connect`, `invalid-url`, `cancelled`.
    package var className: String {
        switch self {
        case .invalidURL: "invalid-url"
        case .dns: "dns"
        case .refused: "refused"
        case .connectFailed: "connect"
        case .timeout: "timeout"
        case .tls: "tls"
        case .reset: "reset"
        case .protocolError: "protocol"
        case .tooLarge: "too-large"
        case .redirectLoop: "redirect-loop"
        case .httpError: "http-error"
        case .cancelled: "cancelled"
        }
    }

    package var message: String {
        switch self {
        case .invalidURL(let text), .dns(let text), .refused(let text), .connectFailed(let text), .timeout(let text),
             .tls(let text), .reset(let text), .protocolError(let text), .tooLarge(let text), .redirectLoop(let text):
            text
        case .httpError(let status): "the server answered HTTP \(status)"
        case .cancelled: "cancelled"
        }
    }

    init(_ failure: ClientFailure) {
        switch failure {
        case .dns(let text): self = .dns(text)
        case .refused(let text): self = .refused(text)
        case .connectFailed(let text): self = .connectFailed(text)
        case .timeout(let phase, let after):
            self = .timeout(after == .zero ? "timed out \(phase)" : "no answer within \(DurationText.format(after)) (\(phase))")
        case .reset(let text): self = .reset(text)
        case .tooLarge(let limit): self = .tooLarge("the body is larger than the \(ByteCount.format(limit)) limit")
        case .protocolError(let text): self = .protocolError(text)
        case .tls(let text): self = .tls(text)
        case .cancelled: self = .cancelled
        }
    }
}

/// Durations of one probe, measured from its start (over all redirects for `total`).
package struct ProbeTimings: Sendable {
    /// TCP connection established (nil: a kept-alive connection was reused, or URLSession).
    package var connect: Duration?
    package var firstByte: Duration?
    package var total: Duration
}

/// What reading one URL gave.
package struct ProbeResult: Sendable {
    /// The URL as asked for.
    package var url: String
    /// Where the answer came from, after redirects.
    package var finalURL: String
    package var status: Int?
    package var headers: [(name: String, value: String)] = []
    package var body: [UInt8] = []
    package var timings: ProbeTimings
    /// Locations followed, in order.
    package var redirects: [String] = []
    package var failure: ProbeFailure?

    package func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveEquals(name) }?.value
    }
}

/// Byte counts as DeployVerify writes and reads them: `512`, `64KiB`, `1MiB`.
package enum ByteCount {
    package static func format(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    /// `1048576`, `512KiB`, `1MiB`, `2MB` (decimal), `10k`; nil when unreadable.
    package static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmed.lowercased()
        let digits = trimmed.prefix { $0.isNumber }
        guard !digits.isEmpty, let value = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmed
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb": multiplier = 1000
        case "ki", "kib": multiplier = 1 << 10
        case "m", "mb": multiplier = 1_000_000
        case "mi", "mib": multiplier = 1 << 20
        case "g", "gb": multiplier = 1_000_000_000
        case "gi", "gib": multiplier = 1 << 30
        default: return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}
