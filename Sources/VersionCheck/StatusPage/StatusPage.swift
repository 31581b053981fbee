import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The status page: one self-contained HTML document (its styles, symbols and script inline,
/// nothing loaded from anywhere) that reads fully without JavaScript. A grid of services ×
/// environments with what is live, then a timeline per service drawn as SVG, then the latest
/// events. `versioncheck status --format html` writes it once; `versioncheck serve` serves it
/// and its script keeps it current from `/api/status` and `/api/history`.
package struct StatusPage: Sendable {
    /// How the page is used.
    package enum Mode: Sendable, Equatable {
        /// A file: filters are applied by the script, on the page's own content.
        case file
        /// Served: filters are query parameters the server applies; the script refreshes the
        /// page from the API every `refresh` seconds.
        case live(refresh: Int)
    }

    package var status: FleetStatus
    /// nil when there is no history (`status` without `--state`).
    package var timeline: Timeline?
    package var query: StatusQuery
    package var mode: Mode
    /// Lines under the timeline's heading (where the history comes from, what is not shown).
    package var notes: [String] = []
    /// Applied to every text that comes from history (the fleet status is redacted already).
    package var redactor = Redactor()

    package init(status: FleetStatus, timeline: Timeline?, query: StatusQuery, mode: Mode) {
        self.status = status
        self.timeline = timeline
        self.query = query
        self.mode = mode
    }

    /// The whole document.
    package func render() -> String {
        let grid = status.filtered(service: query.service, environment: query.environment)
        var html = HTMLText(capacity: 256 << 10)
        html.raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        if mode == .file {
            // What the server sends as a header: only this page's own script runs, nothing loads.
            html.raw("<meta http-equiv=\"Content-Security-Policy\"")
            html.attribute("content", StatusServer.contentSecurityPolicy)
            html.raw(">")
        }
        html.raw("<title>Fleet status</title><style>")
        html.raw(Self.style)
        html.raw("</style></head>\n<body")
        switch mode {
        case .file: html.attribute("data-mode", "file")
        case .live(let refresh):
            html.attribute("data-mode", "live")
            html.attribute("data-refresh", String(refresh))
        }
        html.raw(">\n<header><h1>Fleet status</h1><p class=\"meta\" id=\"meta\">")
        summary(grid, into: &html)
        html.raw("</p></header>\n")
        filters(into: &html)
        html.raw("<section id=\"grid\"><h2>What is live where</h2>\n")
        Self.grid(grid, into: &html)
        html.raw("</section>\n<section id=\"timeline\"><h2>Timeline</h2>\n")
        if let timeline {
            timelineSection(timeline, into: &html)
        } else {
            html.raw("<p class=\"empty\">")
            html.text(notes.first ?? "No history: give the watchers' --state to see what changed.")
            html.raw("</p>")
        }
        html.raw("</section>\n")
        if let timeline { events(timeline, into: &html) }
        html.raw("<footer>versioncheck ")
        html.text(DeployVerifyVersion.current)
        html.raw(" · <a href=\"#grid\">grid</a> · <a href=\"#timeline\">timeline</a> · <a href=\"#events\">events</a></footer>\n<script>")
        html.raw(StatusPageScript.source)
        html.raw("</script>\n</body></html>\n")
        return html.text
    }

    // MARK: Header and filters

    private func summary(_ grid: FleetStatus, into html: inout HTMLText) {
        var drift = 0, unreachable = 0, mixed = 0
        for row in grid.rows {
            for cell in row.cells.values {
                if cell.drift { drift += 1 }
                if cell.unreachable > 0 { unreachable += 1 }
                if cell.mixed { mixed += 1 }
            }
        }
        let differing = grid.rows.filter { $0.stagingProduction != nil }.count
        html.raw("<time")
        html.attribute("datetime", Timestamps.iso8601(status.generated))
        html.raw(">")
        html.text(Timestamps.iso8601(status.generated))
        html.raw("</time> · ")
        html.text("\(grid.rows.count) service\(grid.rows.count == 1 ? "" : "s") × \(grid.environments.count) environment\(grid.environments.count == 1 ? "" : "s")")
        html.raw(" · <span class=\"")
        html.raw(drift > 0 ? "b drift\">⚠ " : "ok\">")
        html.text("\(drift) drifting")
        html.raw("</span> · <span class=\"")
        html.raw(unreachable > 0 ? "b down\">✖ " : "ok\">")
        html.text("\(unreachable) unreachable")
        html.raw("</span> · <span class=\"")
        html.raw(mixed > 0 ? "b mixed\">◐ " : "ok\">")
        html.text("\(mixed) mixed")
        html.raw("</span> · ")
        html.text("\(differing) with staging ≠ production")
        if case .live = mode { html.raw(" · <span id=\"live\" class=\"live\">live</span>") }
    }

    private func filters(into html: inout HTMLText) {
        html.raw("<form class=\"filters\" method=\"get\" action=\"\" id=\"filters\"><label>Service <input type=\"search\" name=\"service\"")
        html.attribute("value", query.service ?? "")
        html.raw(" placeholder=\"any\"></label> <label>Environment <select name=\"env\"><option value=\"\">all</option>")
        for environment in status.environments {
            html.raw("<option")
            html.attribute("value", environment)
            if environment == query.environment { html.raw(" selected") }
            html.raw(">")
            html.text(environment)
            html.raw("</option>")
        }
        html.raw("</select></label> <label>Since <input name=\"since\" size=\"20\"")
        html.attribute("value", query.sinceText ?? "7d")
        html.raw(" placeholder=\"7d, 24h, 2026-11-20\"></label> <label>Until <input name=\"until\" size=\"20\"")
        html.attribute("value", query.untilText ?? "")
        html.raw(" placeholder=\"now\"></label> <button type=\"submit\">Apply</button> <a href=\"?\">reset</a></form>\n")
    }

    // MARK: Grid

    /// The table of services × environments.
    static func grid(_ status: FleetStatus, into html: inout HTMLText) {
        html.raw("<table class=\"grid\" id=\"grid-table\"><thead><tr><th scope=\"col\">Service</th>")
        for environment in status.environments {
            html.raw("<th scope=\"col\"")
            html.attribute("data-env", environment)
            html.raw(">")
            html.text(environment)
            html.raw("</th>")
        }
        html.raw("<th scope=\"col\">Notes</th></tr></thead><tbody>\n")
        for row in status.rows {
            html.raw("<tr")
            html.attribute("data-service", row.service)
            html.raw("><th scope=\"row\">")
            html.text(row.service)
            html.raw("</th>")
            for environment in status.environments {
                cell(row.cells[environment], environment: environment, into: &html)
            }
            html.raw("<td class=\"n\">")
            if let note = row.stagingProduction {
                html.raw("<span class=\"b diff\"")
                html.attribute("title", note)
                html.raw(">⇄ staging ≠ production</span>")
            }
            html.raw("</td></tr>\n")
        }
        html.raw("</tbody></table>\n")
        if status.rows.isEmpty { html.raw("<p class=\"empty\">No service matches.</p>\n") }
    }

    /// One cell: the live version(s), the expected version, and drift, unreachable instances and
    /// a mixed fleet marked by a word and an icon as well as a colour.
    static func cell(_ cell: FleetStatus.Cell?, environment: String, into html: inout HTMLText) {
        guard let cell else {
            html.raw("<td class=\"none\"")
            html.attribute("data-env", environment)
            html.raw(">—</td>")
            return
        }
        let state = cell.drift ? "drift" : cell.unreachable > 0 ? "down" : cell.mixed ? "mixed" : "ok"
        html.raw("<td class=\"c \(state)\"")
        html.attribute("data-env", environment)
        html.raw(">")
        if cell.drift { html.raw("<span class=\"b drift\">⚠ drift</span> ") }
        if cell.unreachable > 0 {
            html.raw("<span class=\"b down\">✖ ")
            html.text(cell.versions.isEmpty ? "unreachable" : "\(cell.unreachable) of \(cell.instances) unreachable")
            html.raw("</span> ")
        }
        if cell.mixed { html.raw("<span class=\"b mixed\">◐ mixed</span> ") }
        if cell.versions.count == 1 {
            html.text(cell.versions[0].version)
        } else if cell.mixed {
            html.text(cell.versions.map { "\($0.count)× \($0.version)" }.joined(separator: ", "))
        }
        if let expected = cell.expected {
            html.raw("<small class=\"x\">expected ")
            html.text(expected)
            html.raw("</small>")
        }
        html.raw("</td>")
    }

    // MARK: Timeline

    private func timelineSection(_ timeline: Timeline, into html: inout HTMLText) {
        html.raw("<p class=\"meta\" id=\"timeline-meta\">")
        html.text("\(timeline.total) event\(timeline.total == 1 ? "" : "s") from \(Timestamps.iso8601(timeline.start)) to \(Timestamps.iso8601(timeline.end)), in buckets of \(timeline.bucketText); \(timeline.rowCount) service\(timeline.rowCount == 1 ? "" : "s") with events, most recently active first")
        if timeline.pages > 1 { html.text(" (page \(timeline.page) of \(timeline.pages))") }
        html.raw("</p>\n")
        for note in notes {
            html.raw("<p class=\"note\">")
            html.text(note)
            html.raw("</p>\n")
        }
        html.raw("<ul class=\"legend\">")
        for kind in TimelineKind.allCases {
            html.raw("<li><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><use href=\"#k-\(kind.rawValue)\"/></svg> ")
            html.text(kind.label)
            html.raw("</li>")
        }
        html.raw("<li><b>3</b> beside a mark: events in one bucket (the most severe kind is drawn)</li></ul>\n")
        let anchors = Set(timeline.latest.map(\.id))
        TimelineSVG.render(timeline, query: query, listed: anchors, redactor: redactor, into: &html)
        if timeline.pages > 1 {
            html.raw("<nav class=\"pager\">")
            if timeline.page > 1 {
                html.raw("<a rel=\"prev\"")
                html.attribute("href", query.link(page: timeline.page - 1) + "#timeline")
                html.raw(">← newer activity</a> ")
            }
            html.text("page \(timeline.page) of \(timeline.pages)")
            if timeline.page < timeline.pages {
                html.raw(" <a rel=\"next\"")
                html.attribute("href", query.link(page: timeline.page + 1) + "#timeline")
                html.raw(">older activity →</a>")
            }
            html.raw("</nav>\n")
        }
    }

    /// The latest events, each with an anchor the timeline's marks link to.
    private func events(_ timeline: Timeline, into html: inout HTMLText) {
        html.raw("<section id=\"events\"><h2>Latest events</h2><p class=\"meta\" id=\"events-meta\">")
        html.text(timeline.latest.count < timeline.total ? "the latest \(timeline.latest.count) of \(timeline.total)" : "all \(timeline.total)")
        html.raw("</p>\n<table class=\"events\"><thead><tr><th>Time</th><th>Service</th><th>Environment</th><th>Event</th><th>Change</th><th>Instance</th></tr></thead><tbody>\n")
        for event in timeline.latest {
            Self.eventRow(event, redactor: redactor, into: &html)
        }
        html.raw("</tbody></table></section>\n")
    }

    static func eventRow(_ event: TimelineEvent, redactor: Redactor, into html: inout HTMLText) {
        html.raw("<tr")
        html.attribute("id", anchor(event.id))
        html.attribute("data-service", redactor.redact(event.service))
        html.attribute("data-env", redactor.redact(event.environment))
        html.attribute("data-kind", event.kind.rawValue)
        html.attribute("data-t", String(Int(event.time.timeIntervalSince1970)))
        html.raw("><td><time>")
        html.text(Timestamps.iso8601(event.time))
        html.raw("</time></td><td>")
        html.text(redactor.redact(event.service))
        html.raw("</td><td>")
        html.text(event.environment.isEmpty ? "all" : redactor.redact(event.environment))
        html.raw("</td><td class=\"k-\(event.kind.rawValue)\">")
        html.text(event.kind.icon + " " + event.kind.label)
        html.raw("</td><td>")
        html.text(redactor.redact(event.change))
        html.raw("</td><td class=\"i\">")
        html.text(redactor.redact(event.instance))
        html.raw("</td></tr>\n")
    }

    /// An event id as an HTML id: `e-` and its letters, digits and dashes.
    package static func anchor(_ id: String) -> String {
        "e-" + String(id.unicodeScalars.map { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-") ? Character(scalar) : "-"
        })
    }

    // MARK: Style

    static let style = """
    :root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--ok:#1a7f37;--drift:#bc4c00;--down:#cf222e;--mixed:#8250df;--dep:#1f6feb}
    *{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:16px 20px}
    h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px}.meta{color:var(--muted);margin:2px 0 8px}
    .filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;padding:8px 10px;background:#f6f8fa;border:1px solid var(--line);border-radius:6px}
    .filters input,.filters select{font:inherit;padding:2px 4px}
    table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
    .grid thead th{position:sticky;top:0;background:#f6f8fa}.grid tbody th{font-weight:600;white-space:nowrap}
    td.c{min-width:9em;font-family:ui-monospace,monospace}.b,small.x{font-family:system-ui,sans-serif}small.x{display:block;color:var(--muted)}
    td.ok{background:#f3fbf5}td.drift{background:#fff4e5}td.down{background:#ffebe9}td.mixed{background:#f6f0ff}td.none{color:var(--muted)}
    .b{display:inline-block;font-size:12px;font-weight:600;border-radius:10px;padding:0 6px;border:1px solid}
    .b.drift{color:var(--drift);border-color:var(--drift)}.b.down{color:var(--down);border-color:var(--down)}
    .b.mixed{color:var(--mixed);border-color:var(--mixed)}.b.diff{color:var(--dep);border-color:var(--dep)}span.ok{color:var(--ok)}
    .live{color:var(--ok);font-weight:600}.live.stale{color:var(--down)}
    .legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0;color:var(--muted)}
    svg.tl{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
    svg .lbl{font-size:12px;fill:var(--fg)}svg .tick{font-size:11px;fill:var(--muted)}svg .axis{stroke:var(--line)}svg .lane{stroke:#eef1f4}
    svg .bar{fill:#8c959f}svg .bar:hover{fill:var(--dep)}svg .row a text{font-size:10px;font-weight:600;fill:var(--fg)}
    .k-first-seen{color:#6e7781}.k-deployed{color:var(--dep)}.k-rolled-back{color:var(--mixed)}.k-drift{color:var(--drift)}.k-unreachable{color:var(--down)}
    .k-recovered{color:var(--ok)}.k-codedeploy-succeeded{color:#2da44e}.k-codedeploy-failed{color:#a40e26}.k-codedeploy-stopped{color:#57606a}
    .k-approval-approved{color:#0969da}.k-approval-rolled-back{color:#9a6700}.k-approval-timed-out{color:#953800}.k-approval-pre-approved{color:#6639ba}
    .events td.i{color:var(--muted);font-size:12px;word-break:break-all}.events tr:target{outline:2px solid var(--dep)}
    .pager{margin:6px 0}.empty,.note{color:var(--muted)}footer{margin-top:24px;color:var(--muted);font-size:12px}
    [hidden]{display:none!important}
    """
}

/// The timeline's SVG, drawn by our own code: an axis of round times, the fleet's events per
/// bucket as bars, and a lane per service with a mark per bucket that has events. A mark's
/// shape tells its kind (not only its colour), a number beside it how many events it holds; it
/// links to the event (one) or to the bucket's time range (several).
package enum TimelineSVG {
    /// The colour of each kind (also the page's CSS classes `k-KIND`).
    static func colour(_ kind: TimelineKind) -> String {
        switch kind {
        case .firstSeen: "#6e7781"
        case .deployed: "#1f6feb"
        case .rolledBack: "#8250df"
        case .drift: "#bc4c00"
        case .unreachable: "#cf222e"
        case .recovered: "#1a7f37"
        case .codeDeploySucceeded: "#2da44e"
        case .codeDeployFailed: "#a40e26"
        case .codeDeployStopped: "#57606a"
        case .approvalApproved: "#0969da"
        case .approvalRolledBack: "#9a6700"
        case .approvalTimedOut: "#953800"
        case .approvalPreApproved: "#6639ba"
        }
    }

    /// The symbols, one per kind, drawn in a 12 × 12 box: each kind has its own shape as well
    /// as its own colour.
    static let symbols: String = {
        var text = "<defs>"
        for kind in TimelineKind.allCases {
            let c = colour(kind)
            text += "<symbol id=\"k-\(kind.rawValue)\" viewBox=\"0 0 12 12\" width=\"12\" height=\"12\">"
            switch kind {
            case .firstSeen: text += "<circle cx=\"6\" cy=\"6\" r=\"4\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2\"/>"
            case .deployed: text += "<path d=\"M6 1L11 11H1Z\" fill=\"\(c)\"/>"
            case .rolledBack: text += "<path d=\"M1 1H11L6 11Z\" fill=\"\(c)\"/>"
            case .drift: text += "<path d=\"M6 0L12 6L6 12L0 6Z\" fill=\"\(c)\"/>"
            case .unreachable: text += "<path d=\"M2 2L10 10M10 2L2 10\" stroke=\"\(c)\" stroke-width=\"3\"/>"
            case .recovered: text += "<path d=\"M1 6L5 10L11 2\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"2.5\"/>"
            case .codeDeploySucceeded: text += "<rect x=\"1\" y=\"1\" width=\"10\" height=\"10\" fill=\"\(c)\"/>"
            case .codeDeployFailed:
                text += "<rect x=\"1\" y=\"1\" width=\"10\" height=\"10\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2\"/>"
                    + "<path d=\"M3 3L9 9M9 3L3 9\" stroke=\"\(c)\" stroke-width=\"2\"/>"
            case .codeDeployStopped: text += "<rect x=\"2\" y=\"2\" width=\"8\" height=\"8\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2\"/>"
            case .approvalApproved: text += "<path d=\"M6 0L7.8 4.2L12 4.6L8.8 7.4L9.7 12L6 9.6L2.3 12L3.2 7.4L0 4.6L4.2 4.2Z\" fill=\"\(c)\"/>"
            case .approvalRolledBack:
                text += "<circle cx=\"6\" cy=\"6\" r=\"4.5\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2\"/>"
                    + "<path d=\"M3 9L9 3\" stroke=\"\(c)\" stroke-width=\"2\"/>"
            case .approvalTimedOut:
                text += "<circle cx=\"6\" cy=\"6\" r=\"4.5\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"2\" stroke-dasharray=\"2 1.5\"/>"
            case .approvalPreApproved:
                text += "<path d=\"M6 1L7.5 4.6L11 5L8.4 7.3L9.1 11L6 9.1L2.9 11L3.6 7.3L1 5L4.5 4.6Z\" fill=\"#fff\" stroke=\"\(c)\" stroke-width=\"1.5\"/>"
            }
            text += "</symbol>"
        }
        return text + "</defs>"
    }()

    /// The `<svg>` element.
    /// - Parameter listed: ids of the events the page lists (a single event's mark links to its row).
    package static func render(_ timeline: Timeline, query: StatusQuery, listed: Set<String>, redactor: Redactor,
                               into html: inout HTMLText) {
        let geometry = TimelineGeometry(start: timeline.start, end: timeline.end)
        let height = geometry.height(rows: timeline.rows.count)
        html.raw("<svg class=\"tl\" id=\"timeline-svg\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"tl-title\" viewBox=\"0 0 ")
        html.number(geometry.width)
        html.raw(" ")
        html.number(height)
        html.raw("\" width=\"")
        html.number(geometry.width)
        html.raw("\" height=\"")
        html.number(height)
        html.raw("\"")
        html.attribute("data-start", String(Int(timeline.start.timeIntervalSince1970)))
        html.attribute("data-end", String(Int(timeline.end.timeIntervalSince1970)))
        html.raw("><title id=\"tl-title\">")
        html.text("Timeline: \(timeline.total) events, \(timeline.rowCount) services")
        html.raw("</title>")
        html.raw(symbols)
        // The axis.
        for tick in geometry.ticks() {
            html.raw("<line class=\"axis\" x1=\"")
            html.number(tick.x)
            html.raw("\" x2=\"")
            html.number(tick.x)
            html.raw("\" y1=\"16\" y2=\"")
            html.number(height - 4)
            html.raw("\"/><text class=\"tick\" x=\"")
            html.number(tick.x + 2)
            html.raw("\" y=\"12\">")
            html.text(tick.label)
            html.raw("</text>")
        }
        // The fleet: events per bucket.
        let maximum = timeline.fleet.map(\.count).max() ?? 0
        let bucketWidth = geometry.plotWidth * Double(timeline.bucketSeconds) / max(1, geometry.end - geometry.start)
        html.raw("<g class=\"fleet\"><text class=\"lbl\" x=\"4\" y=\"")
        html.number(geometry.fleetTop + 20)
        html.raw("\">all services</text>")
        for mark in timeline.fleet {
            let startTime = timeline.origin + Double(mark.bucket * timeline.bucketSeconds)
            let x = geometry.x(startTime), right = geometry.x(startTime + Double(timeline.bucketSeconds))
            let barHeight = geometry.barHeight(mark.count, max: maximum)
            html.raw("<a")
            html.attribute("href", query.link(since: .some(String(Int(startTime))), until: .some(String(Int(startTime) + timeline.bucketSeconds)),
                                              page: 1) + "#timeline")
            html.raw("><rect class=\"bar\" x=\"")
            html.number(x + 0.5)
            html.raw("\" y=\"")
            html.number(geometry.fleetTop + geometry.fleetHeight - 4 - barHeight)
            html.raw("\" width=\"")
            html.number(max(1, min(bucketWidth, right - x) - 1))
            html.raw("\" height=\"")
            html.number(barHeight)
            html.raw("\"")
            html.attribute("data-count", String(mark.count))
            html.raw("><title>")
            html.text("\(Timestamps.iso8601(Date(timeIntervalSince1970: startTime))): \(mark.count) event\(mark.count == 1 ? "" : "s"): "
                + mark.kinds.map { "\($0.count) \($0.kind.label)" }.joined(separator: ", "))
            html.raw("</title></rect></a>")
        }
        html.raw("</g>")
        // A lane per service.
        for (index, row) in timeline.rows.enumerated() {
            let y = geometry.rowY(index)
            let service = redactor.redact(row.service)
            html.raw("<g class=\"row\"")
            html.attribute("data-service", service)
            html.raw("><line class=\"lane\" x1=\"")
            html.number(geometry.plotLeft)
            html.raw("\" x2=\"")
            html.number(geometry.plotLeft + geometry.plotWidth)
            html.raw("\" y1=\"")
            html.number(y)
            html.raw("\" y2=\"")
            html.number(y)
            html.raw("\"/><text class=\"lbl\" x=\"4\" y=\"")
            html.number(y + 4)
            html.raw("\"><title>")
            html.text(service)
            html.raw("</title>")
            html.text(service.count > 26 ? String(service.prefix(25)) + "…" : service)
            html.raw("</text>")
            for mark in row.marks {
                let x = geometry.x(mark.count == 1 ? mark.first
                                   : timeline.origin + (Double(mark.bucket) + 0.5) * Double(timeline.bucketSeconds))
                html.raw("<a")
                html.attribute("href", markLink(mark, service: service, timeline: timeline, query: query, listed: listed))
                html.raw("><use href=\"#k-\(mark.kind.rawValue)\" x=\"")
                html.number(x - 6)
                html.raw("\" y=\"")
                html.number(y - 6)
                html.raw("\"")
                html.attribute("data-t", String(Int(mark.first)))
                html.attribute("data-env", redactor.redact(mark.environments.joined(separator: ",")))
                html.raw("/>")
                if mark.count > 1 {
                    html.raw("<text x=\"")
                    html.number(x + 7)
                    html.raw("\" y=\"")
                    html.number(y - 2)
                    html.raw("\">")
                    html.text(mark.count > 999 ? "999+" : String(mark.count))
                    html.raw("</text>")
                }
                html.raw("<title>")
                html.text(redactor.redact(title(mark)))
                html.raw("</title>")
                html.raw("</a>")
            }
            html.raw("</g>")
        }
        html.raw("</svg>\n")
    }

    /// A single event's row in the list (or the query that lists it); a bucket's time range.
    /// Times in links are epoch seconds: a page holds a couple of thousand links.
    static func markLink(_ mark: Timeline.Mark, service: String, timeline: Timeline, query: StatusQuery, listed: Set<String>) -> String {
        if let event = mark.event {
            if listed.contains(event.id) { return "#" + StatusPage.anchor(event.id) }
            let second = Int(mark.first.rounded(.down))
            return query.link(service: .some(service), since: .some(String(second)), until: .some(String(second + 1)), page: 1)
                + "#" + StatusPage.anchor(event.id)
        }
        let start = Int(timeline.origin) + mark.bucket * timeline.bucketSeconds
        return query.link(service: .some(service), since: .some(String(start)), until: .some(String(start + timeline.bucketSeconds)), page: 1)
            + "#events"
    }

    /// `11-20 10:00 · deployed 1.4.1 → 1.4.2 · production`, or a bucket's span and counts.
    static func title(_ mark: Timeline.Mark) -> String {
        func short(_ time: Double) -> String {
            let text = Timestamps.iso8601(Date(timeIntervalSince1970: time))
            return String(text.dropFirst(5).prefix(5)) + " " + String(text.dropFirst(11).prefix(5))
        }
        if let event = mark.event {
            return "\(short(mark.first)) · \(event.kind.label) \(event.change) · \(event.environment.isEmpty ? "all environments" : event.environment)"
        }
        return "\(short(mark.first))–\(short(mark.last).suffix(5)) · " + mark.kinds.map { "\($0.count) \($0.kind.label)" }.joined(separator: ", ")
            + " · " + mark.environments.map { $0.isEmpty ? "all environments" : $0 }.joined(separator: ", ")
    }
}
