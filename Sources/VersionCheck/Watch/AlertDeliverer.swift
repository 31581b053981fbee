import DeployVerifyKit
import Foundation
import InfoEndpoint

/// Sends the outbox's deliveries. Each channel gets its alerts in order, one at a time;
/// channels are served in parallel. Network errors, 429 and 5xx are retried with exponential
/// backoff (`Retry-After` honoured); any other 4xx is permanent and recorded as failed. What is
/// still pending when the deadline comes stays in the outbox for the next run.
package struct AlertDeliverer: Sendable {
    package let channels: [String: Channel]
    package let settings: WatchSettings
    package let prober: Prober
    package let redactor: Redactor
    package let userAgent: String
    /// Where a delivery's end is reported (a line for the log).
    package let log: @Sendable (String) -> Void

    package init(channels: [String: Channel], settings: WatchSettings, prober: Prober, redactor: Redactor, userAgent: String,
                 log: @escaping @Sendable (String) -> Void) {
        self.channels = channels
        self.settings = settings
        self.prober = prober
        self.redactor = redactor
        self.userAgent = userAgent
        self.log = log
    }

    package enum Outcome: Sendable, Equatable {
        case delivered(status: Int?)
        case failed(status: Int?, detail: String)
        /// Still pending: the deadline came, or the run is stopping.
        case postponed
    }

    enum Attempt {
        case success(Int?)
        case permanent(Int?, String)
        case retry(Int?, String, after: Duration?)
    }

    /// Delivers, recording each end in the outbox (nil: a one-shot notice, nothing recorded).
    /// Returns the outcome per delivery id.
    @discardableResult
    package func deliver(_ deliveries: [Delivery], outbox: (any DeliveryLog)?, deadline: ContinuousClock.Instant?) async -> [String: Outcome] {
        let byChannel = Dictionary(grouping: deliveries, by: \.channel)
        return await withTaskGroup(of: [String: Outcome].self) { group in
            for (_, queue) in byChannel {
                group.addTask {
                    var outcomes: [String: Outcome] = [:]
                    for delivery in queue {
                        if Task.isCancelled {
                            outcomes[delivery.id] = .postponed
                            continue
                        }
                        outcomes[delivery.id] = await deliver(delivery, outbox: outbox, deadline: deadline)
                    }
                    return outcomes
                }
            }
            var all: [String: Outcome] = [:]
            for await outcomes in group { all.merge(outcomes) { a, _ in a } }
            return all
        }
    }

    private func deliver(_ delivery: Delivery, outbox: (any DeliveryLog)?, deadline: ContinuousClock.Instant?) async -> Outcome {
        guard let channel = channels[delivery.channel] else {
            let detail = "the channel '\(delivery.channel)' is no longer in the manifest"
            await outbox?.finish(delivery.id, state: "failed", attempts: 0, status: nil, detail: detail)
            log("alert \(delivery.id) not sent: \(detail)")
            return .failed(status: nil, detail: detail)
        }
        var attempts = delivery.attempts
        while true {
            attempts += 1
            // Another watcher holds it (or ended it), or the claim could not be written: not now.
            if let outbox, await !outbox.claim(delivery.id, attempt: attempts) { return .postponed }
            let attempt = await send(delivery.alert, to: channel)
            switch attempt {
            case .success(let status):
                await outbox?.finish(delivery.id, state: "delivered", attempts: attempts, status: status, detail: nil)
                return .delivered(status: status)
            case .permanent(let status, let detail):
                let detail = redactor.redact(detail)
                await outbox?.finish(delivery.id, state: "failed", attempts: attempts, status: status, detail: detail)
                log("alert \(delivery.alert.id) to '\(channel.name)' failed for good: \(detail)")
                return .failed(status: status, detail: detail)
            case .retry(let status, let detail, let after):
                let detail = redactor.redact(detail)
                guard attempts < settings.deliveryAttempts else {
                    let final = "gave up after \(attempts) attempts: \(detail)"
                    await outbox?.finish(delivery.id, state: "failed", attempts: attempts, status: status, detail: final)
                    log("alert \(delivery.alert.id) to '\(channel.name)' failed: \(final)")
                    return .failed(status: status, detail: final)
                }
                // The answer is in: the attempt is no longer in doubt.
                await outbox?.recordAttempts(delivery.id, attempts: attempts)
                let wait = after.map { min($0, settings.maxBackoff) } ?? backoff(attempts)
                if let deadline, ContinuousClock.now + wait > deadline {
                    log("alert \(delivery.alert.id) to '\(channel.name)' still pending (\(detail)); it is retried on the next run")
                    return .postponed
                }
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    return .postponed
                }
            }
        }
    }

    /// initial × 2^(attempt − 1), capped, with ±20% jitter so that many watchers do not retry in step.
    func backoff(_ attempt: Int) -> Duration {
        let base = settings.initialBackoff.seconds * pow(2, Double(attempt - 1))
        let capped = min(base, settings.maxBackoff.seconds)
        return .milliseconds(Int64(capped * Double.random(in: 0.8...1.2) * 1000))
    }

    /// Sends a message that is not an ``Alert`` (hookrunner's approval requests), rendered by
    /// its caller, with the same retries and backoff as an alert but no outbox: at most
    /// `settings.deliveryAttempts` attempts, none started after `deadline`. Details are redacted.
    package func deliver(_ message: RenderedAlert, to channel: Channel, deadline: ContinuousClock.Instant?) async -> Outcome {
        var attempts = 0
        while true {
            attempts += 1
            switch await send(message, to: channel) {
            case .success(let status):
                return .delivered(status: status)
            case .permanent(let status, let detail):
                return .failed(status: status, detail: redactor.redact(detail))
            case .retry(let status, let detail, let after):
                let detail = redactor.redact(detail)
                guard attempts < settings.deliveryAttempts else {
                    return .failed(status: status, detail: "gave up after \(attempts) attempts: \(detail)")
                }
                let wait = after.map { min($0, settings.maxBackoff) } ?? backoff(attempts)
                if let deadline, ContinuousClock.now + wait > deadline {
                    return .failed(status: status, detail: "gave up after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(detail)")
                }
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    return .postponed
                }
            }
        }
    }

    private func send(_ alert: Alert, to channel: Channel) async -> Attempt {
        await send(AlertRenderer.render(alert, for: channel, userAgent: userAgent), to: channel)
    }

    private func send(_ message: RenderedAlert, to channel: Channel) async -> Attempt {
        switch message {
        case .command(let arguments, let environment, let input):
            do {
                let result = try await ProcessRunner.run(arguments, environment: environment, input: Array(input.utf8),
                                                         timeout: .seconds(60))
                if result.exitCode == 0 { return .success(nil) }
                let output = redactor.redact(result.stderr.isEmpty ? result.stdout : result.stderr).trimmed.suffix(200)
                return .retry(nil, "the command ended with \(result.statusDescription)" + (output.isEmpty ? "" : ": \(output)"), after: nil)
            } catch {
                return .permanent(nil, error.description)
            }
        case .http(let url, let headers, let body):
            var options = prober.options
            options.method = "POST"
            options.headers = headers + [("Accept", "application/json")]
            options.body = Array(body.utf8)
            options.timeout = settings.timeout
            options.maxRedirects = 0
            options.maxBodyBytes = 64 * 1024
            // A request on the wire is not cancelled when the watcher is told to stop: the
            // receiver may already have it, and only its answer tells whether to send it again.
            // It finishes within the channel timeout; no new one starts.
            let result = await Task { await prober.probe(url, options: options) }.value
            guard let status = result.status else {
                // The URL is a secret: say what happened, not where.
                return .retry(nil, "\(result.failure?.className ?? "error"): could not reach the \(channel.kind.rawValue) endpoint", after: nil)
            }
            // Receivers echo the request path in error pages, and a channel's path is a secret:
            // the whole body is redacted before an excerpt of it is kept (a cut first could
            // leave half a token that no longer matches).
            let answer = String(redactor.redact(String(decoding: result.body, as: UTF8.self)).trimmed.prefix(200))
            let detail = "HTTP \(status)" + (answer.isEmpty ? "" : ": \(answer)")
            switch status {
            case 200..<300: return .success(status)
            case 429, 408, 500..<600: return .retry(status, detail, after: result.header("Retry-After").flatMap(Self.retryAfter))
            default: return .permanent(status, detail)
            }
        }
    }

    /// `Retry-After`: delay seconds or an HTTP date. The receiver chooses the number: one past
    /// any backoff (a day) is read as a day, not converted until it traps (`1e300`, `inf`).
    static func retryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmed
        if let seconds = Double(trimmed), seconds >= 0 { return .milliseconds(Int64(min(seconds, 86_400) * 1000)) }
        guard let date = Timestamps.parseHTTPDate(trimmed) else { return nil }
        return .milliseconds(Int64(min(max(0, date.timeIntervalSinceNow), 86_400) * 1000))
    }
}
