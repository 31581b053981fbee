/// Durations as DeployVerify writes and reads them: `500ms`, `5s`, `2m`, `1h`, `1.5s`, `1m30s`.
package enum DurationText {
    package struct SyntaxError: Error, CustomStringConvertible {
        package let description: String
    }

    /// Parses a duration; a bare number is refused (the unit is never guessed).
    package static func parse(_ text: String) throws(SyntaxError) -> Duration {
        let trimmed = text.trimmed
        let failure = SyntaxError(description: "'\(text)' is not a duration (use a number and a unit: 500ms, 5s, 2m, 1h)")
        guard !trimmed.isEmpty else { throw failure }
        // In whole nanoseconds, within Int64 (some 292 years): a longer text is refused, not trapped on.
        var total: Int64 = 0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number), value.isFinite else { throw failure }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let seconds: Double
            switch unit {
            case "ms": seconds = value / 1000
            case "s": seconds = value
            case "m": seconds = value * 60
            case "h": seconds = value * 3600
            default: throw failure
            }
            let nanoseconds = (seconds * 1e9).rounded()
            guard nanoseconds < 0x1p63 else { throw SyntaxError(description: "'\(text)' is too long a duration") }
            let (sum, overflow) = total.addingReportingOverflow(Int64(nanoseconds))
            guard !overflow else { throw SyntaxError(description: "'\(text)' is too long a duration") }
            total = sum
        }
        return .nanoseconds(total)
    }

    /// `250ms`, `5s`, `1.5s`, `2m`, `1m30s`.
    package static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if millis < 1000 { return "\(millis)ms" }
        if millis % 60000 == 0 { return millis % 3_600_000 == 0 ? "\(millis / 3_600_000)h" : "\(millis / 60000)m" }
        if millis >= 60000 { return "\(millis / 60000)m" + format(.milliseconds(millis % 60000)) }
        if millis % 1000 == 0 { return "\(millis / 1000)s" }
        return "\(Double(millis) / 1000)s"
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    package var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
