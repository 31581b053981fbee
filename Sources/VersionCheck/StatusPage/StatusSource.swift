import CShims
import DeployVerifyKit
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the status page shows at one moment: the fleet's status as the watchers last recorded
/// it, the history's index, and notes on what the timeline holds.
package struct StatusSnapshot: Sendable {
    package var status: FleetStatus
    package var index: HistoryIndex
    package var notes: [String]
    /// Changes whenever what the page shows may have changed (for ETags).
    package var generation: Int
}

/// Reads a watchers' state for the status page, without locking it (a watcher may be running)
/// and without watching anything itself: a directory (`history.jsonl` indexed incrementally as
/// it grows, `state.json` and the outbox's CodeDeploy deployments) or a DynamoDB table (read at
/// most every `minimumInterval`, its history queried from where the last read ended, its
/// `deployments` items from the last read's time less the CodeDeploy lookback). With an approval
/// trail, its decisions too, followed as it grows.
package actor StatusSource {
    package let manifest: Manifest
    package let location: StoreLocation
    private let aws: AWSClient?
    private let minimumInterval: Duration
    private var snapshot: StatusSnapshot?
    private var checked: ContinuousClock.Instant?
    /// Local: what the last read saw of the files, to tell whether anything changed.
    private var seen: (history: FileMark, state: FileMark, outbox: FileMark, approvals: FileMark)?
    private var outboxOffset: UInt64 = 0
    /// Ids of the CodeDeploy deployments indexed (from the outbox or the table).
    private var deployments: Set<String> = []
    /// DynamoDB: ids of the events indexed, the latest event time read, and when the
    /// deployments were last read (their ids are in `deployments`).
    private var dynamoIDs: Set<String> = []
    private var dynamoLatest: Date?
    private var deploymentsRead: Date?
    /// hookrunner's approval trail (`--approvals`), when given.
    private var approvals: ApprovalTrailReader?
    private var generation = 0

    /// A file's size and modification time (all zero when it does not exist).
    struct FileMark: Equatable {
        var size: Int64 = 0
        var modified: Int = 0
        var modifiedNanos: Int = 0

        init() {}

        init(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return }
            size = Int64(info.st_size)
            #if canImport(Glibc)
            modified = Int(info.st_mtim.tv_sec)
            modifiedNanos = Int(info.st_mtim.tv_nsec)
            #else
            modified = Int(info.st_mtimespec.tv_sec)
            modifiedNanos = Int(info.st_mtimespec.tv_nsec)
            #endif
        }
    }

    /// - Parameters:
    ///   - minimumInterval: the shortest time between two reads of the store (a directory is
    ///     checked with `stat` at most this often; a table is read at most this often).
    ///   - approvals: the path of hookrunner's approval trail, whose decisions join the timeline.
    package init(manifest: Manifest, location: StoreLocation, aws: AWSClient?, minimumInterval: Duration, approvals: String? = nil) {
        self.manifest = manifest
        self.location = location
        self.aws = aws
        self.minimumInterval = minimumInterval
        self.approvals = approvals.map { ApprovalTrailReader(path: $0) }
    }

    /// The current snapshot, read again when `minimumInterval` has passed since the last read.
    package func current() async throws -> StatusSnapshot {
        let now = ContinuousClock.now
        if let snapshot, let checked, now - checked < minimumInterval { return snapshot }
        checked = now
        let fresh: StatusSnapshot
        switch location {
        case .directory(let path): fresh = try readDirectory(path)
        case .dynamoDB(let table): fresh = try await readTable(table)
        }
        snapshot = fresh
        return fresh
    }

    // MARK: A directory

    private func readDirectory(_ path: String) throws -> StatusSnapshot {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError("no state directory \(path) (give the watchers' --state DIR)")
        }
        let historyPath = "\(path)/history.jsonl", outboxPath = "\(path)/deliveries.jsonl"
        let marks = (history: FileMark(path: historyPath), state: FileMark(path: "\(path)/state.json"), outbox: FileMark(path: outboxPath),
                     approvals: approvals.map { FileMark(path: $0.path) } ?? FileMark())
        if let snapshot, let seen, seen == marks { return snapshot }
        var index = snapshot?.index ?? HistoryIndex()
        try index.update(path: historyPath)
        if marks.outbox.size < Int64(outboxOffset) { outboxOffset = 0 } // compacted: read again (known ids are skipped)
        outboxOffset = try Self.readDeployments(path: outboxPath, from: outboxOffset, known: &deployments) { index.add($0) }
        try approvals?.read { index.add($0) }
        index.sort()
        let state = marks.history.size > 0 ? try StateDirectory.readState(path: path) : WatchState()
        let status = FleetStatus(manifest: manifest, observed: FleetStatus.observed(in: state, manifest: manifest), state: state)
        var notes: [String] = []
        if marks.history.size == 0 { notes.append("No history in \(path) yet: it fills as the watchers run.") }
        if !deployments.isEmpty || !manifest.codeDeploy.registrations.isEmpty {
            notes.append("CodeDeploy deployments are read from the alert outbox (deliveries.jsonl); those compacted out of it "
                + "(delivered, once it passed 8 MiB) are not shown.")
        }
        notes += approvalNotes()
        seen = marks
        generation += 1
        return StatusSnapshot(status: status, index: index, notes: notes, generation: generation)
    }

    /// Adds the deployments of the outbox from `offset` on (each once, whatever its channels);
    /// returns the offset read to.
    static func readDeployments(path: String, from offset: UInt64, known: inout Set<String>,
                                add: (TimelineEvent) -> Void) throws(StoreError) -> UInt64 {
        let needle = Array(#""type":"deployment""#.utf8)
        var read: UInt64 = 0
        var found: [TimelineEvent] = []
        var ids = known
        try JSONLinesFile.forEachChunk(path: path, from: offset) { chunk in
            read += UInt64(chunk.count)
            guard let base = chunk.baseAddress else { return }
            var position = 0
            while position < chunk.count,
                  let hit = needle.withUnsafeBytes({ cshims_memmem(base + position, chunk.count - position, $0.baseAddress, $0.count) }) {
                let at = base.distance(to: hit)
                var start = at
                while start > 0, chunk[start - 1] != 10 { start -= 1 }
                var end = at
                while end < chunk.count, chunk[end] != 10 { end += 1 }
                position = end + 1
                guard case .object(let record)? = try? JSONParser().parse(Array(chunk[start..<end])),
                      record["state"]?.stringValue == "pending", let alert = record["alert"].flatMap(Alert.init(json:)),
                      !ids.contains(alert.id), let event = TimelineEvent(deployment: alert) else { continue }
                ids.insert(alert.id)
                found.append(event)
            }
        }
        known = ids
        for event in found { add(event) }
        return offset + read
    }

    // MARK: A DynamoDB table

    private func readTable(_ table: String) async throws -> StatusSnapshot {
        guard let aws else { throw StoreError("dynamodb://\(table): no AWS client") }
        let store = DynamoWatchStore(client: aws, table: table, lease: .seconds(1))
        if snapshot == nil { try await store.check() }
        let state = try await store.state(of: manifest.services).state
        // The history from a little before the latest event read (a slow writer's events land late).
        let since = dynamoLatest.map { $0.addingTimeInterval(-600) }
        let history = DynamoHistory(table: DynamoDB(client: aws, table: table))
        let events = try await history.events(service: nil, environment: nil, since: since)
        // Deployments: a watcher announces one at most `lookback` after it was created, so any
        // announced since the last read completed after that read's time less the lookback.
        let readAt = Date()
        let completedSince = deploymentsRead.map { $0.addingTimeInterval(-manifest.codeDeploy.lookback.seconds - 600) }
        let alerts = try await history.deployments(since: completedSince)
        var index = snapshot?.index ?? HistoryIndex()
        for event in events where dynamoIDs.insert(event.id).inserted {
            index.add(TimelineEvent(event))
            dynamoLatest = max(dynamoLatest ?? event.time, event.time)
        }
        for alert in alerts where !deployments.contains(alert.id) {
            guard let event = TimelineEvent(deployment: alert) else { continue }
            deployments.insert(alert.id)
            index.add(event)
        }
        deploymentsRead = readAt
        try approvals?.read { index.add($0) }
        index.sort()
        let status = FleetStatus(manifest: manifest, observed: FleetStatus.observed(in: state, manifest: manifest), state: state)
        generation += 1
        var notes: [String] = []
        if !deployments.isEmpty || !manifest.codeDeploy.registrations.isEmpty {
            notes.append("CodeDeploy deployments are read from the table's deployments items, which the watchers write as they "
                + "queue a deployment's notifications.")
        }
        return StatusSnapshot(status: status, index: index, generation: generation, notes: notes + approvalNotes())
    }

    /// What the page says about the approval trail: where decisions come from, or that there is
    /// no trail yet.
    private func approvalNotes() -> [String] {
        guard let approvals else { return [] }
        guard approvals.exists else {
            return ["No approval trail at \(approvals.path) yet: decisions appear as hookrunner's approval steps record them."]
        }
        return ["Approval decisions are read from \(approvals.path); refused attempts and cancelled requests are not shown "
            + "(hookrunner approvals lists them)."]
    }
}

extension StatusSnapshot {
    init(status: FleetStatus, index: HistoryIndex, generation: Int, notes: [String]) {
        self.init(status: status, index: index, notes: notes, generation: generation)
    }
}
