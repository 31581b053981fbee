import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The watcher's state in a local directory (see ``StateDirectory``): one watcher at a time,
/// holding its lock. History is written first, then the outbox, then the snapshot: after a crash
/// between any two, the next start replays what the snapshot lacks and queues its alerts. The
/// snapshot that covers replayed events is saved only once their alerts are in the outbox
/// (``enqueueReplayed(_:)``): saved before, a kill in between would lose those alerts for good.
package final class LocalWatchStore: WatchStore {
    package let directory: StateDirectory
    private let snapshot = Locked<WatchState?>(nil)
    /// The loaded state covers replayed events whose alerts are not queued yet: save it after.
    private let replayedUnsaved = Locked(false)
    private let loading: Task<(state: WatchState, unsnapshotted: [WatchEvent]), any Error>

    /// Opens the directory (creating it), takes its lock and starts reading the snapshot and
    /// history in the background: a first cycle's reads go on meanwhile.
    package init(path: String) throws(StoreError) {
        let directory = try StateDirectory(path: path)
        self.directory = directory
        loading = Task.detached { try directory.loadState() }
    }

    package var name: String { directory.path }

    package var outbox: any DeliveryLog { directory.outbox }

    private let notesTaken = Locked(false)

    package func takeNotes() -> [String] {
        guard notesTaken.withLock({ taken in defer { taken = true }; return !taken }) else { return [] }
        var notes: [String] = []
        if directory.history.file.repairedBytes > 0 {
            notes.append("repaired \(directory.historyPath): removed a torn last record (\(directory.history.file.repairedBytes) bytes)")
        }
        let inDoubt = directory.outbox.inDoubt.count
        if inDoubt > 0 {
            notes.append("\(inDoubt) alert\(inDoubt == 1 ? " was" : "s were") being sent when the last watcher stopped: sent again with "
                + "the same Idempotency-Key (a receiver that honours it drops the repeat)")
        }
        return notes
    }

    package func state(of services: [WatchedService]) async throws -> (state: WatchState, unalerted: [WatchEvent]) {
        if let kept = snapshot.current { return (kept, []) }
        let (state, unsnapshotted) = try await loading.value
        snapshot.withLock { $0 = state }
        if !unsnapshotted.isEmpty { replayedUnsaved.withLock { $0 = true } }
        return (state, unsnapshotted)
    }

    package func record(_ changes: [ServiceChange],
                        deliveries: @Sendable (ServiceChange, [WatchEvent]) -> [Delivery]) async throws -> RecordedCycle {
        var recorded = RecordedCycle()
        guard var state = snapshot.current else { throw StoreError("\(name): the state was not read before recording") }
        guard !changes.isEmpty else {
            recorded.state = state
            return recorded
        }
        var numbered = changes.flatMap(\.events)
        try directory.history.append(&numbered)
        var rest = numbered[...]
        var queue: [Delivery] = []
        for change in changes {
            let events = Array(rest.prefix(change.events.count))
            rest = rest.dropFirst(change.events.count)
            queue += deliveries(change, events)
            state.services[change.service.key] = change.state
        }
        recorded.queued = try directory.outbox.enqueue(queue).count
        state.historyOffset = directory.history.file.size
        state.lastSequence = directory.history.lastSequence
        try directory.save(state)
        snapshot.withLock { $0 = state }
        recorded.events = numbered
        recorded.state = state
        return recorded
    }

    package func enqueue(_ deliveries: [Delivery]) async throws -> [Delivery] {
        try directory.outbox.enqueue(deliveries)
    }

    /// The replayed events' alerts are in the outbox: now the snapshot that covers them is saved.
    package func enqueueReplayed(_ deliveries: [Delivery]) async throws {
        _ = try directory.outbox.enqueue(deliveries)
        if replayedUnsaved.withLock({ pending in defer { pending = false }; return pending }), let state = snapshot.current {
            try directory.save(state)
        }
    }

    /// One watcher per directory: what a stopped one claimed is sent again at once.
    package var claimsHeldUntil: Date? { nil }

    package func pending(shard: Shard?) async throws -> [Delivery] {
        directory.outbox.pending
    }

    package func documents(_ kind: String) async throws -> [String: String] {
        try directory.documents()[kind] ?? [:]
    }

    package func putDocument(_ kind: String, id: String, _ text: String) async throws {
        try directory.updateDocuments { $0[kind, default: [:]][id] = text }
    }

    package func deleteDocument(_ kind: String, id: String) async throws -> Bool {
        var existed = false
        try directory.updateDocuments { documents in
            existed = documents[kind]?.removeValue(forKey: id) != nil
        }
        return existed
    }

    package func close() {
        directory.unlock()
    }
}

extension Outbox: DeliveryLog {
    package func claim(_ id: String, attempt: Int) async -> Bool {
        // One watcher holds the directory: the claim only informs the next start.
        try? recordClaim(id, attempt: attempt)
        return true
    }

    package func recordAttempts(_ id: String, attempts: Int) async {
        try? recordRetry(id, attempts: attempts)
    }

    package func finish(_ id: String, state: String, attempts: Int, status: Int?, detail: String?) async {
        try? recordEnd(id, state: state, attempts: attempts, status: status, detail: detail)
    }
}
