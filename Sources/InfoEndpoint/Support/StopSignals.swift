import Dispatch
import Foundation

/// Catches SIGINT and SIGTERM from the moment it is created (no window in which they would
/// kill the process), so that `wait()` can return the first one for a clean stop. Used by the
/// executables of this package.
package final class StopSignals: Sendable {
    private let state = Locked<(received: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))
    private let sources: Locked<[DispatchSourceSignal]> = Locked([])

    package init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [state] in
                let waiter = state.withLock { state -> CheckedContinuation<Int32, Never>? in
                    if state.received == nil { state.received = number }
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume(returning: number)
            }
            source.resume()
            sources.withLock { $0.append(source) }
        }
    }

    /// The first signal received, waiting for it if none came yet.
    package func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let received = state.withLock { state -> Int32? in
                if state.received == nil { state.waiter = continuation }
                return state.received
            }
            if let received { continuation.resume(returning: received) }
        }
    }
}
