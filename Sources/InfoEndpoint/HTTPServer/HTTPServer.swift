import Foundation

/// The HTTP/1.1 server engine behind ``InfoServer`` (and, inside this package, other small
/// servers): binds, runs an ``EventLoop`` on its own thread, and stops gracefully.
package final class HTTPServer: Sendable {
    private enum State {
        case idle
        case running(EventLoop, addresses: [String], port: Int)
        case stopped
    }

    package let configuration: InfoServer.Configuration
    private let handler: any HTTPHandler
    private let state = Locked(State.idle)
    private let exit = Locked<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    package init(configuration: InfoServer.Configuration, handler: any HTTPHandler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// Binds and starts serving. When it returns, the sockets listen: connections made from
    /// then on are queued by the kernel and answered.
    package func start() throws {
        try state.withLock { state in
            guard case .idle = state else { throw InfoServerError.alreadyStarted }
            let limits = try configuration.limits()
            let listeners = try Listener.open(host: configuration.host, port: configuration.port,
                                              backlog: configuration.backlog)
            let loop: EventLoop
            do {
                loop = try EventLoop(listeners: listeners.map(\.fd), handler: handler, limits: limits) { [exit] in
                    let waiters = exit.withLock { exit in
                        exit.done = true
                        defer { exit.waiters = [] }
                        return exit.waiters
                    }
                    for waiter in waiters { waiter.resume() }
                }
            } catch {
                for listener in listeners { close(listener.fd) }
                throw error
            }
            let thread = Thread { loop.run() }
            thread.name = "InfoServer \(listeners[0].address)"
            thread.stackSize = 1 << 20
            thread.start()
            state = .running(loop, addresses: listeners.map(\.address), port: listeners[0].port)
        }
    }

    /// `host:port` of every listening socket (`127.0.0.1:8080`, `[::1]:8080`); empty before start.
    package var addresses: [String] {
        state.withLock { state in
            if case .running(_, let addresses, _) = state { return addresses }
            return []
        }
    }

    /// The port listened on (the kernel's choice when configured as 0); 0 before start.
    package var port: Int {
        state.withLock { state in
            if case .running(_, _, let port) = state { return port }
            return 0
        }
    }

    package var statistics: ServerStatistics? {
        state.withLock { state in
            if case .running(let loop, _, _) = state { return loop.statistics.current }
            return nil
        }
    }

    /// Stops accepting, closes idle keep-alive connections, gives requests in progress up to
    /// `gracePeriod` to complete (their responses say `Connection: close`), then closes the rest.
    /// Returns when the server thread has ended. Safe to call more than once.
    package func stop(gracePeriod: Duration = .seconds(5)) async {
        let loop: EventLoop? = state.withLock { state in
            switch state {
            case .idle:
                state = .stopped
                exit.withLock { $0.done = true }
                return nil
            case .running(let loop, _, _):
                return loop
            case .stopped:
                return nil
            }
        }
        loop?.requestStop(grace: gracePeriod.milliseconds)
        await waitUntilStopped()
    }

    /// Suspends until the server has stopped.
    package func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = exit.withLock { exit in
                if !exit.done { exit.waiters.append(continuation) }
                return exit.done
            }
            if finished { continuation.resume() }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a positive duration never becomes zero.
    package var milliseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        let millis = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return UInt64(millis.rounded(.up))
    }
}
