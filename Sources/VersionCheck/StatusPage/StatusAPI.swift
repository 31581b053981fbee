import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The JSON of `GET /api/history` (documented in the README): the latest events in full, and the
/// timeline bucketed and placed as the page draws it (x and y in its 960-wide SVG), so that a
/// client draws it without knowing the geometry.
package enum StatusAPI {
    package static func history(_ timeline: Timeline, query: StatusQuery, redactor: Redactor) -> String {
        let geometry = TimelineGeometry(start: timeline.start, end: timeline.end)
        let listed = Set(timeline.latest.map(\.id))
        var json = JSONText()
        json.object { json in
            json.member("since", Timestamps.iso8601(timeline.start, milliseconds: true))
            json.member("until", Timestamps.iso8601(timeline.end, milliseconds: true))
            json.member("service", query.service)
            json.member("environment", query.environment)
            json.key("total")
            json.number(timeline.total)
            json.key("events")
            json.array { json in
                for event in timeline.latest { write(event, redactor: redactor, into: &json) }
            }
            json.key("timeline")
            json.object { json in
                json.key("bucketSeconds")
                json.number(timeline.bucketSeconds)
                json.member("origin", Timestamps.iso8601(Date(timeIntervalSince1970: timeline.origin)))
                json.key("buckets")
                json.number(timeline.bucketCount)
                json.key("page")
                json.number(timeline.page)
                json.key("pages")
                json.number(timeline.pages)
                json.key("rowCount")
                json.number(timeline.rowCount)
                json.key("width")
                json.number(geometry.width)
                json.key("height")
                json.number(Double(HTMLText.format(geometry.height(rows: timeline.rows.count))) ?? 0)
                json.key("ticks")
                json.array { json in
                    for tick in geometry.ticks() {
                        json.object { json in
                            json.key("x")
                            json.number(Double(HTMLText.format(tick.x)) ?? 0)
                            json.member("label", tick.label)
                        }
                    }
                }
                let maximum = timeline.fleet.map(\.count).max() ?? 0
                json.key("fleet")
                json.array { json in
                    for mark in timeline.fleet {
                        let start = timeline.origin + Double(mark.bucket * timeline.bucketSeconds)
                        let x = geometry.x(start), right = geometry.x(start + Double(timeline.bucketSeconds))
                        let height = geometry.barHeight(mark.count, max: maximum)
                        json.object { json in
                            json.key("bucket")
                            json.number(mark.bucket)
                            json.member("start", Timestamps.iso8601(Date(timeIntervalSince1970: start)))
                            json.key("count")
                            json.number(mark.count)
                            kinds(mark, into: &json)
                            json.key("x")
                            json.number(Double(HTMLText.format(x + 0.5)) ?? 0)
                            json.key("width")
                            json.number(Double(HTMLText.format(max(1, right - x - 1))) ?? 1)
                            json.key("y")
                            json.number(Double(HTMLText.format(geometry.fleetTop + geometry.fleetHeight - 4 - height)) ?? 0)
                            json.key("height")
                            json.number(Double(HTMLText.format(height)) ?? 0)
                            json.member("href", query.link(since: .some(String(Int(start))), until: .some(String(Int(start) + timeline.bucketSeconds)),
                                                           page: 1) + "#timeline")
                        }
                    }
                }
                json.key("rows")
                json.array { json in
                    for (index, row) in timeline.rows.enumerated() {
                        let service = redactor.redact(row.service)
                        json.object { json in
                            json.member("service", service)
                            json.key("count")
                            json.number(row.count)
                            json.key("y")
                            json.number(geometry.rowY(index))
                            json.key("marks")
                            json.array { json in
                                for mark in row.marks {
                                    let x = geometry.x(mark.count == 1 ? mark.first
                                                       : timeline.origin + (Double(mark.bucket) + 0.5) * Double(timeline.bucketSeconds))
                                    json.object { json in
                                        json.key("bucket")
                                        json.number(mark.bucket)
                                        json.key("x")
                                        json.number(Double(HTMLText.format(x)) ?? 0)
                                        json.key("count")
                                        json.number(mark.count)
                                        json.member("kind", mark.kind.rawValue)
                                        kinds(mark, into: &json)
                                        json.member("first", Timestamps.iso8601(Date(timeIntervalSince1970: mark.first), milliseconds: true))
                                        json.member("last", Timestamps.iso8601(Date(timeIntervalSince1970: mark.last), milliseconds: true))
                                        json.key("environments")
                                        json.array { json in for environment in mark.environments { json.string(redactor.redact(environment)) } }
                                        json.member("event", mark.event.map { redactor.redact($0.id) })
                                        json.member("anchor", mark.event.map { StatusPage.anchor($0.id) })
                                        json.member("title", redactor.redact(TimelineSVG.title(mark)))
                                        json.member("href", TimelineSVG.markLink(mark, service: service, timeline: timeline, query: query,
                                                                                 listed: listed))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return json.text
    }

    private static func kinds(_ mark: Timeline.Mark, into json: inout JSONText) {
        json.key("kinds")
        json.object { json in
            for (kind, count) in mark.kinds {
                json.key(kind.rawValue)
                json.number(count)
            }
        }
    }

    /// `{"id", "anchor", "kind", "label", "time", "service", "environment", "instance", "change", "stored"}`.
    static func write(_ event: TimelineEvent, redactor: Redactor, into json: inout JSONText) {
        json.object { json in
            json.member("id", redactor.redact(event.id))
            json.member("anchor", StatusPage.anchor(event.id))
            json.member("kind", event.kind.rawValue)
            json.member("label", event.kind.icon + " " + event.kind.label)
            json.member("time", Timestamps.iso8601(event.time, milliseconds: true))
            json.member("service", redactor.redact(event.service))
            json.member("environment", redactor.redact(event.environment))
            json.member("instance", redactor.redact(event.instance))
            json.member("change", redactor.redact(event.change))
            json.key("stored")
            // The stored form is JSON already; a secret inside is masked in its string values.
            let stored = redactor.redact(event.json)
            json.raw((try? JSONParser().parse(stored)) != nil ? stored : "null")
        }
    }
}
