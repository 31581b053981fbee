import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What a status page or an API call asks for: which services and environment, which time range,
/// which page of the timeline. Read from a query string (`?service=check&env=production&since=7d`)
/// or the command line; written back into the page's links.
package struct StatusQuery: Sendable, Equatable {
    /// Services whose name contains this text (case-insensitive); nil: all.
    package var service: String?
    /// Exactly this environment; nil: all.
    package var environment: String?
    /// The time range: `since` as given (`7d`, `24h`, `2026-11-20`, an ISO 8601 time) and resolved.
    package var sinceText: String?
    package var untilText: String?
    package var since: Date
    package var until: Date
    /// The page of timeline rows, from 1.
    package var page = 1
    /// How many of the latest events to list (the API's `limit`).
    package var limit = 100

    /// The default range: the last seven days.
    package static let defaultRange: TimeInterval = 7 * 86400

    package init(now: Date = Date()) {
        until = now
        since = now.addingTimeInterval(-Self.defaultRange)
    }

    /// From a query string (without `?`). Unknown parameters are ignored; a bad value is an error
    /// that names the parameter.
    package init(query: String?, now: Date = Date()) throws(UsageError) {
        self.init(now: now)
        for (name, value) in Self.parameters(query) {
            try set(name, value, now: now)
        }
        try check()
    }

    /// Sets one parameter: `service`, `env`, `since`, `until`, `page`, `limit`.
    package mutating func set(_ name: String, _ value: String, now: Date = Date()) throws(UsageError) {
        let trimmed = value.trimmed
        switch name {
        case "service": service = trimmed.isEmpty ? nil : String(trimmed.prefix(200))
        case "env", "environment": environment = trimmed.isEmpty ? nil : String(trimmed.prefix(200))
        case "since":
            guard !trimmed.isEmpty else { return }
            guard let date = Self.time(trimmed, now: now) else { throw UsageError("since: '\(trimmed.prefix(40))' is not a date or a duration ago (7d, 24h)") }
            since = date
            sinceText = trimmed
        case "until":
            guard !trimmed.isEmpty else { return }
            guard let date = Self.time(trimmed, now: now) else { throw UsageError("until: '\(trimmed.prefix(40))' is not a date or a duration ago (1h)") }
            until = date
            untilText = trimmed
        case "page":
            guard let number = Int(trimmed), number >= 1, number <= 1_000_000 else { throw UsageError("page: '\(trimmed.prefix(20))' is not a page number") }
            page = number
        case "limit":
            guard let number = Int(trimmed), number >= 0, number <= 1000 else { throw UsageError("limit: '\(trimmed.prefix(20))' is not from 0 to 1000") }
            limit = number
        default: break
        }
    }

    /// The range must go forward and not be absurdly long.
    package func check() throws(UsageError) {
        guard since < until else { throw UsageError("since must be before until") }
        guard until.timeIntervalSince(since) <= 20 * 365 * 86400 else { throw UsageError("the range is longer than 20 years") }
    }

    /// `2026-11-20`, `2026-11-20T10:00:00Z`, epoch seconds, or a duration ago: `30m`, `24h`, `7d`;
    /// nil for anything else, and for times before 1970 or after 9999.
    package static func time(_ text: String, now: Date) -> Date? {
        var date: Date?
        if let parsed = Timestamps.parse(text) ?? Timestamps.parse(text + "T00:00:00Z") {
            date = parsed
        } else if text.hasSuffix("d"), let days = Double(text.dropLast()), days > 0, days < 100_000 {
            date = now.addingTimeInterval(-days * 86400)
        } else if let ago = try? DurationText.parse(text), ago > .zero {
            date = now.addingTimeInterval(-ago.seconds)
        }
        guard let date, date.timeIntervalSince1970.isFinite, (0...253_402_300_799).contains(date.timeIntervalSince1970) else { return nil }
        return date
    }

    /// The name=value pairs of a query string, percent- and plus-decoded.
    package static func parameters(_ query: String?) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&").prefix(64).compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first.map({ decode($0) }), !name.isEmpty else { return nil }
            return (name, parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func decode(_ text: Substring) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }

    /// Percent-encodes a value for a query string.
    package static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The query string of this query with some parameters changed (nil removes one), for links.
    package func link(service: String?? = nil, environment: String?? = nil, since: String?? = nil, until: String?? = nil,
                      page: Int? = nil) -> String {
        var pairs: [(String, String)] = []
        if let value = service ?? self.service { pairs.append(("service", value)) }
        if let value = environment ?? self.environment { pairs.append(("env", value)) }
        if let value = since ?? sinceText { pairs.append(("since", value)) }
        if let value = until ?? untilText { pairs.append(("until", value)) }
        let page = page ?? self.page
        if page > 1 { pairs.append(("page", String(page))) }
        return "?" + pairs.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    /// Whether a service name passes the service filter.
    package func matches(service name: String) -> Bool {
        guard let service else { return true }
        return name.range(of: service, options: .caseInsensitive) != nil
    }
}

/// The timeline of a history over a time range: events bucketed in fixed steps, one row per
/// service (most recently active first, a page at a time), a fleet-wide row of counts, and the
/// latest events in full. Pure: the same index and query give the same timeline.
package struct Timeline: Sendable {
    /// The events of one bucket of one row (or the fleet).
    package struct Mark: Sendable {
        package var bucket: Int
        package var count: Int
        /// The kind shown: the most severe in the bucket.
        package var kind: TimelineKind
        /// Counts by kind, most severe first.
        package var kinds: [(kind: TimelineKind, count: Int)]
        /// The first and last event's time.
        package var first: Double
        package var last: Double
        /// Environments of the events, sorted.
        package var environments: [String]
        /// The only event, when `count` is 1.
        package var event: TimelineEvent?
    }

    /// One service.
    package struct Row: Sendable {
        package var service: String
        package var count: Int
        package var marks: [Mark]
        /// The latest event's time.
        package var latest: Double
    }

    package var start: Date
    package var end: Date
    /// The width of a bucket, and where bucket 0 starts (a multiple of the width since 1970).
    package var bucketSeconds: Int
    package var origin: Double
    package var bucketCount: Int
    /// Counts of every filtered event by bucket (buckets without events left out).
    package var fleet: [Mark]
    /// This page's rows.
    package var rows: [Row]
    /// Rows of all pages, pages, this page.
    package var rowCount: Int
    package var pages: Int
    package var page: Int
    /// Events in the range that pass the filter.
    package var total: Int
    /// The latest of them, newest first, in full.
    package var latest: [TimelineEvent]

    package static let rowsPerPage = 25
    /// At most this many buckets across the range.
    package static let maxBuckets = 60
    /// Bucket widths to choose from: round numbers a reader takes in at once.
    static let widths = [60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400]

    /// The narrowest round width that divides `seconds` into at most ``maxBuckets`` buckets.
    package static func bucketWidth(for seconds: Double) -> Int {
        for width in widths where seconds / Double(width) <= Double(maxBuckets) { return width }
        return Int((seconds / Double(maxBuckets)).rounded(.up) / 86400 + 1) * 86400
    }

    /// The timeline of the events of `index` that pass `query`.
    package init(index: HistoryIndex, query: StatusQuery) {
        start = query.since
        end = query.until
        let from = query.since.timeIntervalSince1970, to = query.until.timeIntervalSince1970
        bucketSeconds = Self.bucketWidth(for: to - from)
        origin = (from / Double(bucketSeconds)).rounded(.down) * Double(bucketSeconds)
        bucketCount = max(1, Int(((to - origin) / Double(bucketSeconds)).rounded(.up)))
        page = query.page

        // Which names pass the filter, decided once per name.
        var serviceMatches = [Bool?](repeating: nil, count: index.names.count)
        let environment = query.environment.flatMap { index.lookup($0) } ?? (query.environment == nil ? nil : -1)
        // An approval decision without an environment is in every environment of its service.
        let everywhere = index.lookup("")
        // The events in the range: a binary search in time order.
        let entries = index.entries
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].time < from { low = middle + 1 } else { high = middle }
        }
        struct Accumulator {
            var count = 0
            var latest = 0.0
            var buckets: [Int: [Int]] = [:] // bucket → entry positions
        }
        var accumulators = [Accumulator](repeating: Accumulator(), count: index.names.count)
        var fleetBuckets = [Int](repeating: 0, count: bucketCount)
        var fleetKinds = [[Int]](repeating: [Int](repeating: 0, count: TimelineKind.allCases.count), count: bucketCount)
        let kindIndex = Dictionary(uniqueKeysWithValues: TimelineKind.allCases.enumerated().map { ($1, $0) })
        var matched: [Int] = []
        var position = low
        var total = 0
        while position < entries.count, entries[position].time <= to {
            let entry = entries[position]
            defer { position += 1 }
            if let environment, entry.environment != environment, !(entry.environment == everywhere && entry.kind.isApproval) { continue }
            let name = Int(entry.service)
            if serviceMatches[name] == nil { serviceMatches[name] = query.matches(service: index.names[name]) }
            guard serviceMatches[name] == true else { continue }
            total += 1
            matched.append(position)
            let bucket = min(bucketCount - 1, max(0, Int((entry.time - origin) / Double(bucketSeconds))))
            fleetBuckets[bucket] += 1
            fleetKinds[bucket][kindIndex[entry.kind]!] += 1
            accumulators[name].count += 1
            accumulators[name].latest = entry.time
            accumulators[name].buckets[bucket, default: []].append(position)
        }
        self.total = total

        var fleet: [Mark] = []
        let width = Double(bucketSeconds), origin = self.origin
        for bucket in fleetBuckets.indices where fleetBuckets[bucket] > 0 {
            var kinds: [(kind: TimelineKind, count: Int)] = []
            for (offset, kind) in TimelineKind.allCases.enumerated() where fleetKinds[bucket][offset] > 0 {
                kinds.append((kind, fleetKinds[bucket][offset]))
            }
            kinds.sort { $0.kind.severity > $1.kind.severity }
            let startTime = origin + Double(bucket) * width
            fleet.append(Mark(bucket: bucket, count: fleetBuckets[bucket], kind: kinds[0].kind, kinds: kinds, first: startTime,
                              last: startTime + width, environments: [], event: nil))
        }
        self.fleet = fleet

        let ordered = accumulators.enumerated().filter { $0.element.count > 0 }.map { (key: $0.offset, value: $0.element) }
            .sorted { left, right in
                left.value.latest != right.value.latest ? left.value.latest > right.value.latest
                    : index.names[left.key] < index.names[right.key]
            }
        rowCount = ordered.count
        pages = max(1, (ordered.count + Self.rowsPerPage - 1) / Self.rowsPerPage)
        let reader = index.reader()
        let pageRows = ordered.dropFirst((min(query.page, pages) - 1) * Self.rowsPerPage).prefix(Self.rowsPerPage)
        rows = pageRows.map { service, accumulator in
            let marks = accumulator.buckets.keys.sorted().map { bucket -> Mark in
                let positions = accumulator.buckets[bucket]!
                var counts: [TimelineKind: Int] = [:]
                var environments: Set<Int32> = []
                for position in positions {
                    counts[entries[position].kind, default: 0] += 1
                    environments.insert(entries[position].environment)
                }
                let kinds = counts.sorted { $0.key.severity > $1.key.severity }.map { (kind: $0.key, count: $0.value) }
                return Mark(bucket: bucket, count: positions.count, kind: kinds[0].kind, kinds: kinds,
                            first: entries[positions[0]].time, last: entries[positions[positions.count - 1]].time,
                            environments: environments.map { index.names[Int($0)] }.sorted(),
                            event: positions.count == 1 ? index.details(entries[positions[0]], reader: reader) : nil)
            }
            return Row(service: index.names[service], count: accumulator.count, marks: marks, latest: accumulator.latest)
        }
        latest = matched.suffix(query.limit).reversed().compactMap { index.details(entries[$0], reader: reader) }
    }

    /// The start of a bucket.
    package func bucketStart(_ bucket: Int) -> Date {
        Date(timeIntervalSince1970: origin + Double(bucket * bucketSeconds))
    }

    /// `3h`, `1d`, `15m`.
    package var bucketText: String {
        let seconds = bucketSeconds
        if seconds % 86400 == 0 { return "\(seconds / 86400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        return "\(seconds / 60)m"
    }
}

/// Where things are in the timeline's SVG: a fixed-width drawing, a label column on the left,
/// the time axis across the rest, a row per service under the fleet row. Pure arithmetic.
package struct TimelineGeometry: Sendable {
    package var width = 960.0
    package var labelWidth = 190.0
    package var rightMargin = 14.0
    package var axisHeight = 22.0
    package var fleetHeight = 40.0
    package var rowHeight = 22.0
    package var start: Double
    package var end: Double

    package init(start: Date, end: Date) {
        self.start = start.timeIntervalSince1970
        self.end = end.timeIntervalSince1970
    }

    package var plotLeft: Double { labelWidth }
    package var plotWidth: Double { width - labelWidth - rightMargin }

    /// The x of a time, clamped to the plot.
    package func x(_ time: Double) -> Double {
        guard end > start else { return plotLeft }
        let fraction = (time - start) / (end - start)
        return plotLeft + plotWidth * min(1, max(0, fraction))
    }

    /// The top of the fleet row and the centre line of service row `row` (from 0).
    package var fleetTop: Double { axisHeight }
    package func rowY(_ row: Int) -> Double { axisHeight + fleetHeight + rowHeight * (Double(row) + 0.5) }
    package func height(rows: Int) -> Double { axisHeight + fleetHeight + rowHeight * Double(rows) + 6 }

    /// A bar's height for a bucket count, out of the busiest bucket's (square-root scale, so that
    /// one event stays visible beside a thousand).
    package func barHeight(_ count: Int, max maximum: Int) -> Double {
        guard maximum > 0, count > 0 else { return 0 }
        return max(2, (fleetHeight - 8) * (Double(count) / Double(maximum)).squareRoot())
    }

    /// Axis ticks: round times within the range, at most about eight, each with its label.
    package func ticks() -> [(x: Double, label: String)] {
        let span = end - start
        guard span > 0 else { return [] }
        let steps: [Double] = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400,
                     91 * 86400, 365 * 86400]
        let step = steps.first { span / $0 <= 8 } ?? (span / 8 / 86400).rounded(.up) * 86400
        var ticks: [(x: Double, label: String)] = []
        var time = (start / step).rounded(.up) * step
        // A label needs about 70 px: none starts closer than that to the right edge.
        while time <= end, ticks.count < 12, x(time) <= plotLeft + plotWidth - 70 {
            let text = Timestamps.iso8601(Date(timeIntervalSince1970: time))
            // `11-20` for whole days, `11-20 06:00` otherwise.
            let day = String(text.dropFirst(5).prefix(5))
            let label = step >= 86400 ? day : day + " " + String(text.dropFirst(11).prefix(5))
            ticks.append((x: x(time), label: label))
            time += step
        }
        return ticks
    }
}
