import InfoEndpoint

/// A small HTTP/1.1 client for plain `http://` on non-blocking sockets: one thread, any number
/// of exchanges at once, idle keep-alive connections reused per host, deadlines to the
/// millisecond, and cancellation that is always safe (the exchange fails with `.cancelled` and
/// its connection is closed). It exists because URLSession on Linux rounds timeouts to whole
/// seconds, does not enforce resource timeouts, and can crash when requests are cancelled.
package final class HTTPClient: Sendable {
    private let loop: ClientLoop
    private let lastID = Locked<UInt64>(0)

    /// - Parameter idleTimeout: how long an idle keep-alive connection is kept for reuse.
    package init(idleTimeout: Duration = .seconds(30), userAgent: String = "DeployVerify") throws {
        loop = try ClientLoop(idleTimeout: idleTimeout, userAgent: userAgent)
    }

    deinit {
        loop.shutdown()
    }

    /// Performs one exchange. Never throws and never outlives `request.timeout` by more than the
    /// loop's reaction time; a cancelled task gets `.failure(.cancelled)` promptly.
    package func execute(_ request: ClientRequest) async -> Result<ClientResponse, ClientFailure> {
        let ticket = ExchangeTicket(id: lastID.withLock { id in
            id += 1
            return id
        })
        let started = ContinuousClock.now
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                ticket.attach(continuation)
                loop.submit(ticket, request, started: started)
            }
        } onCancel: {
            loop.cancel(ticket)
        }
    }
}
