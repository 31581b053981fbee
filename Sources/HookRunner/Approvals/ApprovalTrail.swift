import CShims
import DeployVerifyKit
import Foundation
import InfoEndpoint
import VersionCheck
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The approval trail: requests, decisions and refused attempts, one JSON line each, in a file
/// that `hookrunner serve` and the waiting steps share.
///
/// Written as versioncheck's history is (``JSONLinesFile``: one write per record, `fsync`ed, a
/// torn tail repaired when opened), and every read-check-append holds an exclusive `flock` on the
/// file, so that of two clicks, in one process or two, exactly one decides.
package final class ApprovalTrail: Sendable {
    package let path: String
    /// Serializes the process's own transactions (the flock serializes processes).
    private let local = NSLock()

    package init(path: String) {
        self.path = path
    }

    /// Runs `body` on the records of `request` with the trail locked, and appends what it
    /// returns (flushed to disk) before the lock is released. Returns the appended records.
    @discardableResult
    package func transact(_ request: String, _ body: ([ApprovalRecord]) -> [ApprovalRecord]) throws(StoreError) -> [ApprovalRecord] {
        try locked(request, body).records
    }

    /// Appends records of one request with the trail locked; returns the offset they start at
    /// (where a waiting step reads on from).
    @discardableResult
    package func append(_ records: [ApprovalRecord]) throws(StoreError) -> UInt64 {
        guard let request = records.first?.request else { return 0 }
        return try locked(request) { _ in records }.offset
    }

    private func locked(_ request: String, _ body: ([ApprovalRecord]) -> [ApprovalRecord]) throws(StoreError)
        -> (records: [ApprovalRecord], offset: UInt64) {
        local.lock()
        defer { local.unlock() }
        let lockFD = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else { throw StoreError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(lockFD) } // releases the flock
        while flock(lockFD, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError("cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        // Opening repairs a torn tail, under the lock.
        let file = try JSONLinesFile(path: path) { ApprovalRecord(jsonLine: $0) != nil }
        let existing = try Self.records(path: path, request: request)
        let appended = body(existing)
        let offset = file.size
        try file.append(appended.map(\.jsonLine))
        return (appended, offset)
    }

    /// The records of `request`, oldest first.
    package static func records(path: String, request: String, from offset: UInt64 = 0) throws(StoreError) -> [ApprovalRecord] {
        var text = #""request":"#
        JSONText.appendQuoted(request, to: &text)
        let needle = Array(text.utf8)
        var records: [ApprovalRecord] = []
        try JSONLinesFile.forEachLine(path: path, from: offset) { line in
            let found = needle.withUnsafeBytes { needle in
                cshims_memmem(line.baseAddress, line.count, needle.baseAddress, needle.count) != nil
            }
            if found, let record = ApprovalRecord(jsonLine: line), record.request == request { records.append(record) }
        }
        return records
    }

    /// Every record (from `since` on), oldest first; lines that are not records are skipped.
    package static func all(path: String, since: Date? = nil) throws(StoreError) -> [ApprovalRecord] {
        var records: [ApprovalRecord] = []
        try JSONLinesFile.forEachLine(path: path) { line in
            guard let record = ApprovalRecord(jsonLine: line) else { return }
            if let since, record.time < since { return }
            records.append(record)
        }
        return records
    }

}
