import Foundation

/// A `window` check: when a deployment may start. Weekly hours (`Mon-Thu 09:00-16:00`) on the wall
/// clock of a named time zone, minus blackout dates (`2025-12-24`, `2025-12-20..2026-01-04`).
///
/// Pure: `evaluate(at:)` judges the instant it is given, so the clock is the caller's. Times are
/// wall-clock times in the zone, daylight saving time included: `09:00-16:00 Europe/Berlin` means
/// 09:00 CET in winter and 09:00 CEST in summer. A range whose end is before its start runs over
/// midnight (`Fri 22:00-02:00` includes Saturday 01:00); on the night a clock goes back, the hour
/// that happens twice is inside a range each time.
package struct DeployWindow: Sendable {
    package let timeZone: TimeZone
    /// Empty: any time outside the blackouts.
    package let allow: [WeeklyHours]
    package let blackouts: [Blackout]

    package init(timeZone: TimeZone, allow: [WeeklyHours], blackouts: [Blackout]) {
        self.timeZone = timeZone
        self.allow = allow
        self.blackouts = blackouts
    }

    /// A problem in a window's text; the checks file reader adds the JSON path.
    package struct SyntaxError: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    /// The zone for a TZ database name (`Europe/Berlin`, `America/New_York`, `UTC`).
    package static func zone(named name: String) throws(SyntaxError) -> TimeZone {
        guard !name.isEmpty, let zone = TimeZone(identifier: name) else {
            throw SyntaxError(description: "'\(name)' is not a time zone: use a TZ database name such as Europe/Berlin, America/New_York or UTC")
        }
        return zone
    }

    /// `Mon-Thu 09:00-16:00 Europe/Berlin`: one weekly range and its zone, in one string.
    package static func parse(shorthand text: String) throws(SyntaxError) -> DeployWindow {
        var words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard words.count >= 2, let zoneName = words.popLast() else {
            throw SyntaxError(description: "'\(text)': expected days, hours and a time zone, e.g. \"Mon-Thu 09:00-16:00 Europe/Berlin\"")
        }
        let zone = try zone(named: zoneName)
        return DeployWindow(timeZone: zone, allow: [try WeeklyHours.parse(words.joined(separator: " "))], blackouts: [])
    }

    /// `Mon-Thu 09:00-16:00, Fri 09:00-12:00 Europe/Berlin`.
    package var summary: String {
        (allow.isEmpty ? "any time" : allow.map(\.text).joined(separator: ", ")) + " " + timeZone.identifier
            + (blackouts.isEmpty ? "" : "; \(blackouts.count) blackout\(blackouts.count == 1 ? "" : "s")")
    }

    // MARK: Weekly hours

    /// Days of the week and, optionally, hours: `Mon-Fri 09:00-17:00`, `Sat,Sun`, `22:00-02:00`
    /// (every day), `Fri-Mon` (wrapping), `daily 09:00-16:00`.
    package struct WeeklyHours: Sendable, CustomStringConvertible {
        /// Calendar weekdays: 1 Sunday … 7 Saturday.
        package let days: Set<Int>
        /// Minutes after midnight; `end` may be 1440 (`24:00`). `end <= start` runs over midnight.
        package let start: Int
        package let end: Int
        package let text: String

        package var description: String { text }

        static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        static let fullDayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

        package static func parse(_ text: String) throws(SyntaxError) -> WeeklyHours {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            func fail(_ message: String) -> SyntaxError { SyntaxError(description: "'\(trimmed)': \(message)") }
            let words = trimmed.split(whereSeparator: \.isWhitespace)
            var days: Set<Int>?
            var hours: (Int, Int)?
            for word in words {
                if word.contains(":") {
                    guard hours == nil else { throw fail("one range of hours per entry; add another entry for more") }
                    hours = try parseHours(String(word), fail: fail)
                } else {
                    guard days == nil else { throw fail("write the days as one word: Mon-Fri or Mon,Wed,Fri") }
                    days = try parseDays(String(word), fail: fail)
                }
            }
            guard days != nil || hours != nil else {
                throw fail("expected days and hours, e.g. \"Mon-Thu 09:00-16:00\"")
            }
            let (start, end) = hours ?? (0, 1440)
            return WeeklyHours(days: days ?? Set(1...7), start: start, end: end, text: trimmed)
        }

        private static func parseDays(_ word: String, fail: (String) -> SyntaxError) throws(SyntaxError) -> Set<Int> {
            let lower = word.lowercased()
            if ["daily", "*", "every-day", "everyday"].contains(lower) { return Set(1...7) }
            var days: Set<Int> = []
            for item in lower.split(separator: ",", omittingEmptySubsequences: false) {
                let ends = item.split(separator: "-", omittingEmptySubsequences: false)
                guard (1...2).contains(ends.count) else { throw fail("'\(item)' is not a day or a range of days (Mon-Fri)") }
                var numbers: [Int] = []
                for end in ends {
                    guard let index = dayNames.firstIndex(of: String(end)) ?? fullDayNames.firstIndex(of: String(end)) else {
                        throw fail("'\(end)' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
                    }
                    numbers.append(index + 1)
                }
                // Fri-Mon wraps over the weekend.
                var day = numbers[0]
                while true {
                    days.insert(day)
                    if day == numbers.last! { break }
                    day = day % 7 + 1
                }
            }
            return days
        }

        private static func parseHours(_ word: String, fail: (String) -> SyntaxError) throws(SyntaxError) -> (Int, Int) {
            let ends = word.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 2 else { throw fail("'\(word)' is not a range of hours (09:00-16:00)") }
            var minutes: [Int] = []
            for (index, end) in ends.enumerated() {
                let parts = end.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0].count <= 2, parts[1].count == 2,
                      let hour = Int(parts[0]), let minute = Int(parts[1]), (0...59).contains(minute),
                      (0...23).contains(hour) || (index == 1 && hour == 24 && minute == 0) else {
                    throw fail("'\(end)' is not a time of day (HH:MM, 00:00 to 24:00)")
                }
                minutes.append(hour * 60 + minute)
            }
            guard minutes[0] != minutes[1] else {
                throw fail("the range \(word) is empty (for whole days, leave the hours out)")
            }
            return (minutes[0], minutes[1])
        }

        /// Whether a wall-clock minute on a weekday is inside: a range over midnight belongs to
        /// the day it starts on.
        func contains(weekday: Int, minute: Int) -> Bool {
            if start < end { return days.contains(weekday) && minute >= start && minute < end }
            let yesterday = (weekday + 5) % 7 + 1
            return (days.contains(weekday) && minute >= start) || (days.contains(yesterday) && minute < end)
        }
    }

    // MARK: Blackouts

    /// A calendar day, compared as such.
    package struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
        package let year: Int, month: Int, day: Int

        package init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// `2025-12-24`; nil for anything else, or a day that does not exist (2025-02-29).
        package init?(_ text: String) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                  let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
                  (1...12).contains(month), day >= 1, day <= Self.days(inMonth: month, year: year) else { return nil }
            self.init(year: year, month: month, day: day)
        }

        static func days(inMonth month: Int, year: Int) -> Int {
            switch month {
            case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }

        package static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
            (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
        }

        package var description: String {
            String(format: "%04d-%02d-%02d", year, month, day)
        }
    }

    /// Whole days (in the window's zone) when no deployment starts: `2025-12-24` or
    /// `2025-12-20..2026-01-04` (both ends included), with an optional reason.
    package struct Blackout: Sendable, CustomStringConvertible {
        package let first: LocalDate
        package let last: LocalDate
        package let reason: String?

        package static func parse(_ text: String, reason: String?) throws(SyntaxError) -> Blackout {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let ends = trimmed.components(separatedBy: "..")
            guard (1...2).contains(ends.count), let first = LocalDate(ends[0].trimmingCharacters(in: .whitespaces)),
                  let last = LocalDate(ends[ends.count - 1].trimmingCharacters(in: .whitespaces)) else {
                throw SyntaxError(description: "'\(trimmed)' is not a date (2025-12-24) or a range of dates (2025-12-20..2026-01-04)")
            }
            guard first <= last else { throw SyntaxError(description: "'\(trimmed)': the range ends before it starts") }
            return Blackout(first: first, last: last, reason: reason)
        }

        package func contains(_ date: LocalDate) -> Bool { date >= first && date <= last }

        package var description: String {
            (first == last ? "\(first)" : "\(first)..\(last)") + (reason.map { " (\($0))" } ?? "")
        }
    }

    // MARK: Evaluation

    /// The judgement of one instant.
    package struct Verdict: Sendable {
        package var open: Bool
        /// The instant on the zone's wall clock: `Fri 2025-03-28 17:03 +01:00`.
        package var localTime: String
        /// Why it is open or closed, with the next opening when closed.
        package var message: String
        /// When a closed window opens next (nil when open, or not within a year).
        package var opensAt: Date?
    }

    package func evaluate(at instant: Date) -> Verdict {
        let local = wallClock(instant)
        let localTime = Self.format(local, offset: timeZone.secondsFromGMT(for: instant))
        let zone = timeZone.identifier
        if let blackout = blackouts.first(where: { $0.contains(local.date) }) {
            return closed(localTime, "blackout \(blackout): it is \(localTime) in \(zone)", after: instant)
        }
        if allow.isEmpty {
            return Verdict(open: true, localTime: localTime, message: "\(localTime) (\(zone)) is outside every blackout")
        }
        if let hours = allow.first(where: { $0.contains(weekday: local.weekday, minute: local.minute) }) {
            return Verdict(open: true, localTime: localTime, message: "\(localTime) (\(zone)) is inside \(hours.text)")
        }
        return closed(localTime, "outside the deployment window (\(allow.map(\.text).joined(separator: ", ")) \(zone)): it is \(localTime)",
                      after: instant)
    }

    private func closed(_ localTime: String, _ message: String, after instant: Date) -> Verdict {
        guard let opens = nextOpening(after: instant) else {
            return Verdict(open: false, localTime: localTime, message: message + "; it does not open within a year")
        }
        let local = wallClock(opens)
        let text = Self.format(local, offset: timeZone.secondsFromGMT(for: opens))
        return Verdict(open: false, localTime: localTime,
                       message: message + "; it opens \(text) (in \(Self.approximate(opens.timeIntervalSince(instant))))", opensAt: opens)
    }

    private func isOpen(_ instant: Date) -> Bool {
        let local = wallClock(instant)
        if blackouts.contains(where: { $0.contains(local.date) }) { return false }
        return allow.isEmpty || allow.contains { $0.contains(weekday: local.weekday, minute: local.minute) }
    }

    /// The first instant after `instant` when the window is open: the starts of the weekly ranges
    /// and the midnights (where a blackout ends) of the next 400 days, earliest first.
    func nextOpening(after instant: Date) -> Date? {
        let calendar = self.calendar
        let today = wallClock(instant).date
        guard let noon = calendar.date(from: DateComponents(year: today.year, month: today.month, day: today.day, hour: 12)) else {
            return nil
        }
        for offset in 0...400 {
            guard let dayNoon = calendar.date(byAdding: .day, value: offset, to: noon) else { return nil }
            let day = wallClock(dayNoon)
            var starts = [0]
            for hours in allow where hours.days.contains(day.weekday) { starts.append(hours.start) }
            var candidates: [Date] = []
            for minute in starts {
                guard let start = calendar.date(from: DateComponents(year: day.date.year, month: day.date.month, day: day.date.day,
                                                                     hour: minute / 60, minute: minute % 60)) else { continue }
                candidates.append(start)
                // The night a clock goes back, a wall time happens twice: the second one too.
                let repeated = start.addingTimeInterval(timeZone.daylightSavingTimeOffset(for: start))
                if repeated != start, wallClock(repeated).minute == minute, wallClock(repeated).date == day.date {
                    candidates.append(repeated)
                }
            }
            if let first = candidates.sorted().first(where: { $0 > instant && isOpen($0) }) { return first }
        }
        return nil
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private struct WallClock {
        var date: LocalDate
        /// 1 Sunday … 7 Saturday.
        var weekday: Int
        var minute: Int
    }

    private func wallClock(_ instant: Date) -> WallClock {
        let parts = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: instant)
        return WallClock(date: LocalDate(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1),
                         weekday: parts.weekday ?? 1, minute: (parts.hour ?? 0) * 60 + (parts.minute ?? 0))
    }

    /// `Fri 2025-03-28 17:03 +01:00`.
    private static func format(_ local: WallClock, offset seconds: Int) -> String {
        let name = WeeklyHours.dayNames[local.weekday - 1]
        let sign = seconds < 0 ? "-" : "+"
        let offset = abs(seconds) / 60
        return name.prefix(1).uppercased() + name.dropFirst() + " \(local.date) "
            + String(format: "%02d:%02d ", local.minute / 60, local.minute % 60) + sign + String(format: "%02d:%02d", offset / 60, offset % 60)
    }

    /// `2d 14h 57m`, `3h 5m`, `12m`, `less than a minute`.
    static func approximate(_ interval: TimeInterval) -> String {
        let minutes = Int((interval / 60).rounded(.up))
        guard minutes > 0 else { return "less than a minute" }
        var parts: [String] = []
        if minutes >= 1440 { parts.append("\(minutes / 1440)d") }
        if minutes % 1440 >= 60 { parts.append("\(minutes % 1440 / 60)h") }
        if minutes % 60 > 0 { parts.append("\(minutes % 60)m") }
        return parts.joined(separator: " ")
    }
}
