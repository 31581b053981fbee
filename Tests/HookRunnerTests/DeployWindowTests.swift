import Foundation
import Testing
@testable import DeployVerifyKit
@testable import HookRunner

/// An instant from ISO 8601 in UTC: `2025-03-30T00:30:00Z`.
private func at(_ text: String) throws -> Date {
    try #require(ISO8601DateFormatter().date(from: text), "\(text)")
}

private func window(_ zone: String, allow: [String], blackouts: [(String, String?)] = []) throws -> DeployWindow {
    DeployWindow(timeZone: try DeployWindow.zone(named: zone), allow: try allow.map { try DeployWindow.WeeklyHours.parse($0) },
                 blackouts: try blackouts.map { try DeployWindow.Blackout.parse($0.0, reason: $0.1) })
}

/// Deployment windows judged at fixed instants: the clock is the test's.
@Suite("Deployment windows")
struct DeployWindowTests {
    @Test func berlinSpringForward() throws {
        // 2025-03-30, the last Sunday of March: 02:00 CET becomes 03:00 CEST.
        let sunday = try window("Europe/Berlin", allow: ["Sun 01:00-04:00"])
        let before = sunday.evaluate(at: try at("2025-03-30T00:30:00Z"))
        #expect(before.open)
        #expect(before.localTime == "Sun 2025-03-30 01:30 +01:00")
        let after = sunday.evaluate(at: try at("2025-03-30T01:30:00Z"))
        #expect(after.open)
        #expect(after.localTime == "Sun 2025-03-30 03:30 +02:00")
        let closed = sunday.evaluate(at: try at("2025-03-30T02:00:00Z")) // 04:00 CEST: two hours after it opened
        #expect(!closed.open)
        #expect(closed.localTime == "Sun 2025-03-30 04:00 +02:00")
        let early = sunday.evaluate(at: try at("2025-03-29T23:59:00Z")) // Sunday 00:59 CET
        #expect(!early.open)
        #expect(early.opensAt == (try at("2025-03-30T00:00:00Z")))
        #expect(early.message.contains("it opens Sun 2025-03-30 01:00 +01:00 (in 1m)"), "\(early.message)")

        // Office hours keep their wall-clock times across the change.
        let office = try window("Europe/Berlin", allow: ["Mon-Fri 09:00-17:00"])
        #expect(!office.evaluate(at: try at("2025-03-28T07:30:00Z")).open, "Fri 08:30 CET")
        #expect(office.evaluate(at: try at("2025-03-28T08:00:00Z")).open, "Fri 09:00 CET")
        #expect(office.evaluate(at: try at("2025-03-31T07:00:00Z")).open, "Mon 09:00 CEST")
        #expect(office.evaluate(at: try at("2025-03-31T14:59:00Z")).open, "Mon 16:59 CEST")
        #expect(!office.evaluate(at: try at("2025-03-31T15:00:00Z")).open, "Mon 17:00 CEST: the end is outside")
        let weekend = office.evaluate(at: try at("2025-03-29T10:00:00Z"))
        #expect(!weekend.open)
        #expect(weekend.opensAt == (try at("2025-03-31T07:00:00Z")), "Monday 09:00 is 07:00 UTC after the change")
        #expect(weekend.message.contains("outside the deployment window (Mon-Fri 09:00-17:00 Europe/Berlin): it is Sat 2025-03-29 11:00 +01:00"),
                "\(weekend.message)")
        #expect(weekend.message.contains("it opens Mon 2025-03-31 09:00 +02:00 (in 1d 21h)"), "\(weekend.message)")
    }

    @Test func berlinFallBack() throws {
        // 2025-10-26, the last Sunday of October: 03:00 CEST becomes 02:00 CET; 02:00-03:00 happens twice.
        let night = try window("Europe/Berlin", allow: ["Sun 02:00-02:30"])
        let first = night.evaluate(at: try at("2025-10-26T00:15:00Z"))
        #expect(first.open)
        #expect(first.localTime == "Sun 2025-10-26 02:15 +02:00")
        let second = night.evaluate(at: try at("2025-10-26T01:15:00Z"))
        #expect(second.open)
        #expect(second.localTime == "Sun 2025-10-26 02:15 +01:00")
        let between = night.evaluate(at: try at("2025-10-26T00:45:00Z")) // 02:45 CEST
        #expect(!between.open)
        #expect(between.opensAt == (try at("2025-10-26T01:00:00Z")), "02:00 CET, the second time round")

        let office = try window("Europe/Berlin", allow: ["Mon-Fri 09:00-17:00"])
        #expect(office.evaluate(at: try at("2025-10-24T07:00:00Z")).open, "Fri 09:00 CEST")
        #expect(!office.evaluate(at: try at("2025-10-27T07:30:00Z")).open, "Mon 08:30 CET")
        #expect(office.evaluate(at: try at("2025-10-27T08:00:00Z")).open, "Mon 09:00 CET")
    }

    @Test func newYork() throws {
        // 2025-03-09: 02:00 EST becomes 03:00 EDT; 2025-11-02: 02:00 EDT becomes 01:00 EST.
        let office = try window("America/New_York", allow: ["Mon-Fri 09:00-16:00"])
        let friday = office.evaluate(at: try at("2025-03-07T13:30:00Z"))
        #expect(!friday.open)
        #expect(friday.localTime == "Fri 2025-03-07 08:30 -05:00")
        #expect(friday.opensAt == (try at("2025-03-07T14:00:00Z")))
        let monday = office.evaluate(at: try at("2025-03-10T13:30:00Z"))
        #expect(monday.open)
        #expect(monday.localTime == "Mon 2025-03-10 09:30 -04:00")
        #expect(!office.evaluate(at: try at("2025-03-10T20:00:00Z")).open, "16:00 EDT")
        #expect(office.evaluate(at: try at("2025-10-31T13:30:00Z")).open, "Fri 09:30 EDT")
        #expect(!office.evaluate(at: try at("2025-11-03T13:30:00Z")).open, "Mon 08:30 EST")
        #expect(office.evaluate(at: try at("2025-11-03T14:30:00Z")).open, "Mon 09:30 EST")
        let sunday = try window("America/New_York", allow: ["Sun 01:00-01:30"])
        #expect(sunday.evaluate(at: try at("2025-11-02T05:15:00Z")).open, "01:15 EDT")
        #expect(sunday.evaluate(at: try at("2025-11-02T06:15:00Z")).open, "01:15 EST")
    }

    @Test func overnightAndWrappingDays() throws {
        let late = try window("UTC", allow: ["Fri 22:00-02:00"])
        #expect(late.evaluate(at: try at("2025-06-06T23:00:00Z")).open, "Fri 23:00")
        #expect(late.evaluate(at: try at("2025-06-07T01:59:00Z")).open, "Sat 01:59: the night that started on Friday")
        #expect(!late.evaluate(at: try at("2025-06-07T02:00:00Z")).open, "Sat 02:00")
        #expect(!late.evaluate(at: try at("2025-06-06T21:59:00Z")).open, "Fri 21:59")
        #expect(!late.evaluate(at: try at("2025-06-06T01:00:00Z")).open, "Fri 01:00 belongs to Thursday's night")
        #expect(late.evaluate(at: try at("2025-06-06T12:00:00Z")).opensAt == (try at("2025-06-06T22:00:00Z")))

        let nightly = try window("Europe/Berlin", allow: ["22:00-02:00"])
        #expect(nightly.evaluate(at: try at("2025-06-08T22:30:00Z")).open, "Mon 00:30 CEST")
        #expect(!nightly.evaluate(at: try at("2025-06-09T10:00:00Z")).open)

        let weekend = try window("UTC", allow: ["Fri-Mon"])
        #expect(weekend.evaluate(at: try at("2025-06-08T12:00:00Z")).open, "Sunday")
        #expect(weekend.evaluate(at: try at("2025-06-09T23:59:00Z")).open, "Monday")
        #expect(!weekend.evaluate(at: try at("2025-06-11T12:00:00Z")).open, "Wednesday")
        let list = try window("UTC", allow: ["mon,wed,Friday 10:00-24:00"])
        #expect(list.evaluate(at: try at("2025-06-11T23:59:00Z")).open, "Wednesday until midnight")
        #expect(!list.evaluate(at: try at("2025-06-10T12:00:00Z")).open, "Tuesday")
    }

    @Test func blackoutDaysAndRanges() throws {
        let office = try window("Europe/Berlin", allow: ["Mon-Fri 09:00-17:00"],
                                blackouts: [("2025-12-24", nil), ("2025-12-27..2026-01-02", "year-end freeze")])
        #expect(office.evaluate(at: try at("2025-12-23T09:00:00Z")).open, "Tue 10:00")
        let eve = office.evaluate(at: try at("2025-12-24T09:00:00Z"))
        #expect(!eve.open)
        #expect(eve.message.hasPrefix("blackout 2025-12-24: it is Wed 2025-12-24 10:00 +01:00 in Europe/Berlin"), "\(eve.message)")
        #expect(eve.opensAt == (try at("2025-12-25T08:00:00Z")), "the 25th is a Thursday outside the blackouts")
        let freeze = office.evaluate(at: try at("2025-12-29T09:00:00Z"))
        #expect(!freeze.open)
        #expect(freeze.message.contains("blackout 2025-12-27..2026-01-02 (year-end freeze)"), "\(freeze.message)")
        #expect(freeze.opensAt == (try at("2026-01-05T08:00:00Z")), "Monday after the freeze")

        // Only blackouts: open the rest of the time; days are the zone's days.
        let freezeOnly = try window("Europe/Berlin", allow: [], blackouts: [("2025-12-24", "Christmas Eve")])
        #expect(freezeOnly.evaluate(at: try at("2025-12-23T22:30:00Z")).open, "23:30 on the 23rd in Berlin")
        let midnight = freezeOnly.evaluate(at: try at("2025-12-23T23:30:00Z"))
        #expect(!midnight.open, "00:30 on the 24th in Berlin, still the 23rd in UTC")
        #expect(midnight.opensAt == (try at("2025-12-24T23:00:00Z")))
    }

    @Test func textIsParsedStrictly() throws {
        let shorthand = try DeployWindow.parse(shorthand: "Mon-Thu 09:00-16:00 Europe/Berlin")
        #expect(shorthand.timeZone.identifier == "Europe/Berlin")
        #expect(shorthand.allow.map(\.days) == [[2, 3, 4, 5]])
        #expect(shorthand.summary == "Mon-Thu 09:00-16:00 Europe/Berlin")
        for (text, message) in [
            ("Mon-Thu 09:00-16:60", "'16:60' is not a time of day"),
            ("Funday 09:00-10:00", "'funday' is not a day"),
            ("Mon 09:00-09:00", "is empty"),
            ("Mon Tue", "write the days as one word"),
            ("Mon 09:00-10:00 11:00-12:00", "one range of hours per entry"),
        ] {
            #expect(throws: DeployWindow.SyntaxError.self, "\(text)") { try DeployWindow.WeeklyHours.parse(text) }
            do {
                _ = try DeployWindow.WeeklyHours.parse(text)
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
        #expect(throws: DeployWindow.SyntaxError.self) { try DeployWindow.Blackout.parse("2025-02-29", reason: nil) }
        #expect(throws: DeployWindow.SyntaxError.self) { try DeployWindow.Blackout.parse("2025-12-31..2025-12-01", reason: nil) }
        #expect(try DeployWindow.Blackout.parse("2024-02-29", reason: nil).first == DeployWindow.LocalDate(year: 2024, month: 2, day: 29))
        #expect(throws: DeployWindow.SyntaxError.self) { try DeployWindow.zone(named: "Europe/Atlantis") }
        #expect(throws: DeployWindow.SyntaxError.self) { try DeployWindow.parse(shorthand: "Mon-Thu 09:00-16:00") }
        #expect(DeployWindow.approximate(45 * 3600) == "1d 21h")
        #expect(DeployWindow.approximate(30) == "1m")
        #expect(DeployWindow.approximate(0) == "less than a minute")
    }

    @Test func theRunnerReadsTheInjectedClock() async throws {
        let file = try HooksFile.parse(Array("""
        {"phases": {"pre-traffic": [
          {"name": "smoke", "command": "true"},
          {"name": "window", "window": "Mon-Thu 09:00-16:00 Europe/Berlin"}
        ]}}
        """.utf8), path: "hooks.json")
        var scope = try VariableScope(file: file, environment: [:])
        let steps = try PhasePlan.make(try #require(file.phases["pre-traffic"]), file: file.path, scope: &scope)
        let prober = try Prober(options: ProbeOptions())
        let cases: [(String, String?, [CheckReport.Outcome])] = [
            ("2025-03-27T14:59:00Z", nil, [.passed, .passed]), // Thursday 15:59 CET
            ("2025-03-27T15:00:00Z", nil, [.blocked, .skipped]), // 16:00
            ("2025-03-27T15:00:00Z", "recovery", [.overridden, .passed]),
        ]
        for (instant, override, outcomes) in cases {
            let now = try at(instant)
            var options = RunOptions()
            options.now = { now }
            options.overrideReason = override
            let reports = await PhaseRunner(steps: steps, scope: scope, prober: prober, options: options).run()
            #expect(reports.map(\.name) == ["window", "smoke"], "blockers first")
            #expect(reports.map(\.outcome) == outcomes, "\(instant)")
            #expect(reports[0].conditions.first?.actual == (instant.hasSuffix("14:59:00Z") ? "Thu 2025-03-27 15:59 +01:00" : "Thu 2025-03-27 16:00 +01:00"))
        }
    }
}
