import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What an alert is about: an event kind of the watcher, `check`, the result of a one-shot
/// `versioncheck --notify`, or `deployment`, a CodeDeploy deployment that ended.
package enum AlertKind: String, Sendable, CaseIterable {
    case firstSeen = "first-seen"
    case deployed
    case rolledBack = "rolled-back"
    case drift
    case unreachable
    case recovered
    /// A one-shot check's result (`result`: pass, mismatch or unreadable).
    case check
    /// A CodeDeploy deployment of a registered application ended (``Alert/deployment``).
    case deployment

    package init(_ kind: WatchEvent.Kind) {
        self = AlertKind(rawValue: kind.rawValue)!
    }
}

/// One change of one service, as the alert channels get it: the events of a cycle that share a
/// kind and a from → to, with the instances they happened on.
package struct Alert: Sendable {
    /// The first event's id (`evt-12`), or `reminder-…` for a drift reminder: with the channel,
    /// the idempotency key of a delivery.
    package var id: String
    package var kind: AlertKind
    package var reminder = false
    /// For `check`: pass, mismatch or unreadable.
    package var result: String?
    package var service: String
    package var environment: String
    package var from: String?
    package var to: String?
    package var revision: String?
    package var expected: String?
    package var problem: String?
    package var detail: String?
    package var instances: [String]
    package var instanceCount: Int
    /// The versions the service's instances report after the cycle, most first.
    package var fleet: [(version: String, count: Int)]
    package var time: Date
    /// For `deployment`: the deployment (its application and group are `service` and `environment`).
    package var deployment: CodeDeployDeployment?

    /// `checkout (production)`, or the service alone when no environment is known; for a
    /// deployment, `application/group`.
    package var subject: String {
        if kind == .deployment { return "\(service)/\(environment)" }
        return environment.isEmpty ? service : "\(service) (\(environment))"
    }

    /// `checkout (production): deployed 1.4.1 → 1.4.2 on 2 of 2 instances`.
    package var summary: String { "\(subject): \(headline)" }

    /// The summary without its subject: `deployed 1.4.1 → 1.4.2 on 2 of 2 instances`.
    package var headline: String {
        let on = "on \(instances.count) of \(instanceCount) instance\(instanceCount == 1 ? "" : "s")"
        var text: String
        switch kind {
        case .firstSeen: text = "first seen at \(to ?? "?") \(on)"
        case .deployed: text = "deployed \(from ?? "?") → \(to ?? "?") \(on)"
        case .rolledBack: text = "rolled back \(from ?? "?") → \(to ?? "?") \(on)"
        case .drift:
            text = "drift: \(to ?? "?") \(on), expected \(expected ?? "?")"
            if reminder { text += " (still drifting)" }
        case .unreachable: text = "unreachable \(on)" + (detail.map { " (\($0))" } ?? "")
        case .recovered:
            text = problem == "drift" ? "drift resolved, now \(to ?? "?") \(on)"
                : "reachable again \(on)" + (to.map { ", at \($0)" } ?? "")
        case .check:
            // The check's own summary (`2/2 on 1.4.2`) is in `detail`.
            return "version check \(result == "pass" ? "passed" : "failed")" + (detail.map { ": \($0)" } ?? "")
        case .deployment:
            return deployment?.headline ?? "deployment"
        }
        if fleet.count > 1 {
            text += "; mixed fleet: " + fleet.map { "\($0.count)× \($0.version)" }.joined(separator: ", ")
        }
        return text
    }

    /// A problem PagerDuty should open (trigger) or close (resolve).
    package var pagerDutyAction: String? {
        switch kind {
        case .drift, .unreachable: "trigger"
        case .recovered: "resolve"
        case .check: result == "pass" ? "resolve" : "trigger"
        case .deployment:
            switch deployment?.outcome {
            case .failed?, .stopped?: "trigger"
            case .succeeded?: "resolve"
            case nil: nil
            }
        default: nil
        }
    }

    /// Stable per service, environment and problem: a repeat trigger updates the incident, a
    /// resolve closes it.
    package var dedupKey: String {
        if kind == .deployment { return "versioncheck/codedeploy/\(service)/\(environment)" }
        let problem = kind == .recovered ? (self.problem ?? "drift") : kind.rawValue
        return "versioncheck/\(environment)/\(service)/\(problem)"
    }

    /// Groups a cycle's events of one service into alerts.
    package static func group(_ events: [WatchEvent], state: WatchState.Service) -> [Alert] {
        var alerts: [Alert] = []
        var fleetCounts: [String: Int] = [:]
        for instance in state.instances.values { if let version = instance.version { fleetCounts[version, default: 0] += 1 } }
        let fleet = fleetCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
        for event in events {
            if let index = alerts.firstIndex(where: { $0.kind == AlertKind(event.kind) && $0.from == event.from && $0.to == event.to && $0.problem == event.problem }) {
                alerts[index].instances.append(event.instance)
                if alerts[index].revision == nil { alerts[index].revision = event.revision }
                continue
            }
            alerts.append(Alert(id: event.id, kind: AlertKind(event.kind), service: event.service, environment: event.environment,
                                from: event.from, to: event.to, revision: event.revision, expected: event.expected,
                                problem: event.problem, detail: event.detail, instances: [event.instance],
                                instanceCount: state.instances.count, fleet: fleet, time: event.time))
        }
        return alerts
    }

    // MARK: The generic webhook payload (documented in the README)

    package var json: String {
        if kind == .deployment { return deploymentJSON }
        var json = JSONText()
        json.object { json in
            json.member("id", id)
            json.member("type", kind.rawValue)
            json.key("reminder")
            json.bool(reminder)
            if let result { json.member("result", result) }
            json.member("summary", summary)
            json.member("service", service)
            json.member("environment", environment)
            json.member("from", from)
            json.member("to", to)
            json.member("revision", revision)
            json.member("expected", expected)
            json.member("problem", problem)
            json.member("detail", detail)
            json.member("time", Timestamps.iso8601(time, milliseconds: true))
            json.key("instances")
            json.array { json in for instance in instances { json.string(instance) } }
            json.key("instanceCount")
            json.number(instanceCount)
            json.key("fleet")
            json.object { json in
                json.key("mixed")
                json.bool(fleet.count > 1)
                json.key("versions")
                json.versionCounts(fleet)
            }
            json.member("source", "versioncheck")
        }
        return json.text
    }

    package init(id: String, kind: AlertKind, reminder: Bool = false, result: String? = nil, service: String, environment: String,
                 from: String? = nil, to: String? = nil, revision: String? = nil, expected: String? = nil,
                 problem: String? = nil, detail: String? = nil, instances: [String], instanceCount: Int,
                 fleet: [(version: String, count: Int)], time: Date, deployment: CodeDeployDeployment? = nil) {
        self.id = id
        self.kind = kind
        self.reminder = reminder
        self.result = result
        self.service = service
        self.environment = environment
        self.from = from
        self.to = to
        self.revision = revision
        self.expected = expected
        self.problem = problem
        self.detail = detail
        self.instances = instances
        self.instanceCount = instanceCount
        self.fleet = fleet
        self.time = time
        self.deployment = deployment
    }

    /// Reads the payload back (the outbox keeps alerts in this form).
    package init?(json value: JSONValue) {
        guard case .object(let object) = value, let id = object["id"]?.stringValue,
              let kind = object["type"]?.stringValue.flatMap(AlertKind.init(rawValue:)),
              let service = object["service"]?.stringValue, let environment = object["environment"]?.stringValue,
              let time = object["time"]?.stringValue.flatMap(Timestamps.parse) else { return nil }
        let fleet = object["fleet"]?["versions"]?.arrayValue?.compactMap { item -> (version: String, count: Int)? in
            guard let version = item["version"]?.stringValue, let count = item["count"]?.scalarText.flatMap({ Int($0) }) else { return nil }
            return (version, count)
        } ?? []
        self.init(id: id, kind: kind, reminder: object["reminder"]?.boolValue ?? false, result: object["result"]?.stringValue, service: service, environment: environment,
                  from: object["from"]?.stringValue, to: object["to"]?.stringValue, revision: object["revision"]?.stringValue,
                  expected: object["expected"]?.stringValue, problem: object["problem"]?.stringValue,
                  detail: object["detail"]?.stringValue,
                  instances: object["instances"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  instanceCount: object["instanceCount"]?.scalarText.flatMap { Int($0) } ?? 0, fleet: fleet, time: time,
                  deployment: object["deployment"].flatMap { CodeDeployDeployment(alertJSON: $0) })
    }
}

/// What a delivery sends: an HTTP request or a command to run.
package enum RenderedAlert: Sendable {
    case http(url: String, headers: [(name: String, value: String)], body: String)
    case command(arguments: [String], environment: [String: String], input: String)
}

/// Channel formats. Pure: the same alert always renders the same way.
package enum AlertRenderer {
    /// Whether this channel takes this alert, given the manifest's settings.
    package static func wants(_ channel: Channel, _ alert: Alert, settings: WatchSettings) -> Bool {
        // A registration names its channels and outcomes; a channel's `events` are watch events.
        if alert.kind == .deployment { return channel.kind != .pagerduty || alert.pagerDutyAction != nil }
        if channel.kind == .pagerduty { return alert.pagerDutyAction != nil && (channel.events.map { $0.contains(alert.kind.rawValue) } ?? true) }
        if let events = channel.events { return events.contains(alert.kind.rawValue) }
        switch alert.kind {
        case .firstSeen: return settings.alertFirstSeen
        case .recovered: return settings.alertRecovered
        default: return true
        }
    }

    package static func render(_ alert: Alert, for channel: Channel, userAgent: String) -> RenderedAlert {
        let idempotencyKey = "\(alert.id):\(channel.name)"
        let headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Idempotency-Key", idempotencyKey)]
            + channel.headers
        switch channel.kind {
        case .webhook:
            return .http(url: channel.url!, headers: headers, body: alert.json)
        case .slack:
            return .http(url: channel.url!, headers: headers, body: slack(alert))
        case .teams:
            return .http(url: channel.url!, headers: headers, body: teams(alert))
        case .discord:
            return .http(url: channel.url!, headers: headers, body: discord(alert))
        case .pagerduty:
            return .http(url: channel.url ?? "https://events.pagerduty.com/v2/enqueue", headers: headers,
                         body: pagerDuty(alert, routingKey: channel.routingKey ?? ""))
        case .command:
            var environment = ProcessInfo.processInfo.environment
            let variables: [(String, String?)] = [
                ("VERSIONCHECK_EVENT", alert.kind.rawValue), ("VERSIONCHECK_EVENT_ID", alert.id),
                ("VERSIONCHECK_SERVICE", alert.service), ("VERSIONCHECK_ENVIRONMENT", alert.environment),
                ("VERSIONCHECK_FROM", alert.from), ("VERSIONCHECK_TO", alert.to), ("VERSIONCHECK_REVISION", alert.revision),
                ("VERSIONCHECK_EXPECTED", alert.expected), ("VERSIONCHECK_SUMMARY", alert.summary),
                ("VERSIONCHECK_INSTANCES", alert.instances.joined(separator: " ")),
                ("VERSIONCHECK_TIME", Timestamps.iso8601(alert.time)), ("VERSIONCHECK_REMINDER", alert.reminder ? "true" : "false"),
                ("VERSIONCHECK_RESULT", alert.result),
            ] + alert.deploymentVariables
            for (name, value) in variables { environment[name] = value ?? "" }
            return .command(arguments: channel.command, environment: environment, input: alert.json)
        }
    }

    private static func emoji(_ alert: Alert) -> String {
        switch alert.kind {
        case .firstSeen: "👀"
        case .deployed: "🚀"
        case .rolledBack: "⏪"
        case .drift: "⚠️"
        case .unreachable: "🔴"
        case .recovered: "✅"
        case .check: alert.result == "pass" ? "✅" : "❌"
        case .deployment: alert.deployment.map(deploymentEmoji) ?? "🚧"
        }
    }

    private static func facts(_ alert: Alert) -> [(String, String)] {
        var facts: [(String, String)] = [("Service", alert.service), ("Environment", alert.environment)]
        if let result = alert.result { facts.append(("Result", result)) }
        if let from = alert.from { facts.append(("From", from)) }
        if let to = alert.to { facts.append(("Version", to)) }
        if let expected = alert.expected { facts.append(("Expected", expected)) }
        if let revision = alert.revision { facts.append(("Revision", String(revision.prefix(12)))) }
        facts.append(("Instances", alert.instances.joined(separator: ", ")))
        if alert.fleet.count > 1 { facts.append(("Fleet", alert.fleet.map { "\($0.count)× \($0.version)" }.joined(separator: ", "))) }
        if let detail = alert.detail { facts.append(("Detail", detail)) }
        facts.append(("When", Timestamps.iso8601(alert.time)))
        return facts
    }

    /// Slack incoming webhook: `text` for notifications, a mrkdwn section and a context line.
    static func slack(_ alert: Alert) -> String {
        if alert.kind == .deployment, let deployment = alert.deployment { return deploymentSlack(alert, deployment) }
        let escape = { (text: String) in
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var json = JSONText()
        json.object { json in
            json.member("text", "\(emoji(alert)) \(alert.summary)")
            json.key("blocks")
            json.array { json in
                json.object { json in
                    json.member("type", "section")
                    json.key("text")
                    json.object { json in
                        json.member("type", "mrkdwn")
                        let environment = alert.environment.isEmpty ? "" : " (\(escape(alert.environment)))"
                        json.member("text", "\(emoji(alert)) *\(escape(alert.service))*\(environment): \(escape(alert.headline))")
                    }
                }
                json.object { json in
                    json.member("type", "context")
                    json.key("elements")
                    json.array { json in
                        json.object { json in
                            json.member("type", "mrkdwn")
                            json.member("text", escape(facts(alert).filter { $0.0 != "Service" && $0.0 != "Environment" }
                                .map { "\($0.0): \($0.1)" }.joined(separator: " · ")))
                        }
                    }
                }
            }
        }
        return json.text
    }

    /// Teams through a Workflows webhook: a message with an Adaptive Card (title and facts).
    static func teams(_ alert: Alert) -> String {
        if alert.kind == .deployment, let deployment = alert.deployment { return deploymentTeams(alert, deployment) }
        return TeamsCard.message(title: "\(emoji(alert)) \(alert.summary)", facts: facts(alert))
    }

    /// Discord webhook: an embed coloured by kind, with the facts as fields (`DiscordEmbed`).
    static func discord(_ alert: Alert) -> String {
        if alert.kind == .deployment, let deployment = alert.deployment { return deploymentDiscord(alert, deployment) }
        let color = switch alert.kind {
        case .deployed, .firstSeen: 0x2ECC71
        case .rolledBack, .drift: 0xF1C40F
        case .unreachable: 0xE74C3C
        case .recovered: 0x3498DB
        case .check: alert.result == "pass" ? 0x2ECC71 : 0xE74C3C
        case .deployment: 0x95A5A6
        }
        return DiscordEmbed.message(content: "\(emoji(alert)) \(alert.summary)", title: "\(alert.subject): \(alert.kind.rawValue)",
                                    description: alert.summary, color: color, time: alert.time,
                                    facts: facts(alert).filter { $0.0 != "When" })
    }

    /// PagerDuty Events API v2: trigger on drift and unreachable, resolve on recovered, one
    /// incident per service, environment and problem (the dedup key).
    static func pagerDuty(_ alert: Alert, routingKey: String) -> String {
        if alert.kind == .deployment, let deployment = alert.deployment { return deploymentPagerDuty(alert, deployment, routingKey: routingKey) }
        var json = JSONText()
        json.object { json in
            json.member("routing_key", routingKey)
            json.member("event_action", alert.pagerDutyAction ?? "trigger")
            json.member("dedup_key", alert.dedupKey)
            if alert.pagerDutyAction == "trigger" {
                json.key("payload")
                json.object { json in
                    json.member("summary", String(alert.summary.prefix(1024)))
                    json.member("source", "versioncheck")
                    json.member("severity", alert.kind == .drift ? "warning" : "error")
                    json.member("timestamp", Timestamps.iso8601(alert.time, milliseconds: true))
                    json.member("component", alert.service)
                    json.member("group", alert.environment)
                    json.member("class", alert.kind.rawValue)
                    json.key("custom_details")
                    json.object { json in
                        for (name, value) in facts(alert) { json.member(name.lowercased(), value) }
                    }
                }
            }
        }
        return json.text
    }
}
