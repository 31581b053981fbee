import Foundation
import Testing
@testable import VersionCheck

/// What the test suite under ThreadSanitizer and AddressSanitizer found, held here as tests of
/// the normal suite.
@Suite("Sanitizer findings: versioncheck")
struct VersionCheckSanitizerFindingsTests {
    /// ThreadSanitizer: an alert's deliveries finish in parallel, and each records its end in the
    /// outbox file; `JSONLinesFile.append` added to its size from every task at once (a data race:
    /// a lost update misplaces the history offset kept in the snapshot). Appends now count under a
    /// lock, and every record is written whole.
    @Test func appendsFromManyTasksAreAllCounted() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try JSONLinesFile(path: path) { _ in true }
        let line = "{\"id\":\"" + String(repeating: "x", count: 100) + "\"}"
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<250 { try? file.append([line], sync: false) }
                }
            }
        }
        let contents = try #require(FileManager.default.contents(atPath: path))
        #expect(file.size == UInt64(contents.count))
        #expect(contents.count == 2000 * (line.utf8.count + 1))
        #expect(String(decoding: contents, as: UTF8.self).split(separator: "\n").allSatisfy { $0 == line })
    }
}

/// What the crash campaign (bench/crash-campaign.sh: kill -9 of a looping watcher, 1,000 times)
/// found, held here as tests of the normal suite.
@Suite("Crash campaign findings: versioncheck")
struct CrashCampaignFindingsTests {
    /// 90 alerts lost in 1,000 kills: a watcher killed after writing a change's history but
    /// before queueing its alerts leaves events for the next start to replay; that start saved the
    /// snapshot covering them as soon as it read them, and queued their alerts only after its
    /// reads, a cycle later. Killed in between, the events were covered and their alerts never
    /// queued. The snapshot is now saved once the replayed alerts are in the outbox.
    @Test func replayedEventsStayUnalertedUntilTheirAlertsAreQueued() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let service = WatchedService(name: "checkout", environment: "production", urls: ["http://a/info"], path: "services[0]")
        // A watcher killed after the history write: events on record, no alert queued.
        let first = try LocalWatchStore(path: path)
        _ = try await first.state(of: [service])
        var events = [WatchEvent(time: Date(), kind: .deployed, service: "checkout", environment: "production",
                                 instance: "http://a/info", from: "1.4.1", to: "1.4.2")]
        try first.directory.history.append(&events)
        first.close()

        // The next start reads them back to alert, and is killed before it queues the alerts.
        let second = try LocalWatchStore(path: path)
        #expect(try await second.state(of: [service]).unalerted.map(\.id) == ["evt-1"])
        second.close()

        // The one after must still see them as unalerted.
        let third = try LocalWatchStore(path: path)
        #expect(try await third.state(of: [service]).unalerted.map(\.id) == ["evt-1"], "the replayed events were covered before their alerts were queued")
        try await third.enqueueReplayed([])
        third.close()
        let fourth = try LocalWatchStore(path: path)
        #expect(try await fourth.state(of: [service]).unalerted.isEmpty, "queued, they are covered")
        fourth.close()
    }
}
