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
