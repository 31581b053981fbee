import CShims
import DeployVerifyKit
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The watcher's directory: `history.jsonl` (the audit trail), `state.json` (a snapshot of the
/// current picture and the history offset it covers), `deliveries.jsonl` (the alert outbox) and
/// `lock`, held for as long as the watcher runs so that a second one is refused.
package final class StateDirectory: @unchecked Sendable {
    package let path: String
    package let history: HistoryStore
    package let outbox: Outbox
    private let lockFD: Int32
    private let lockHeld = Locked(true)

    package var historyPath: String { "\(path)/history.jsonl" }
    package var snapshotPath: String { "\(path)/state.json" }

    /// Opens (creating) the directory and takes its lock.
    package init(path: String) throws(StoreError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError("cannot create the state directory \(path): \(error.localizedDescription)")
        }
        let lockPath = "\(path)/lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("cannot open", lockPath) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmed ?? ""
            close(fd)
            throw StoreError("another versioncheck watch is using \(path)" + (holder.isEmpty ? "" : " (\(holder))")
                + ": stop it, or give this one its own --state DIR")
        }
        let holder = "pid \(getpid()), since \(Timestamps.iso8601(Date()))\n"
        _ = ftruncate(fd, 0)
        _ = holder.withCString { pwrite(fd, $0, strlen($0), 0) }
        lockFD = fd
        history = try HistoryStore(path: "\(path)/history.jsonl")
        outbox = try Outbox(path: "\(path)/deliveries.jsonl")
    }

    deinit { unlock() }

    /// Lets another watcher use the directory (done when this one stops).
    package func unlock() {
        let fd = lockHeld.withLock { held -> Int32? in
            defer { held = false }
            return held ? lockFD : nil
        }
        guard let fd else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// The snapshot, brought up to date with whatever history holds beyond it. Returns also the
    /// events the snapshot did not cover: their alerts may not have reached the outbox.
    package func loadState() throws(StoreError) -> (state: WatchState, unsnapshotted: [WatchEvent]) {
        try Self.readState(path: path, historySize: history.file.size)
    }

    /// The same, read without the lock while a watcher may be writing (`versioncheck status --state`).
    package static func readState(path: String) throws(StoreError) -> WatchState {
        var size = stat()
        guard stat("\(path)/history.jsonl", &size) == 0 else { throw StoreError("no history in \(path) (give the watcher's --state DIR)") }
        return try readState(path: path, historySize: UInt64(size.st_size)).state
    }

    private static func readState(path: String, historySize: UInt64) throws(StoreError) -> (state: WatchState, unsnapshotted: [WatchEvent]) {
        var state = FileManager.default.contents(atPath: "\(path)/state.json").flatMap { WatchState(json: Array($0)) } ?? WatchState()
        if state.historyOffset > historySize {
            state = WatchState() // the snapshot is ahead of a repaired history: rebuild from history
        }
        let events = try HistoryStore.query(path: "\(path)/history.jsonl", from: state.historyOffset)
        for event in events { state.apply(event) }
        state.historyOffset = historySize
        return (state, events)
    }

    /// Writes the snapshot atomically (temporary file, fsync, rename).
    package func save(_ state: WatchState) throws(StoreError) {
        try JSONLinesFile.replace(snapshotPath, with: Array(state.json.utf8))
    }

    package var documentsPath: String { "\(path)/documents.json" }
    private let documentsLock = NSLock()

    /// Named documents kept with the state, by kind then id (`documents.json`).
    package func documents() throws(StoreError) -> [String: [String: String]] {
        guard let data = FileManager.default.contents(atPath: documentsPath) else { return [:] }
        guard case .object(let root)? = try? JSONParser().parse(Array(data)) else {
            throw StoreError("\(documentsPath) is not a JSON object")
        }
        var documents: [String: [String: String]] = [:]
        for (kind, value) in root.members {
            for (id, text) in value.objectValue?.members ?? [] { documents[kind, default: [:]][id] = text.stringValue }
        }
        return documents
    }

    /// Changes the documents and writes them atomically, one change at a time (the registrations
    /// API and the watcher's cycle both write them).
    package func updateDocuments(_ change: (inout [String: [String: String]]) -> Void) throws(StoreError) {
        documentsLock.lock()
        defer { documentsLock.unlock() }
        var documents = try self.documents()
        change(&documents)
        var json = JSONText()
        json.object { json in
            for kind in documents.keys.sorted() {
                json.key(kind)
                json.object { json in
                    for (id, text) in documents[kind]!.sorted(by: { $0.key < $1.key }) { json.member(id, text) }
                }
            }
        }
        try JSONLinesFile.replace(documentsPath, with: Array(json.text.utf8))
    }
}

/// A delivery of one alert to one channel.
package struct Delivery: Sendable {
    /// `evt-12:team-slack`: the idempotency key.
    package var id: String
    package var channel: String
    package var alert: Alert
    /// Attempts made by earlier runs.
    package var attempts = 0

    package init(id: String, channel: String, alert: Alert, attempts: Int = 0) {
        self.id = id
        self.channel = channel
        self.alert = alert
        self.attempts = attempts
    }
}

/// Alerts waiting to be sent, in `deliveries.jsonl`. A delivery is written here (and flushed)
/// before it is first sent; each attempt is claimed (`sending`) just before its request goes out
/// and its outcome recorded the moment the answer is in: `delivered`, `failed` for good, or
/// `retrying` after an error answer. After a crash or a restart, what was pending is sent again
/// with the same idempotency key, and what ended is never sent again. A delivery whose last
/// record is a claim was on the wire when the watcher died: it is sent again too (at least once),
/// and counted in ``inDoubt`` so that the restart says so.
package final class Outbox: @unchecked Sendable {
    private let file: JSONLinesFile
    private let lock = NSLock()
    private var pendingDeliveries: [Delivery] = []
    private var known: Set<String> = []
    /// Ids of the deliveries that were being sent when the previous watcher stopped: the
    /// receiver may or may not have them.
    package let inDoubt: Set<String>

    /// - Parameter compactAbove: past this size, the file is rewritten on opening with what is
    ///   still needed: pending deliveries in full, failed ones in full (the record of what could
    ///   not be sent), and delivered ones as `{"id","state"}` only, so that they are never sent again.
    package init(path: String, compactAbove: Int = 8 << 20) throws(StoreError) {
        var order: [String] = []
        var pending: [String: Delivery] = [:]
        var lines: [String: [[UInt8]]] = [:] // the records of each delivery still pending, or failed
        var ended: [(id: String, state: String)] = []
        var known: Set<String> = []
        var inDoubt: Set<String> = []
        try JSONLinesFile.forEachLine(path: path) { line in
            guard case .object(let record)? = try? JSONParser().parse(Array(line)), let id = record["id"]?.stringValue else { return }
            known.insert(id)
            let state = record["state"]?.stringValue ?? ""
            switch state {
            case "pending":
                if let channel = record["channel"]?.stringValue, let alert = record["alert"].flatMap(Alert.init(json:)) {
                    pending[id] = Delivery(id: id, channel: channel, alert: alert)
                    order.append(id)
                    lines[id] = [Array(line)]
                }
            case "sending":
                pending[id]?.attempts = record["attempt"]?.scalarText.flatMap { Int($0) } ?? 0
                lines[id, default: []].append(Array(line))
                inDoubt.insert(id)
            case "retrying":
                pending[id]?.attempts = record["attempts"]?.scalarText.flatMap { Int($0) } ?? 0
                lines[id, default: []].append(Array(line))
                inDoubt.remove(id)
            default:
                inDoubt.remove(id)
                pending[id] = nil
                if state == "failed" {
                    lines[id, default: []].append(Array(line))
                } else {
                    lines[id] = nil
                }
                ended.append((id, state))
            }
        }
        self.known = known
        self.inDoubt = inDoubt
        pendingDeliveries = order.compactMap { pending[$0] }

        var size = stat()
        if stat(path, &size) == 0, Int(size.st_size) > compactAbove {
            var compacted = [UInt8]()
            for (id, state) in ended {
                if state == "failed", let records = lines.removeValue(forKey: id) {
                    for record in records { compacted += record + [10] }
                } else if state != "failed" {
                    var json = JSONText()
                    json.object { json in
                        json.member("id", id)
                        json.member("state", state)
                    }
                    compacted += Array(json.text.utf8) + [10]
                }
            }
            for id in order where pending[id] != nil {
                for record in lines[id] ?? [] { compacted += record + [10] }
            }
            try JSONLinesFile.replace(path, with: compacted)
        }
        file = try JSONLinesFile(path: path) { (try? JSONParser().parse($0))?["id"] != nil }
    }

    package var pending: [Delivery] { lock.withLock { pendingDeliveries } }

    /// Records new deliveries (those not already known) and returns them.
    @discardableResult
    package func enqueue(_ deliveries: [Delivery]) throws(StoreError) -> [Delivery] {
        let fresh = lock.withLock { deliveries.filter { !known.contains($0.id) } }
        guard !fresh.isEmpty else { return [] }
        try file.append(fresh.map { delivery in
            var json = JSONText()
            json.object { json in
                json.member("id", delivery.id)
                json.member("state", "pending")
                json.member("channel", delivery.channel)
                json.member("time", Timestamps.iso8601(Date(), milliseconds: true))
                json.key("alert")
                json.raw(delivery.alert.json)
            }
            return json.text
        })
        lock.withLock {
            for delivery in fresh {
                known.insert(delivery.id)
                pendingDeliveries.append(delivery)
            }
        }
        return fresh
    }

    /// Claims an attempt just before its request goes out. Written, not flushed: it is there
    /// for the next start if this process is killed, and only informs (what is pending is sent
    /// again whether or not a claim survives a power cut).
    package func recordClaim(_ id: String, attempt: Int) throws(StoreError) {
        try append(id, state: "sending", sync: false) { json in
            json.key("attempt")
            json.number(attempt)
        }
    }

    /// Records the attempts made so far on a delivery that stays pending (after an error answer,
    /// or when it is postponed).
    package func recordRetry(_ id: String, attempts: Int) throws(StoreError) {
        try append(id, state: "retrying") { json in
            json.key("attempts")
            json.number(attempts)
        }
        lock.withLock {
            if let index = pendingDeliveries.firstIndex(where: { $0.id == id }) { pendingDeliveries[index].attempts = attempts }
        }
    }

    /// Records how a delivery ended: `delivered`, or `failed` for good.
    package func recordEnd(_ id: String, state: String, attempts: Int, status: Int?, detail: String?) throws(StoreError) {
        try append(id, state: state) { json in
            json.key("attempts")
            json.number(attempts)
            json.key("status")
            if let status { json.number(status) } else { json.null() }
            json.member("detail", detail)
        }
        lock.withLock { pendingDeliveries.removeAll { $0.id == id } }
    }

    /// One record: `{"id", "state", …fields, "time"}`.
    private func append(_ id: String, state: String, sync: Bool = true, fields: (inout JSONText) -> Void) throws(StoreError) {
        var json = JSONText()
        json.object { json in
            json.member("id", id)
            json.member("state", state)
            fields(&json)
            json.member("time", Timestamps.iso8601(Date(), milliseconds: true))
        }
        try file.append([json.text], sync: sync)
    }

    /// Every record, for `versioncheck history --alerts` and the tests.
    package static func records(path: String) throws(StoreError) -> [JSONValue] {
        var records: [JSONValue] = []
        try JSONLinesFile.forEachLine(path: path) { line in
            if let record = try? JSONParser().parse(Array(line)) { records.append(record) }
        }
        return records
    }
}
