#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Time formatting without `DateFormatter` (thread-safe, allocation-light, locale-free).
package enum Timestamps {
    /// RFC 3339 / ISO 8601 in UTC: `2026-11-21T19:45:53Z`, or with milliseconds when asked.
    package static func iso8601(_ date: Date, milliseconds: Bool = false) -> String {
        // Whole milliseconds first, so that .089 stored as .08899… still prints .089.
        // Clamped to ±3 million years: a date read from elsewhere cannot trap the conversion.
        let scaled = date.timeIntervalSince1970 * 1000
        let totalMillis = Int64((scaled.isNaN ? 0 : min(max(scaled, -1e20 / 1000), 1e20 / 1000))
            .rounded(milliseconds ? .toNearestOrAwayFromZero : .down))
        let millis = Int(((totalMillis % 1000) + 1000) % 1000)
        var whole = time_t((totalMillis - Int64(millis)) / 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        var text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
        text += "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        if milliseconds {
            text += "." + (millis < 10 ? "00" : millis < 100 ? "0" : "") + String(millis)
        }
        return text + "Z"
    }

    /// IMF-fixdate for the HTTP `Date` header: `Sun, 06 Nov 1994 08:49:37 GMT`.
    package static func httpDate(epochSeconds: Int) -> String {
        var whole = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&whole, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, the form RFC 9110 senders must use),
    /// as `Retry-After` carries it. Nil for anything else. Without `DateFormatter`, which allocates
    /// per call and, on Linux, leaks a character set per parse (found fuzzing the response parser).
    package static func parseHTTPDate(_ text: String) -> Date? {
        let scalars = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        guard scalars.count == 29, scalars[3] == 44, scalars[4] == 32, scalars[7] == 32, scalars[11] == 32,
              scalars[16] == 32, scalars[19] == 58, scalars[22] == 58, scalars[25] == 32,
              String(decoding: scalars[26...], as: UTF8.self) == "GMT",
              ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(String(decoding: scalars[0..<3], as: UTF8.self)),
              let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: String(decoding: scalars[8..<11], as: UTF8.self))
        else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in scalars[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let day = number(5, 2), let year = number(12, 4), let hour = number(17, 2),
              let minute = number(20, 2), let second = number(23, 2),
              (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: Double(timegm(&parts)))
    }

    /// Parses RFC 3339 (`2026-11-21T19:45:53Z`, fractional seconds, `+02:00` offsets, a space
    /// instead of `T`) or whole/fractional Unix epoch seconds. Returns nil for anything else.
    package static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let epoch = Double(trimmed), trimmed.first?.isNumber == true {
            // Up to 9999-12-31T23:59:59Z, as RFC 3339 can say: `1e300` is no time.
            return epoch <= 253_402_300_799 ? Date(timeIntervalSince1970: epoch) : nil
        }
        let scalars = Array(trimmed.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard scalars.count >= 19,
              let year = number(0, 4), scalars[4] == 45, let month = number(5, 2), scalars[7] == 45,
              let day = number(8, 2), scalars[10] == 84 || scalars[10] == 116 || scalars[10] == 32,
              let hour = number(11, 2), scalars[13] == 58, let minute = number(14, 2), scalars[16] == 58,
              let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < scalars.count, scalars[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        guard index < scalars.count else { return nil }
        switch scalars[index] {
        case 90, 122: index += 1 // Z
        case 43, 45: // + or -
            guard let hours = number(index + 1, 2), scalars.count > index + 3, scalars[index + 3] == 58,
                  let minutes = number(index + 4, 2) else { return nil }
            offset = (hours * 3600 + minutes * 60) * (scalars[index] == 45 ? -1 : 1)
            index += 6
        default: return nil
        }
        guard index == scalars.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }

    private static func two(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
