import DeployVerifyKit
import Foundation
import Testing
@testable import VersionCheck

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "watch-store-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func event(_ kind: WatchEvent.Kind, service: String = "checkout", environment: String = "production",
                   to: String = "1.4.2", at seconds: Double = 0) -> WatchEvent {
    WatchEvent(time: Date(timeIntervalSince1970: 1_790_000_000 + seconds), kind: kind, service: service,
               environment: environment, instance: "http://10.0.0.1:9090/info", from: "1.4.1", to: to)
}

@Suite("watch: history and outbox files")
struct WatchStoreTests {
    static let alert = Alert(id: "evt-1", kind: .deployed, service: "checkout", environment: "production", from: "1.4.1", to: "1.4.2",
                             instances: ["http://a/info"], instanceCount: 1, fleet: [("1.4.2", 1)], time: Date(timeIntervalSince1970: 1_790_000_000))

    @Test func aTornLastRecordIsCutOffAtEveryByte() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/history.jsonl"
        var events = [event(.firstSeen), event(.deployed, at: 60)]
        try HistoryStore(path: path).append(&events)
        let intact = try Data(contentsOf: URL(fileURLWithPath: path))
        var third = [event(.rolledBack, to: "1.4.1", at: 120)]
        third[0].sequence = 3
        let record = Array((third[0].jsonLine + "\n").utf8)

        // A crash after any byte of the third record: the store opens, keeps the two whole
        // records, and numbers on from them.
        for cut in 0..<record.count {
            try (intact + Data(record.prefix(cut))).write(to: URL(fileURLWithPath: path))
            let store = try HistoryStore(path: path)
            #expect(store.file.repairedBytes == cut, "cut at \(cut)")
            #expect(store.lastSequence == 2)
            #expect(try HistoryStore.query(path: path).map(\.sequence) == [1, 2])
            var next = [event(.rolledBack, to: "1.4.1", at: 120)]
            try store.append(&next)
            #expect(next[0].sequence == 3)
            #expect(try HistoryStore.query(path: path).map(\.kind) == [.firstSeen, .deployed, .rolledBack])
        }
        // A whole record reopens untouched.
        let store = try HistoryStore(path: path)
        #expect(store.file.repairedBytes == 0)
        // A final line that is complete but not a record (garbage after a crash) is cut too.
        try (intact + Data("{\"seq\":3,\"serv\n".utf8)).write(to: URL(fileURLWithPath: path))
        #expect(try HistoryStore(path: path).file.repairedBytes == 15)
    }

    @Test func queriesFilterByServiceEnvironmentAndTime() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/history.jsonl"
        let store = try HistoryStore(path: path)
        var events = [
            event(.firstSeen, service: "checkout", environment: "staging", at: 0),
            event(.deployed, service: "checkout", environment: "production", at: 100),
            event(.deployed, service: "checkout-ui", environment: "production", at: 200),
            event(.drift, service: "payments", environment: "production", at: 300),
            // A service whose name contains quotes and the other's name: matched exactly, not as text.
            event(.deployed, service: #"say "checkout""#, environment: "production", at: 400),
        ]
        try store.append(&events)
        #expect(try HistoryStore.query(path: path, service: "checkout").map(\.sequence) == [1, 2])
        #expect(try HistoryStore.query(path: path, service: "checkout", environment: "production").map(\.sequence) == [2])
        #expect(try HistoryStore.query(path: path, environment: "production").map(\.sequence) == [2, 3, 4, 5])
        #expect(try HistoryStore.query(path: path, since: Date(timeIntervalSince1970: 1_790_000_250)).map(\.sequence) == [4, 5])
        #expect(try HistoryStore.query(path: path, service: #"say "checkout""#).map(\.sequence) == [5])
        #expect(try HistoryStore.query(path: path, service: "nope").isEmpty)
        #expect(try HistoryStore.query(path: "\(directory)/missing.jsonl").isEmpty)
    }

    @Test func linesLongerThanTheReadChunkAreRead() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/history.jsonl"
        var events = [event(.unreachable), event(.deployed)]
        events[0].detail = String(repeating: "x", count: 5 << 20) // 5 MiB: more than one 4 MiB read
        try HistoryStore(path: path).append(&events)
        let read = try HistoryStore.query(path: path)
        #expect(read.map(\.sequence) == [1, 2])
        #expect(read[0].detail?.count == 5 << 20)
    }

    @Test func aSecondWatcherOnTheSameStateIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: StateDirectory? = try StateDirectory(path: directory)
        #expect(first != nil)
        #expect(throws: StoreError.self) { try StateDirectory(path: directory) }
        do {
            _ = try StateDirectory(path: directory)
        } catch {
            #expect(error.description.contains("another versioncheck watch is using \(directory) (pid \(getpid())"))
        }
        first = nil // released when closed
        #expect(try StateDirectory(path: directory).path == directory)
    }

    @Test func theOutboxRemembersWhatIsPendingAndWhatEnded() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/deliveries.jsonl"
        let alert = Self.alert
        do {
            let outbox = try Outbox(path: path)
            let queued = try outbox.enqueue([Delivery(id: "evt-1:ops", channel: "ops", alert: alert),
                                             Delivery(id: "evt-1:slack", channel: "slack", alert: alert),
                                             Delivery(id: "evt-1:pd", channel: "pd", alert: alert)])
            #expect(queued.count == 3)
            try outbox.recordEnd("evt-1:ops", state: "delivered", attempts: 1, status: 200, detail: nil)
            try outbox.recordRetry("evt-1:slack", attempts: 2)
            try outbox.recordEnd("evt-1:pd", state: "failed", attempts: 1, status: 404, detail: "HTTP 404")
        }
        // After a restart: only the slack delivery is pending, with its two attempts counted;
        // queuing the same deliveries again (a replay) adds nothing.
        let reopened = try Outbox(path: path)
        #expect(reopened.pending.map(\.id) == ["evt-1:slack"])
        #expect(reopened.pending.first?.attempts == 2)
        #expect(reopened.pending.first?.alert.json == alert.json)
        #expect(try reopened.enqueue([Delivery(id: "evt-1:ops", channel: "ops", alert: alert)]).isEmpty)
        let states = try Outbox.records(path: path).compactMap { $0["state"]?.stringValue }
        #expect(states == ["pending", "pending", "pending", "delivered", "retrying", "failed"])
    }

    @Test func claimsWithoutAnOutcomeAreInDoubtAfterARestart() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/deliveries.jsonl"
        let alert = Self.alert
        do {
            let outbox = try Outbox(path: path)
            try outbox.enqueue(["a", "b", "c", "d"].map { Delivery(id: "evt-1:\($0)", channel: $0, alert: alert) })
            try outbox.recordClaim("evt-1:a", attempt: 1) // on the wire when the process died
            try outbox.recordClaim("evt-1:b", attempt: 1) // answered 503: known not delivered
            try outbox.recordRetry("evt-1:b", attempts: 1)
            try outbox.recordClaim("evt-1:c", attempt: 1) // delivered
            try outbox.recordEnd("evt-1:c", state: "delivered", attempts: 1, status: 200, detail: nil)
            try outbox.recordClaim("evt-1:b", attempt: 2) // the retry, on the wire
        }
        let reopened = try Outbox(path: path)
        #expect(reopened.inDoubt == ["evt-1:a", "evt-1:b"])
        #expect(reopened.pending.map(\.id) == ["evt-1:a", "evt-1:b", "evt-1:d"], "in doubt is still pending: sent again")
        #expect(reopened.pending.map(\.attempts) == [1, 2, 0])
    }

    @Test func aLargeOutboxIsCompactedKeepingWhatMatters() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/deliveries.jsonl"
        func alert(_ id: String) -> Alert {
            Alert(id: id, kind: .deployed, service: "checkout", environment: "production", from: "1.4.1", to: "1.4.2",
                  instances: ["http://a/info"], instanceCount: 1, fleet: [("1.4.2", 1)], time: Date(timeIntervalSince1970: 1_790_000_000))
        }
        do {
            let outbox = try Outbox(path: path)
            for number in 1...50 {
                try outbox.enqueue([Delivery(id: "evt-\(number):ops", channel: "ops", alert: alert("evt-\(number)"))])
                try outbox.recordEnd("evt-\(number):ops", state: "delivered", attempts: 1, status: 200, detail: nil)
            }
            try outbox.enqueue([Delivery(id: "evt-51:ops", channel: "ops", alert: alert("evt-51"))])
            try outbox.recordEnd("evt-51:ops", state: "failed", attempts: 1, status: 404, detail: "HTTP 404: no such hook")
            try outbox.enqueue([Delivery(id: "evt-52:ops", channel: "ops", alert: alert("evt-52"))])
            try outbox.recordRetry("evt-52:ops", attempts: 3)
        }
        let before = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let compacted = try Outbox(path: path, compactAbove: 1024)
        let after = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(after < before / 5, "\(before) -> \(after) bytes")
        #expect(compacted.pending.map(\.id) == ["evt-52:ops"])
        #expect(compacted.pending.first?.attempts == 3)
        #expect(try compacted.enqueue([Delivery(id: "evt-7:ops", channel: "ops", alert: alert("evt-7"))]).isEmpty, "delivered: never again")
        let records = try Outbox.records(path: path)
        let failed = records.filter { $0["id"]?.stringValue == "evt-51:ops" }
        #expect(failed.map { $0["state"]?.stringValue } == ["pending", "failed"], "a failure is kept whole")
        #expect(failed.last?["detail"]?.stringValue == "HTTP 404: no such hook")
        #expect(records.filter { $0["id"]?.stringValue == "evt-7:ops" }.count == 1)
        // Reopened again (small now): the same picture, and the file still takes appends.
        let reopened = try Outbox(path: path, compactAbove: 1 << 20)
        #expect(reopened.pending.map(\.id) == ["evt-52:ops"])
        try reopened.recordEnd("evt-52:ops", state: "delivered", attempts: 4, status: 200, detail: nil)
        #expect(try Outbox(path: path).pending.isEmpty)
    }
}
