import Foundation

/// Runs a blocking call on a thread of its own, so that tests waiting on sockets or processes
/// never occupy Swift's cooperative pool (which the server's async handlers need).
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Throws when `operation` has not finished within `timeout`. The operation is abandoned (and
/// cancelled), not awaited, so even work that ignores cancellation cannot hang a test.
public func withTimeout<T: Sendable>(_ timeout: Duration, _ what: String,
                                     _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let slot = TimeoutSlot<T>()
    return try await withCheckedThrowingContinuation { continuation in
        slot.set(continuation)
        let work = Task {
            let result = await Result(catching: { try await operation() })
            slot.finish(result)
        }
        Task {
            try? await Task.sleep(for: timeout)
            if slot.finish(.failure(TestFailure("timed out after \(timeout) waiting for \(what)"))) { work.cancel() }
        }
    }
}

private final class TimeoutSlot<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.withLock { self.continuation = continuation }
    }

    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let continuation = lock.withLock { () -> CheckedContinuation<T, any Error>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(with: result)
        return continuation != nil
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
