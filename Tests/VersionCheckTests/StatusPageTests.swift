import DeployVerifyKit
import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import VersionCheck

private let t0 = Date(timeIntervalSince1970: 1_795_000_000) // 2026-11-17T…

private func manifest(_ text: String, environment: [String: String] = [:]) throws -> Manifest {
    try Manifest.parse(Array(text.utf8), path: "fleet.json", environment: environment)
}

private func event(_ kind: WatchEvent.Kind, _ service: String, _ environment: String = "production", at seconds: Double,
                   sequence: Int = 0, from: String? = nil, to: String? = nil) -> WatchEvent {
    WatchEvent(sequence: sequence, time: t0.addingTimeInterval(seconds), kind: kind, service: service, environment: environment,
               instance: "http://10.0.0.1:9090/info", from: from, to: to)
}

private func index(_ events: [WatchEvent]) -> HistoryIndex {
    var index = HistoryIndex()
    for event in events { index.add(TimelineEvent(event)) }
    index.sort()
    return index
}

private func query(since: Double, until: Double, service: String? = nil, environment: String? = nil, page: Int = 1) -> StatusQuery {
    var query = StatusQuery(now: t0)
    query.since = t0.addingTimeInterval(since)
    query.until = t0.addingTimeInterval(until)
    query.service = service
    query.environment = environment
    query.page = page
    return query
}

@Suite("status page: rendering without a browser")
struct StatusPageTests {
    // MARK: Escaping and secrets

    @Test func escapesEveryKindOfMarkupCharacter() {
        #expect(HTMLText.escape(#"<script>alert(1)</script>"#) == "&lt;script&gt;alert(1)&lt;/script&gt;")
        #expect(HTMLText.escape(#"a"b'c&d"#) == "a&quot;b&#39;c&amp;d")
        #expect(HTMLText.escape("1.4.2 – ünïcode ✓") == "1.4.2 – ünïcode ✓")
        var html = HTMLText()
        html.raw("<td")
        html.attribute("title", #""><img src=x onerror=alert(1)>"#)
        html.raw(">")
        #expect(html.text == #"<td title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">"#)
        #expect(HTMLText.format(12) == "12" && HTMLText.format(12.25) == "12.3" && HTMLText.format(-3.04) == "-3" && HTMLText.format(.nan) == "0")
    }

    @Test func dataNeverBecomesMarkupAndSecretsNeverShow() throws {
        let hostile = "<script>alert(1)</script>"
        let fleet = try manifest("""
        {"channels": {"ops": {"type": "slack", "url": "https://hooks.slack.example/services/T0001/B0002/SLACKSECRET99"}},
         "services": [
          {"name": "\(hostile)", "environment": "production", "url": "http://user:PASSW0RD-42@10.0.0.1/info",
           "headers": {"Authorization": "Bearer ${TOKEN}"}, "expect": "1.0.0", "notify": ["ops"]},
          {"name": "checkout", "environment": "<img src=x onerror=alert(2)>", "url": "http://10.0.0.2/info?token=QUERYSECRET7"}
         ]}
        """, environment: ["TOKEN": "INFO-TOKEN-SECRET-1"])
        // A version that echoes the token (a misconfigured service), and a hostile version.
        let status = FleetStatus(manifest: fleet, observed: [["1.0.0-INFO-TOKEN-SECRET-1"], ["\"><svg onload=alert(3)>"]], generated: t0)
        let history = index([
            WatchEvent(sequence: 1, time: t0, kind: .unreachable, service: hostile, environment: "production",
                       instance: Redaction.url("http://user:PASSW0RD-42@10.0.0.1/info"), detail: "http-error: 401 for INFO-TOKEN-SECRET-1"),
            WatchEvent(sequence: 2, time: t0.addingTimeInterval(60), kind: .deployed, service: hostile, environment: "production",
                       instance: "x", from: "<b>1</b>", to: "2'><script>alert(4)</script>"),
        ])
        var page = StatusPage(status: status, timeline: Timeline(index: history, query: query(since: -3600, until: 3600)),
                              query: query(since: -3600, until: 3600), mode: .live(refresh: 5))
        page.redactor = fleet.redactor
        let html = page.render()
        let api = StatusAPI.history(Timeline(index: history, query: query(since: -3600, until: 3600)), query: query(since: -3600, until: 3600),
                                    redactor: fleet.redactor)
        for text in [html, status.json, api] {
            for secret in ["INFO-TOKEN-SECRET-1", "PASSW0RD-42", "QUERYSECRET7", "SLACKSECRET99", "T0001/B0002"] {
                #expect(!text.contains(secret), "\(secret) leaked")
            }
        }
        // The page's only script element is its own; hostile text is there as text.
        #expect(html.components(separatedBy: "<script").count == 2)
        #expect(!html.contains("<img src=x") && !html.contains("<svg onload") && !html.contains("<b>1</b>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&lt;img src=x onerror=alert(2)&gt;"))
        #expect(html.contains("2&#39;&gt;&lt;script&gt;alert(4)&lt;/script&gt;"))
        // The JSON escapes nothing away: a client gets the names as they are (and sets them as text).
        let document = try #require(try JSONSerialization.jsonObject(with: Data(api.utf8)) as? [String: Any])
        let events = try #require(document["events"] as? [[String: Any]])
        #expect(events.first?["service"] as? String == hostile)
        #expect(events.first?["change"] as? String == "<b>1</b> → 2'><script>alert(4)</script>")
    }

    // MARK: The grid

    @Test func gridMarksDriftUnreachableMixedAndStagingVersusProduction() throws {
        let fleet = try manifest("""
        {"services": [
          {"name": "checkout", "environment": "production", "urls": ["http://a/info", "http://b/info", "http://c/info"], "expect": "1.4.2"},
          {"name": "checkout", "environment": "staging", "url": "http://d/info"},
          {"name": "payments", "environment": "production", "url": "http://e/info"}
        ]}
        """)
        let status = FleetStatus(manifest: fleet, observed: [["1.4.2", "1.4.1", nil], ["1.5.0"], ["2.0.0"]], generated: t0)
        #expect(status.environments == ["staging", "production"])
        let checkout = try #require(status.rows.first { $0.service == "checkout" }?.cells["production"])
        #expect(checkout.drift && checkout.mixed && checkout.unreachable == 1 && checkout.expected == "1.4.2")
        #expect(checkout.versions == [.init(version: "1.4.1", count: 1), .init(version: "1.4.2", count: 1)])
        #expect(status.rows[0].stagingProduction == "staging runs 1.5.0, production 1× 1.4.1, 1× 1.4.2 (+1 unreachable)")
        #expect(status.hasProblems)
        var html = HTMLText()
        StatusPage.grid(status, into: &html)
        let row = try #require(html.text.components(separatedBy: "<tr data-service=\"checkout\">").last?.components(separatedBy: "</tr>").first)
        #expect(row.contains("<td class=\"c drift\" data-env=\"production\"><span class=\"b drift\">⚠ drift</span> "
            + "<span class=\"b down\">✖ 1 of 3 unreachable</span> <span class=\"b mixed\">◐ mixed</span> 1× 1.4.1, 1× 1.4.2"
            + "<small class=\"x\">expected 1.4.2</small></td>"))
        #expect(row.contains("⇄ staging ≠ production"))
        #expect(html.text.contains("<tr data-service=\"payments\"><th scope=\"row\">payments</th><td class=\"none\" data-env=\"staging\">—</td>"))

        let narrowed = status.filtered(service: "PAY", environment: "production")
        #expect(narrowed.rows.map(\.service) == ["payments"] && narrowed.environments == ["production"])
        #expect(!narrowed.hasProblems && narrowed.notes.isEmpty)
        #expect(status.filtered(service: nil, environment: "staging").notes == ["checkout: staging runs 1.5.0, production 1× 1.4.1, 1× 1.4.2 (+1 unreachable)"])
    }

    // MARK: Bucketing

    @Test func bucketWidthsAreRoundAndFewEnough() {
        #expect(Timeline.bucketWidth(for: 3600) == 60)
        #expect(Timeline.bucketWidth(for: 86400) == 1800)
        #expect(Timeline.bucketWidth(for: 7 * 86400) == 10800)
        #expect(Timeline.bucketWidth(for: 30 * 86400) == 43200)
        let spans: [Double] = [60, 999, 86400 * 3.3, 86400 * 400, 86400 * 3650]
        for span in spans {
            #expect(span / Double(Timeline.bucketWidth(for: span)) <= Double(Timeline.maxBuckets), "\(span)")
        }
    }

    @Test func eventsLandInTheirBucketsAndTheMostSevereKindIsShown() throws {
        let history = index([
            event(.deployed, "checkout", at: 10, sequence: 1, from: "1", to: "2"),
            event(.drift, "checkout", at: 20, sequence: 2),
            event(.deployed, "checkout", "staging", at: 30, sequence: 3),
            event(.firstSeen, "payments", at: 7200 + 5, sequence: 4),
            event(.rolledBack, "checkout", at: -10_000, sequence: 5), // before the range
            event(.deployed, "search", at: 40, sequence: 6),
        ])
        let timeline = Timeline(index: history, query: query(since: -3600, until: 3 * 3600))
        #expect(timeline.bucketSeconds == 300)
        #expect(timeline.total == 5)
        #expect(timeline.origin.truncatingRemainder(dividingBy: 300) == 0)
        #expect(timeline.rows.map(\.service) == ["payments", "search", "checkout"], "most recently active first")
        let checkout = try #require(timeline.rows.last)
        #expect(checkout.count == 3 && checkout.marks.count == 1)
        let mark = checkout.marks[0]
        #expect(mark.count == 3 && mark.kind == .drift && mark.environments == ["production", "staging"])
        #expect(mark.kinds.map(\.kind) == [.drift, .deployed] && mark.kinds.map(\.count) == [1, 2])
        #expect(mark.event == nil)
        let single = try #require(timeline.rows.first?.marks.first)
        #expect(single.count == 1 && single.event?.id == "evt-4" && single.event?.kind == .firstSeen)
        #expect(timeline.fleet.map(\.count) == [4, 1])
        #expect(timeline.latest.map(\.id) == ["evt-4", "evt-6", "evt-3", "evt-2", "evt-1"], "newest first")

        let production = Timeline(index: history, query: query(since: -3600, until: 3 * 3600, service: "CHECK", environment: "production"))
        #expect(production.total == 2 && production.rows.map(\.service) == ["checkout"])
        let unknown = Timeline(index: history, query: query(since: -3600, until: 3 * 3600, environment: "qa"))
        #expect(unknown.total == 0 && unknown.rows.isEmpty && unknown.pages == 1)
    }

    @Test func rowsComeAPageAtATime() {
        let services = (0..<(Timeline.rowsPerPage + 5)).map { "svc-\($0)" }
        let history = index(services.enumerated().map { event(.deployed, $1, at: Double($0), sequence: $0 + 1) })
        let first = Timeline(index: history, query: query(since: -60, until: 3600))
        #expect(first.rowCount == services.count && first.pages == 2 && first.rows.count == Timeline.rowsPerPage)
        #expect(first.rows.first?.service == services.last)
        let second = Timeline(index: history, query: query(since: -60, until: 3600, page: 2))
        #expect(second.rows.map(\.service) == Array(services.prefix(5).reversed()))
        let beyond = Timeline(index: history, query: query(since: -60, until: 3600, page: 9))
        #expect(beyond.rows.map(\.service) == second.rows.map(\.service), "a page past the end shows the last")
    }

    // MARK: SVG geometry

    @Test func timeMapsOntoThePlotAndRowsStack() {
        let geometry = TimelineGeometry(start: t0, end: t0.addingTimeInterval(1000))
        #expect(geometry.x(t0.timeIntervalSince1970) == geometry.plotLeft)
        #expect(geometry.x(t0.timeIntervalSince1970 + 1000) == geometry.plotLeft + geometry.plotWidth)
        #expect(geometry.x(t0.timeIntervalSince1970 + 500) == geometry.plotLeft + geometry.plotWidth / 2)
        #expect(geometry.x(t0.timeIntervalSince1970 - 99) == geometry.plotLeft, "clamped")
        #expect(geometry.x(t0.timeIntervalSince1970 + 5000) == geometry.plotLeft + geometry.plotWidth, "clamped")
        #expect(geometry.rowY(1) - geometry.rowY(0) == geometry.rowHeight)
        #expect(geometry.rowY(0) > geometry.fleetTop + geometry.fleetHeight - 1)
        #expect(geometry.height(rows: 3) > geometry.rowY(2) + geometry.rowHeight / 2)
        #expect(geometry.barHeight(0, max: 10) == 0)
        #expect(geometry.barHeight(1, max: 10_000) == 2, "one event stays visible")
        #expect(geometry.barHeight(10, max: 10) == geometry.fleetHeight - 8)
        #expect(abs(geometry.barHeight(25, max: 100) - (geometry.fleetHeight - 8) / 2) < 0.001, "square-root scale")
        let week = TimelineGeometry(start: Date(timeIntervalSince1970: 1_795_000_000), end: Date(timeIntervalSince1970: 1_795_000_000 + 7 * 86400))
        let ticks = week.ticks()
        #expect((4...8).contains(ticks.count))
        #expect(ticks.allSatisfy { $0.x >= week.plotLeft && $0.x <= week.plotLeft + week.plotWidth - 70 })
        #expect(ticks.allSatisfy { $0.label.count == 5 }, "whole days: MM-DD")
    }

    @Test func theSVGDrawsAShapePerKindAndLinksEachMark() throws {
        let history = index([
            event(.deployed, "checkout", at: 10, sequence: 1, from: "1.4.1", to: "1.4.2"),
            event(.drift, "checkout", at: 3000, sequence: 2),
            event(.unreachable, "checkout", at: 3010, sequence: 3),
        ])
        let timeline = Timeline(index: history, query: query(since: -600, until: 3600))
        var html = HTMLText()
        TimelineSVG.render(timeline, query: query(since: -600, until: 3600), listed: ["evt-1"], redactor: Redactor(), into: &html)
        let svg = html.text
        for kind in TimelineKind.allCases { #expect(svg.contains("<symbol id=\"k-\(kind.rawValue)\"")) }
        let geometry = TimelineGeometry(start: timeline.start, end: timeline.end)
        let x = HTMLText.format(geometry.x(t0.timeIntervalSince1970 + 10) - 6), y = HTMLText.format(geometry.rowY(0) - 6)
        #expect(svg.contains("<a href=\"#e-evt-1\"><use href=\"#k-deployed\" x=\"\(x)\" y=\"\(y)\""), "\(svg)")
        // The drift and the unreachable event share a bucket: one mark, the more severe kind, a count, a link to the range.
        #expect(svg.contains("<use href=\"#k-unreachable\""))
        #expect(!svg.contains("<use href=\"#k-drift\""))
        #expect(svg.contains(">2</text>"))
        #expect(svg.contains("#events\"><use href=\"#k-unreachable\""))
        #expect(svg.contains("1 unreachable, 1 drift"))
    }

    // MARK: Reading the history

    @Test func theLineScannerAgreesWithTheJSONParser() throws {
        let lines = [
            event(.deployed, "checkout", at: 1.5, sequence: 7, from: "1", to: "2").jsonLine,
            WatchEvent(sequence: 8, time: t0, kind: .drift, service: #"we"ird\name ✓"#, environment: "prod\nuction", instance: "x").jsonLine,
            #"{"id":"checkout@production#42.1","service":"checkout","environment":"production","kind":"recovered","time":"2026-11-20T10:00:00Z","instance":"x"}"#,
            #"{ "seq" : 9 , "service" : "a" , "environment" : "b" , "kind" : "unreachable" , "time" : "2026-11-20T10:00:00.250+01:00" , "instance" : "x" }"#,
        ]
        for line in lines {
            let parsed = try #require(WatchEvent(jsonLine: Array(line.utf8)))
            let fields = Array(line.utf8).withUnsafeBytes { LineFields($0) }
            if let fields {
                #expect(fields.service == parsed.service && fields.environment == parsed.environment && fields.kind == parsed.kind)
                #expect(abs(fields.time - parsed.time.timeIntervalSince1970) < 0.0005, "\(line)")
                #expect(fields.sequence == parsed.sequence)
            } else {
                #expect(line.contains("\\"), "only lines with escapes take the slow path: \(line)")
            }
        }
        for bad in [#"{"seq":1}"#, #"{"seq":1,"service":"a","environment":"b","kind":"exploded","time":"2026-11-20T10:00:00Z","instance":"x"}"#,
                    #"{"seq":1,"service":"a","environment":"b","kind":"drift","time":"yesterday","instance":"x"}"#, "{\"service\":\"a"] {
            #expect(Array(bad.utf8).withUnsafeBytes { LineFields($0) } == nil, "\(bad)")
        }
    }

    @Test func theIndexFollowsAGrowingHistoryFile() throws {
        let directory = NSTemporaryDirectory() + "status-index-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/history.jsonl"
        let history = try HistoryStore(path: path)
        var batch = [event(.firstSeen, "checkout", at: 0), event(.deployed, #"quote"d"#, at: 60, from: "1", to: "2")]
        try history.append(&batch)
        var index = HistoryIndex()
        try index.update(path: path)
        #expect(index.entries.count == 2 && index.lastSequence == 2)
        // A torn last line (a watcher mid-write) waits until it is whole.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        let third = event(.drift, "checkout", at: 120, sequence: 3).jsonLine
        handle.write(Data(third.prefix(20).utf8))
        try index.update(path: path)
        #expect(index.entries.count == 2)
        handle.write(Data((third.dropFirst(20) + "\n").utf8))
        handle.closeFile()
        try index.update(path: path)
        #expect(index.entries.count == 3)
        #expect(index.details(index.entries[1])?.service == #"quote"d"#)
        #expect(index.details(index.entries[2])?.kind == .drift)
        // A history that shrank (repaired after a crash) is indexed again.
        try JSONLinesFile.replace(path, with: Array((event(.recovered, "checkout", at: 5, sequence: 1).jsonLine + "\n").utf8))
        try index.update(path: path)
        #expect(index.entries.count == 1 && index.entries[0].kind == .recovered)
    }

    @Test func codeDeployDeploymentsComeFromTheOutboxOnceEach() throws {
        let directory = NSTemporaryDirectory() + "status-outbox-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var failed = CodeDeployDeployment(id: "d-FAILED1", application: "checkout", group: "checkout-prod", status: "Failed")
        failed.completeTime = t0
        failed.errorCode = "HEALTH_CONSTRAINTS"
        var running = CodeDeployDeployment(id: "d-RUNNING", application: "checkout", group: "checkout-prod", status: "InProgress")
        running.createTime = t0
        let outbox = try Outbox(path: "\(directory)/deliveries.jsonl")
        let deployment = Alert.deployment(failed, now: t0)
        try outbox.enqueue([Delivery(id: "\(deployment.id):ops", channel: "ops", alert: deployment),
                            Delivery(id: "\(deployment.id):slack", channel: "slack", alert: deployment),
                            Delivery(id: "codedeploy-d-RUNNING:ops", channel: "ops", alert: Alert.deployment(running, now: t0)),
                            Delivery(id: "evt-1:ops", channel: "ops", alert: Alert.group([event(.drift, "checkout", at: 0, sequence: 1)],
                                                                                          state: WatchState.Service())[0])])
        try outbox.recordEnd("\(deployment.id):ops", state: "delivered", attempts: 1, status: 200, detail: nil)
        var known: Set<String> = []
        var found: [TimelineEvent] = []
        let offset = try StatusSource.readDeployments(path: "\(directory)/deliveries.jsonl", from: 0, known: &known) { found.append($0) }
        #expect(found.count == 1, "one deployment that ended, once whatever its channels")
        #expect(found.first?.kind == .codeDeployFailed && found.first?.service == "checkout" && found.first?.environment == "checkout-prod")
        #expect(found.first?.change.hasPrefix("deployment d-FAILED1 failed") == true)
        // Read again from where it stopped: nothing new; from the start: nothing known is added twice.
        #expect(try StatusSource.readDeployments(path: "\(directory)/deliveries.jsonl", from: offset, known: &known) { found.append($0) } == offset)
        _ = try StatusSource.readDeployments(path: "\(directory)/deliveries.jsonl", from: 0, known: &known) { found.append($0) }
        #expect(found.count == 1)

        var history = index([event(.deployed, "checkout", at: -60, sequence: 1, from: "1", to: "2")])
        history.add(try #require(found.first))
        history.sort()
        let timeline = Timeline(index: history, query: query(since: -3600, until: 3600))
        #expect(timeline.total == 2 && timeline.latest.first?.kind == .codeDeployFailed)
        #expect(timeline.rows.first?.marks.first?.kind == .codeDeployFailed, "more severe than a deployment")
        let api = StatusAPI.history(timeline, query: query(since: -3600, until: 3600), redactor: Redactor())
        let document = try #require(try JSONSerialization.jsonObject(with: Data(api.utf8)) as? [String: Any])
        let latest = try #require((document["events"] as? [[String: Any]])?.first)
        #expect(latest["kind"] as? String == "codedeploy-failed" && latest["id"] as? String == "codedeploy-d-FAILED1")
        #expect(((latest["stored"] as? [String: Any])?["deployment"] as? [String: Any])?["status"] as? String == "Failed")
    }

    // MARK: Queries

    @Test func queriesReadTheirParametersAndWriteLinks() throws {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let query = try StatusQuery(query: "service=check+out%2Fv2&env=production&since=24h&until=2026-11-18&page=2&limit=5&other=x", now: now)
        #expect(query.service == "check out/v2" && query.environment == "production" && query.page == 2 && query.limit == 5)
        #expect(query.since == now.addingTimeInterval(-86400))
        #expect(query.until == Timestamps.parse("2026-11-18T00:00:00Z"))
        #expect(query.link() == "?service=check%20out%2Fv2&env=production&since=24h&until=2026-11-18&page=2")
        #expect(query.link(service: .some(nil), page: 1) == "?env=production&since=24h&until=2026-11-18")
        #expect(try StatusQuery(query: query.link().dropFirst().description, now: now) == query.withLimit(100))
        for bad in ["since=yesterday", "page=0", "limit=5000", "since=1h&until=2h", "until=1970-01-01", "since=1e300", "until=1e19",
                    "since=99999999999h", "since=1969-12-31", "since=60000d"] {
            #expect(throws: UsageError.self, "\(bad)") { try StatusQuery(query: bad, now: now) }
        }
        #expect(try StatusQuery(query: nil, now: now).since == now.addingTimeInterval(-StatusQuery.defaultRange))
        #expect(StatusPage.anchor("checkout@production#42.1") == "e-checkout-production-42-1")
    }

    // MARK: Size

    @Test func aThousandServicesAndAHundredThousandEventsWeighUnderAMegabyte() async throws {
        let (bytes, marks) = try await blocking {
            let environments = ["development", "staging", "production"]
            var services: [String] = []
            for n in 1...1000 {
                for environment in environments {
                    services.append(#"{"name":"svc-\#(n)","environment":"\#(environment)","urls":["http://10.0.\#(n % 250).1/info","http://10.0.\#(n % 250).2/info"],"expect":"1.4.2"}"#)
                }
            }
            let fleet = try manifest(#"{"services":[\#(services.joined(separator: ","))]}"#)
            let observed = fleet.services.enumerated().map { index, _ in index % 97 == 0 ? ["1.4.2", "1.4.1"] : ["1.4.2", "1.4.2"] }
            let status = FleetStatus(manifest: fleet, observed: observed, generated: t0)
            var history = HistoryIndex()
            let kinds: [WatchEvent.Kind] = [.deployed, .deployed, .deployed, .drift, .recovered, .rolledBack, .unreachable]
            var random = SystemRandomNumberGenerator()
            for sequence in 1...100_000 {
                let n = Int.random(in: 1...1000, using: &random)
                history.add(TimelineEvent(event(kinds[sequence % kinds.count], "svc-\(n)", environments[sequence % 3],
                                                at: -Double.random(in: 0..<(7 * 86400), using: &random), sequence: sequence,
                                                from: "1.4.1", to: "1.4.2")))
            }
            history.sort()
            let week = query(since: -7 * 86400, until: 0)
            let page = StatusPage(status: status, timeline: Timeline(index: history, query: week), query: week, mode: .live(refresh: 10))
            let html = page.render()
            return (html.utf8.count, html.components(separatedBy: "<use href=").count)
        }
        #expect(bytes < 1 << 20, "\(bytes) bytes")
        #expect(marks > Timeline.rowsPerPage * 30, "the page's rows are full of marks: \(marks)")
    }
}

extension StatusQuery {
    fileprivate func withLimit(_ limit: Int) -> StatusQuery {
        var copy = self
        copy.limit = limit
        return copy
    }
}
