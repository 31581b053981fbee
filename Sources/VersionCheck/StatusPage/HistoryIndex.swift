import CShims
import DeployVerifyKit
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the timeline shows: the watcher's event kinds, the outcomes of CodeDeploy deployments
/// (read from the alert outbox, or the `deployments` items of a DynamoDB state), and the
/// decisions of hookrunner's approval steps (read from their trail, `--approvals`).
package enum TimelineKind: String, Sendable, CaseIterable {
    case firstSeen = "first-seen"
    case deployed
    case rolledBack = "rolled-back"
    case drift
    case unreachable
    case recovered
    case codeDeploySucceeded = "codedeploy-succeeded"
    case codeDeployFailed = "codedeploy-failed"
    case codeDeployStopped = "codedeploy-stopped"
    /// A person approved on the link.
    case approvalApproved = "approval-approved"
    /// A person decided to roll back.
    case approvalRolledBack = "approval-rolled-back"
    /// Nobody decided in time (the record's `outcome` says what that meant).
    case approvalTimedOut = "approval-timed-out"
    /// `--pre-approve` or the step's `preApprove`: passed without waiting.
    case approvalPreApproved = "approval-pre-approved"

    package init(_ kind: WatchEvent.Kind) {
        switch kind {
        case .firstSeen: self = .firstSeen
        case .deployed: self = .deployed
        case .rolledBack: self = .rolledBack
        case .drift: self = .drift
        case .unreachable: self = .unreachable
        case .recovered: self = .recovered
        }
    }

    /// Which kind a bucket of several events shows: the one that most needs a look.
    package var severity: Int {
        switch self {
        case .unreachable: 12
        case .drift: 11
        case .codeDeployFailed: 10
        case .rolledBack: 9
        case .approvalRolledBack: 8
        case .approvalTimedOut: 7
        case .codeDeployStopped: 6
        case .deployed: 5
        case .approvalApproved: 4
        case .codeDeploySucceeded: 3
        case .recovered: 2
        case .approvalPreApproved: 1
        case .firstSeen: 0
        }
    }

    /// Whether events of the kind come from a watcher's history (the rest are held in memory).
    package var isHistory: Bool {
        switch self {
        case .firstSeen, .deployed, .rolledBack, .drift, .unreachable, .recovered: true
        default: false
        }
    }

    /// An approval decision: its environment may be empty, meaning every environment of the service.
    package var isApproval: Bool {
        switch self {
        case .approvalApproved, .approvalRolledBack, .approvalTimedOut, .approvalPreApproved: true
        default: false
        }
    }

    /// How people read it: `deployed`, `rolled back`, `CodeDeploy failed`.
    package var label: String {
        switch self {
        case .firstSeen: "first seen"
        case .deployed: "deployed"
        case .rolledBack: "rolled back"
        case .drift: "drift"
        case .unreachable: "unreachable"
        case .recovered: "recovered"
        case .codeDeploySucceeded: "CodeDeploy succeeded"
        case .codeDeployFailed: "CodeDeploy failed"
        case .codeDeployStopped: "CodeDeploy stopped"
        case .approvalApproved: "approved"
        case .approvalRolledBack: "roll-back decided"
        case .approvalTimedOut: "approval timed out"
        case .approvalPreApproved: "pre-approved"
        }
    }

    /// A character that tells the kind apart without colour (the SVG draws a shape of its own).
    package var icon: String {
        switch self {
        case .firstSeen: "○"
        case .deployed: "▲"
        case .rolledBack: "▼"
        case .drift: "◆"
        case .unreachable: "✖"
        case .recovered: "✔"
        case .codeDeploySucceeded: "■"
        case .codeDeployFailed: "☒"
        case .codeDeployStopped: "□"
        case .approvalApproved: "★"
        case .approvalRolledBack: "⊘"
        case .approvalTimedOut: "◌"
        case .approvalPreApproved: "☆"
        }
    }
}

/// One event as the page details it: a watcher's event, a CodeDeploy deployment or an approval
/// decision.
package struct TimelineEvent: Sendable {
    package var kind: TimelineKind
    package var time: Date
    package var service: String
    /// Empty for an approval decision whose step names no environment: every environment of
    /// the service.
    package var environment: String
    /// `evt-12`, `checkout@production#42.1` (DynamoDB), `codedeploy-d-AB1`, `apr-3f9c0e6d2b7a8145`.
    package var id: String
    /// The instance's URL (credentials masked); empty for a deployment or a decision.
    package var instance: String
    /// `1.4.1 → 1.4.2`, `1.4.1 (expected 1.4.2)`, the deployment's headline, the decision.
    package var change: String
    /// The event as stored (a history line, the deployment alert's payload, the decision's
    /// record), for the API.
    package var json: String {
        switch stored {
        case .event(let event): event.jsonLine
        case .json(let json): json
        }
    }

    private enum Stored: Sendable {
        case event(WatchEvent)
        case json(String)
    }

    private let stored: Stored

    /// An event of another source than the history, stored as `json`.
    init(kind: TimelineKind, time: Date, service: String, environment: String, id: String, change: String, json: String) {
        self.kind = kind
        self.time = time
        self.service = service
        self.environment = environment
        self.id = id
        self.instance = ""
        self.change = change
        stored = .json(json)
    }

    package init(_ event: WatchEvent) {
        kind = TimelineKind(event.kind)
        time = event.time
        service = event.service
        environment = event.environment
        id = event.id
        instance = event.instance
        switch event.kind {
        case .deployed, .rolledBack: change = "\(event.from ?? "?") → \(event.to ?? "?")"
        case .firstSeen: change = event.to ?? ""
        case .drift: change = "\(event.to ?? "?") (expected \(event.expected ?? "?"))"
        case .unreachable: change = event.detail.map { String($0.prefix(200)) } ?? ""
        case .recovered: change = "\(event.problem ?? "") resolved" + (event.to.map { ", \($0)" } ?? "")
        }
        stored = .event(event)
    }

    /// A deployment alert (of the outbox, or a DynamoDB state's `deployments` item); nil for any
    /// other alert or one still running.
    package init?(deployment alert: Alert) {
        guard alert.kind == .deployment, let deployment = alert.deployment, let outcome = deployment.outcome else { return nil }
        let kind: TimelineKind
        switch outcome {
        case .succeeded: kind = .codeDeploySucceeded
        case .failed: kind = .codeDeployFailed
        case .stopped: kind = .codeDeployStopped
        }
        self.init(kind: kind, time: alert.time, service: alert.service, environment: alert.environment, id: alert.id,
                  change: deployment.headline, json: alert.json)
    }
}

/// Every event of a history, kept small enough for millions: per event its time, kind, service
/// and environment (interned), and where its details are (an offset in `history.jsonl`, or an
/// event held in memory). The timeline is drawn from the index; an event's details are read
/// back only for the few the page lists.
///
/// Built by scanning the history's lines without a general JSON parse (the lines are the
/// watcher's own, with these members in a fixed form; a line that does not fit is parsed in full).
package struct HistoryIndex: Sendable {
    /// One event.
    package struct Entry: Sendable {
        /// Seconds since 1970.
        package var time: Double
        package var kind: TimelineKind
        package var service: Int32
        package var environment: Int32
        /// Where the details are: an offset in the history file, or an index into ``held``.
        package var reference: Int
        package var inFile: Bool
    }

    package private(set) var entries: [Entry] = []
    package private(set) var names: [String] = []
    private var nameIndex: [String: Int32] = [:]
    /// Events not in a file (a DynamoDB store's history, deployments from the outbox).
    package private(set) var held: [TimelineEvent] = []
    /// The history file the offsets refer to, and how much of it has been read.
    package private(set) var path: String?
    package private(set) var offset: UInt64 = 0
    /// The highest sequence number read: events at or below it are not indexed again.
    package private(set) var lastSequence = 0
    /// Whether `entries` is in time order (appending keeps it so unless clocks went back).
    private var sorted = true

    package init() {}

    /// The name an entry's `service` or `environment` refers to.
    package func name(_ index: Int32) -> String { names[Int(index)] }

    package mutating func intern(_ name: String) -> Int32 {
        if let index = nameIndex[name] { return index }
        let index = Int32(names.count)
        names.append(name)
        nameIndex[name] = index
        return index
    }

    /// The interned index of a name, nil when no event has it.
    package func lookup(_ name: String) -> Int32? { nameIndex[name] }

    /// Adds an event held in memory.
    package mutating func add(_ event: TimelineEvent) {
        let entry = Entry(time: event.time.timeIntervalSince1970, kind: event.kind, service: intern(event.service),
                          environment: intern(event.environment), reference: held.count, inFile: false)
        held.append(event)
        append(entry)
    }

    private mutating func append(_ entry: Entry) {
        if let last = entries.last, last.time > entry.time { sorted = false }
        entries.append(entry)
    }

    /// Puts the entries in time order (stable) after events were added out of order.
    package mutating func sort() {
        guard !sorted else { return }
        let order = entries.indices.sorted { (entries[$0].time, $0) < (entries[$1].time, $1) }
        entries = order.map { entries[$0] }
        sorted = true
    }

    /// The details of an entry: parsed from its line in the file, or held.
    package func details(_ entry: Entry) -> TimelineEvent? {
        let reader = path.map { LineReader(path: $0) }
        return details(entry, reader: reader)
    }

    /// The same, reading the file through `reader` (one open file for many lookups).
    func details(_ entry: Entry, reader: LineReader?) -> TimelineEvent? {
        guard entry.inFile else { return held.indices.contains(entry.reference) ? held[entry.reference] : nil }
        guard let line = reader?.line(at: UInt64(entry.reference)), let event = WatchEvent(jsonLine: line) else { return nil }
        return TimelineEvent(event)
    }

    /// A reader of the index's history file, for many ``details(_:reader:)`` calls.
    func reader() -> LineReader? { path.map { LineReader(path: $0) } }

    // MARK: A history file

    /// Indexes the lines of `path` beyond what was read before (all of it the first time). A
    /// file that shrank (repaired after a crash) is indexed again from the start.
    package mutating func update(path: String) throws(StoreError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .system("cannot stat", path)
        }
        let size = UInt64(info.st_size)
        if self.path != path || size < offset {
            // A new index: only the held events of other sources are kept.
            let kept = held.filter { !$0.kind.isHistory }
            self = HistoryIndex()
            for event in kept { add(event) }
            self.path = path
        }
        guard size > offset else { return }
        var position = offset
        var read: UInt64 = 0
        try JSONLinesFile.forEachChunk(path: path, from: offset) { chunk in
            guard let base = chunk.baseAddress else { return }
            var start = 0
            while start < chunk.count, let newline = memchr(base + start, 10, chunk.count - start) {
                let end = base.distance(to: UnsafeRawPointer(newline))
                indexLine(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), at: position + UInt64(start))
                start = end + 1
            }
            position += UInt64(chunk.count)
            read += UInt64(chunk.count)
        }
        offset += read
        sort()
    }

    private mutating func indexLine(_ line: UnsafeRawBufferPointer, at offset: UInt64) {
        guard line.count > 8, line.first == UInt8(ascii: "{"), line.last == UInt8(ascii: "}") else { return }
        let fields: LineFields
        if let fast = LineFields(line) {
            fields = fast
        } else if let event = WatchEvent(jsonLine: line) {
            fields = LineFields(sequence: event.sequence, service: event.service, environment: event.environment,
                                kind: event.kind, time: event.time.timeIntervalSince1970)
        } else {
            return
        }
        if fields.sequence > 0 {
            guard fields.sequence > lastSequence else { return }
            lastSequence = fields.sequence
        }
        append(Entry(time: fields.time, kind: TimelineKind(fields.kind), service: intern(fields.service),
                     environment: intern(fields.environment), reference: Int(offset), inFile: true))
    }

}

/// Reads lines of a file by their offset, through one open descriptor.
final class LineReader {
    private let fd: Int32

    init(path: String) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The line that starts at `offset` (without its newline); nil past the end or beyond 4 MiB.
    func line(at offset: UInt64) -> [UInt8]? {
        guard fd >= 0 else { return nil }
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        var position = off_t(offset)
        while line.count < 4 << 20 {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, position) }
            guard count > 0 else { return nil }
            if let newline = buffer[0..<count].firstIndex(of: 10) {
                line += buffer[0..<newline]
                return line
            }
            line += buffer[0..<count]
            position += off_t(count)
        }
        return nil
    }
}

/// The members of a history line the index needs, read without building a JSON tree: the
/// watcher writes flat objects of strings and numbers. Nil for anything else (the caller then
/// parses the line in full).
struct LineFields {
    var sequence: Int
    var service: String
    var environment: String
    var kind: WatchEvent.Kind
    var time: Double

    init(sequence: Int, service: String, environment: String, kind: WatchEvent.Kind, time: Double) {
        self.sequence = sequence
        self.service = service
        self.environment = environment
        self.kind = kind
        self.time = time
    }

    init?(_ line: UnsafeRawBufferPointer) {
        var sequence = 0
        var service: String?, environment: String?, kind: WatchEvent.Kind?, time: Double?
        var index = 1
        let count = line.count
        func skipSpace() { while index < count, line[index] == 0x20 { index += 1 } }
        /// The string at `index` (its opening quote); nil when it has escapes (the slow path).
        func string() -> (start: Int, end: Int)? {
            guard index < count, line[index] == 0x22 else { return nil }
            let start = index + 1
            var position = start
            while position < count {
                let byte = line[position]
                if byte == 0x22 { break }
                if byte == 0x5C { return nil }
                position += 1
            }
            guard position < count else { return nil }
            index = position + 1
            return (start, position)
        }
        func text(_ range: (start: Int, end: Int)) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: line[range.start..<range.end]), as: UTF8.self)
        }
        func equals(_ range: (start: Int, end: Int), _ word: StaticString) -> Bool {
            guard range.end - range.start == word.utf8CodeUnitCount else { return false }
            let bytes = word.utf8Start
            for offset in 0..<word.utf8CodeUnitCount where line[range.start + offset] != bytes[offset] { return false }
            return true
        }
        while index < count {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard index < count, line[index] == 0x3A else { return nil }
            index += 1
            skipSpace()
            guard index < count else { return nil }
            if line[index] == 0x22 {
                guard let value = string() else { return nil }
                if equals(key, "service") {
                    service = text(value)
                } else if equals(key, "environment") {
                    environment = text(value)
                } else if equals(key, "kind") {
                    guard let parsed = WatchEvent.Kind(rawValue: text(value)) else { return nil }
                    kind = parsed
                } else if equals(key, "time") {
                    guard let parsed = Self.time(line, value.start, value.end) ?? Timestamps.parse(text(value))?.timeIntervalSince1970
                    else { return nil }
                    time = parsed
                }
            } else {
                // A number (seq), true, false or null: up to the next comma or the end.
                let start = index
                while index < count, line[index] != 0x2C, line[index] != 0x7D, line[index] != 0x20 { index += 1 }
                if equals(key, "seq") {
                    var value = 0
                    guard index > start else { return nil }
                    for position in start..<index {
                        let digit = line[position]
                        guard digit >= 0x30, digit <= 0x39, value < Int.max / 10 - 10 else { return nil }
                        value = value * 10 + Int(digit - 0x30)
                    }
                    sequence = value
                }
            }
            skipSpace()
            guard index < count else { return nil }
            if line[index] == 0x7D { break }
            guard line[index] == 0x2C else { return nil }
            index += 1
        }
        guard let service, let environment, let kind, let time else { return nil }
        self.init(sequence: sequence, service: service, environment: environment, kind: kind, time: time)
    }

    /// `2026-11-21T19:45:53.123Z` (the form the watcher writes) as seconds since 1970; nil for
    /// any other form.
    static func time(_ line: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Double? {
        guard end - start == 24, line[start + 23] == 0x5A, line[start + 19] == 0x2E else { return nil }
        func number(_ offset: Int, _ digits: Int) -> Int? {
            var value = 0
            for position in (start + offset)..<(start + offset + digits) {
                let digit = line[position]
                guard digit >= 0x30, digit <= 0x39 else { return nil }
                value = value * 10 + Int(digit - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), let millis = number(20, 3),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86400 + hour * 3600 + minute * 60 + second) + Double(millis) / 1000
    }
}
