import CShims
import DeployVerifyKit
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

package struct StoreError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }

    static func system(_ what: String, _ path: String) -> StoreError {
        StoreError("\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// An append-only file of JSON lines, written with one `write` per batch and `fsync`ed, that
/// survives a crash at any byte: on open, a torn last record (no final newline, or a final line
/// that does not parse) is cut off and reported, never fatal.
/// Appends may come from many tasks at once (an alert's deliveries finish in parallel): each
/// write and the size it adds happen under a lock; the flush does not, so one record waits for
/// no other's `fsync` before it is written.
package final class JSONLinesFile: @unchecked Sendable {
    package let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var byteCount: UInt64
    /// The file's length: what was there when opened and repaired, plus every append since.
    package var size: UInt64 { lock.withLock { byteCount } }
    /// Bytes cut off a torn tail when the file was opened.
    package private(set) var repairedBytes = 0

    /// - Parameter isValid: whether a complete line is a whole record.
    package init(path: String, isValid: ([UInt8]) -> Bool) throws(StoreError) {
        self.path = path
        fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("cannot open", path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("cannot stat", path) }
        byteCount = UInt64(info.st_size)
        try repairTail(isValid: isValid)
    }

    deinit { close(fd) }

    private func repairTail(isValid: ([UInt8]) -> Bool) throws(StoreError) {
        while byteCount > 0 {
            let window = min(byteCount, 1 << 20)
            var tail = [UInt8](repeating: 0, count: Int(window))
            let read = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(window), off_t(byteCount - window)) }
            guard read == Int(window) else { throw .system("cannot read", path) }
            var keep = byteCount
            if tail.last != 10 {
                // No final newline: the last write was cut short.
                if let newline = tail.lastIndex(of: 10) {
                    keep = byteCount - window + UInt64(newline) + 1
                } else if window == byteCount {
                    keep = 0
                } else {
                    throw StoreError("\(path): the last record is longer than 1 MiB and has no end")
                }
            } else {
                let body = tail.dropLast()
                let start = body.lastIndex(of: 10).map { $0 + 1 } ?? 0
                if start == 0, window < byteCount { return } // a huge last line, complete: leave it
                if isValid(Array(body[start...])) { return }
                keep = byteCount - window + UInt64(start)
            }
            guard ftruncate(fd, off_t(keep)) == 0 else { throw .system("cannot repair", path) }
            repairedBytes += Int(byteCount - keep)
            byteCount = keep
            fsync(fd)
        }
    }

    /// Appends the lines (each without its newline) with one write, then flushes them to disk.
    /// Without `sync` the write is not flushed: it survives the process being killed (the kernel
    /// has it), not a power cut.
    package func append(_ lines: [String], sync: Bool = true) throws(StoreError) {
        guard !lines.isEmpty else { return }
        var buffer = [UInt8]()
        for line in lines {
            buffer.append(contentsOf: line.utf8)
            buffer.append(10)
        }
        let status: Int32 = lock.withLock {
            let status = buffer.withUnsafeBytes { cshims_write_all(fd, $0.baseAddress, $0.count) }
            if status == 0 { byteCount += UInt64(buffer.count) }
            return status
        }
        guard status == 0 else { throw .system("cannot write", path) }
        if sync, fsync(fd) != 0 { throw .system("cannot flush", path) }
    }

    /// Replaces the file at `path` atomically: `bytes` go to a temporary file, which is flushed
    /// to disk and renamed over it (a crash leaves the old file or the new one, never a part).
    package static func replace(_ path: String, with bytes: [UInt8]) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("cannot write", temporary) }
        let written = bytes.withUnsafeBytes { cshims_write_all(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == 0, synced == 0 else { throw .system("cannot write", temporary) }
        guard rename(temporary, path) == 0 else { throw .system("cannot replace", path) }
    }

    /// Calls `body` with every complete line from `offset` on, reading in large chunks.
    package static func forEachLine(path: String, from offset: UInt64 = 0,
                                    _ body: (UnsafeRawBufferPointer) -> Void) throws(StoreError) {
        try forEachChunk(path: path, from: offset) { chunk in
            var start = 0
            while start < chunk.count, let newline = memchr(chunk.baseAddress! + start, 10, chunk.count - start) {
                let lineEnd = chunk.baseAddress!.distance(to: UnsafeRawPointer(newline))
                body(UnsafeRawBufferPointer(rebasing: chunk[start..<lineEnd]))
                start = lineEnd + 1
            }
        }
    }

    /// Calls `body` with the file from `offset` on in large pieces, each a run of whole lines
    /// (every one ending in a newline); a last line without its newline is left out.
    package static func forEachChunk(path: String, from offset: UInt64 = 0,
                                     _ body: (UnsafeRawBufferPointer) -> Void) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw .system("cannot open", path)
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        var carried = 0
        var position = off_t(offset)
        while true {
            if carried == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + carried, $0.count - carried, position) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            position += off_t(count)
            let end = carried + count
            buffer.withUnsafeMutableBytes { bytes in
                // Up to the last newline; the rest is carried to the front for the next read.
                var last = end - 1
                while last >= 0, bytes[last] != 10 { last -= 1 }
                let whole = last + 1
                if whole > 0 { body(UnsafeRawBufferPointer(rebasing: bytes[0..<whole])) }
                carried = end - whole
                if carried > 0, whole > 0 { bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + whole, byteCount: carried) }
            }
        }
    }
}

/// The audit trail: every event, one JSON line each, in `history.jsonl`.
package final class HistoryStore: @unchecked Sendable {
    package let file: JSONLinesFile
    package private(set) var lastSequence: Int

    package init(path: String) throws(StoreError) {
        file = try JSONLinesFile(path: path) { WatchEvent(jsonLine: $0) != nil }
        lastSequence = 0
        // The last record's sequence number: the tail of the file is enough.
        if file.size > 0 {
            var last = 0
            let tailStart = file.size > 65536 ? file.size - 65536 : 0
            try JSONLinesFile.forEachLine(path: path, from: tailStart) { line in
                if let event = WatchEvent(jsonLine: line) { last = event.sequence }
            }
            lastSequence = last
        }
    }

    /// Numbers the events, appends them and flushes them to disk.
    package func append(_ events: inout [WatchEvent]) throws(StoreError) {
        for index in events.indices {
            lastSequence += 1
            events[index].sequence = lastSequence
        }
        try file.append(events.map(\.jsonLine))
    }

    /// Events matching the filter, oldest first.
    package static func query(path: String, service: String? = nil, environment: String? = nil, since: Date? = nil,
                              from offset: UInt64 = 0) throws(StoreError) -> [WatchEvent] {
        var events: [WatchEvent] = []
        try scan(path: path, service: service, environment: environment, since: since, from: offset) { line in
            if let event = WatchEvent(jsonLine: line) { events.append(event) }
        }
        return events
    }

    /// Calls `body` with the raw JSON line of each event matching the filter, oldest first,
    /// without parsing it: the filters are byte comparisons (a value's quotes are escaped inside
    /// JSON strings, so `"service":"checkout"` can only be the service member; times are
    /// written in one fixed ISO 8601 form, which sorts as text). A query over millions of
    /// events reads, it does not parse.
    package static func scan(path: String, service: String? = nil, environment: String? = nil, since: Date? = nil,
                             from offset: UInt64 = 0, _ body: (UnsafeRawBufferPointer) -> Void) throws(StoreError) {
        func needle(_ key: String, _ value: String) -> [UInt8] {
            var text = "\"\(key)\":"
            JSONText.appendQuoted(value, to: &text)
            return Array(text.utf8)
        }
        let needles = [service.map { needle("service", $0) }, environment.map { needle("environment", $0) }].compactMap { $0 }
        let timeKey = Array(#""time":""#.utf8)
        let sinceText = since.map { Array(Timestamps.iso8601($0, milliseconds: true).utf8) }
        func visit(_ line: UnsafeRawBufferPointer) {
            // A whole record: `{"seq":…}` (a torn or foreign line is skipped).
            guard line.count > 8, line.first == UInt8(ascii: "{"), line.last == UInt8(ascii: "}") else { return }
            for needle in needles.dropFirst() {
                let found = needle.withUnsafeBytes { needle in
                    cshims_memmem(line.baseAddress, line.count, needle.baseAddress, needle.count) != nil
                }
                if !found { return }
            }
            if let sinceText {
                guard let key = timeKey.withUnsafeBytes({ cshims_memmem(line.baseAddress, line.count, $0.baseAddress, $0.count) })
                else { return }
                let start = line.baseAddress!.distance(to: key) + timeKey.count
                guard start + sinceText.count <= line.count else { return }
                let time = UnsafeRawBufferPointer(rebasing: line[start..<(start + sinceText.count)])
                if time.lexicographicallyPrecedes(sinceText) { return }
            }
            body(line)
        }
        guard let first = needles.first else {
            try JSONLinesFile.forEachLine(path: path, from: offset) { line in
                if line.first == UInt8(ascii: "{") { visit(line) }
            }
            return
        }
        // Filtered: search the first needle through a whole chunk, as grep does, and look at
        // the lines it is found in.
        try JSONLinesFile.forEachChunk(path: path, from: offset) { chunk in
            first.withUnsafeBytes { needle in
                var position = 0
                while position < chunk.count,
                      let hit = cshims_memmem(chunk.baseAddress! + position, chunk.count - position, needle.baseAddress, needle.count) {
                    let at = chunk.baseAddress!.distance(to: hit)
                    var lineStart = at
                    while lineStart > 0, chunk[lineStart - 1] != 10 { lineStart -= 1 }
                    var lineEnd = at + needle.count
                    while lineEnd < chunk.count, chunk[lineEnd] != 10 { lineEnd += 1 }
                    visit(UnsafeRawBufferPointer(rebasing: chunk[lineStart..<lineEnd]))
                    position = lineEnd + 1
                }
            }
        }
    }
}
