import DeployVerifyKit
import Foundation
import InfoEndpoint

/// How a CodeDeploy deployment is told: its summary line, its facts, its JSON in the webhook
/// payload (and in the outbox, read back the same), and each channel's rendering of it.
extension CodeDeployDeployment {
    /// succeeded, failed or stopped; nil while it runs.
    package var outcome: DeploymentOutcome? { DeploymentOutcome(status: status) }

    /// `started by a user`, `a rollback of d-AB1 by CodeDeploy`, `started by Auto Scaling`.
    package var creatorText: String? {
        guard let creator else { return nil }
        switch creator {
        case "user": return "started by a user"
        case "autoscaling": return "started by Auto Scaling"
        case "autoscalingTermination": return "started by an Auto Scaling termination"
        case "codeDeployRollback": return "a rollback" + (rollbackTriggeringDeploymentID.map { " of \($0)" } ?? "") + " by CodeDeploy"
        case "CodeDeploy": return "started by CodeDeploy"
        case "CodeDeployAutoUpdate": return "started by CodeDeploy to update outdated instances"
        case "CloudFormation": return "started by CloudFormation"
        case "CloudFormationRollback": return "a CloudFormation rollback"
        default: return "started by \(creator)"
        }
    }

    /// `4m12s`, `45s`, `1h2m5s`.
    package static func durationText(_ duration: Duration) -> String {
        let total = Int(duration.seconds.rounded())
        let hours = total / 3600, minutes = total % 3600 / 60, seconds = total % 60
        var text = ""
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 { text += "\(minutes)m" }
        if seconds > 0 || text.isEmpty { text += "\(seconds)s" }
        return text
    }

    /// `deployment d-AB1 failed after 4m12s (started by a user; rolled back by d-CD2): HEALTH_CONSTRAINTS: …`.
    package var headline: String { headline(withError: true) }

    /// The headline, with or without the error code and message.
    package func headline(withError: Bool) -> String {
        let verb = switch outcome {
        case .succeeded?: "succeeded"
        case .failed?: "failed"
        case .stopped?: "was stopped"
        case nil: "is \(status)"
        }
        var text = "deployment \(id) \(verb)"
        if let duration { text += " after \(Self.durationText(duration))" }
        let notes = [creatorText, rollbackDeploymentID.map { "rolled back by \($0)" }].compactMap { $0 }
        if !notes.isEmpty { text += " (\(notes.joined(separator: "; ")))" }
        if withError, outcome != .succeeded, let error = errorText(limit: 300) { text += ": \(error)" }
        return text
    }

    /// `HEALTH_CONSTRAINTS: The overall deployment failed …`, the message cut at `limit` characters.
    package func errorText(limit: Int = 2000) -> String? {
        guard errorCode != nil || errorMessage != nil else { return nil }
        let message = clip(errorMessage ?? "", limit)
        return [errorCode, message.isEmpty ? nil : message].compactMap { $0 }.joined(separator: ": ")
    }

    /// Title and value pairs, in the order the channels show them.
    package var facts: [(String, String)] {
        var facts: [(String, String)] = [("Application", application), ("Deployment group", group), ("Deployment", id), ("Status", status)]
        if let creator { facts.append(("Started by", creator)) }
        if let revision { facts.append(("Revision", revision.text)) }
        if let error = errorText() { facts.append(("Error", error)) }
        if let rollbackDeploymentID { facts.append(("Rolled back by", rollbackDeploymentID)) }
        if let rollbackTriggeringDeploymentID { facts.append(("Rolls back", rollbackTriggeringDeploymentID)) }
        if let note { facts.append(("Description", note)) }
        if let createTime { facts.append(("Created", Timestamps.iso8601(createTime))) }
        if let startTime { facts.append(("Started", Timestamps.iso8601(startTime))) }
        if let completeTime { facts.append(("Completed", Timestamps.iso8601(completeTime))) }
        if let duration { facts.append(("Duration", Self.durationText(duration))) }
        return facts
    }

    /// The `deployment` object of the webhook payload (documented in the README).
    package func write(to json: inout JSONText) {
        json.object { json in
            json.member("id", id)
            json.member("application", application)
            json.member("deploymentGroup", group)
            json.member("status", status)
            json.member("outcome", outcome?.rawValue)
            json.member("creator", creator)
            json.key("revision")
            if let revision {
                json.object { json in
                    json.member("type", revision.type)
                    json.member("location", revision.location)
                    switch revision {
                    case .s3(let bucket, let key, let version, let eTag, let bundleType):
                        json.member("bucket", bucket)
                        json.member("key", key)
                        json.member("version", version)
                        json.member("eTag", eTag)
                        json.member("bundleType", bundleType)
                    case .gitHub(let repository, let commitID):
                        json.member("repository", repository)
                        json.member("commitId", commitID)
                    case .appSpec(let sha256):
                        json.member("sha256", sha256)
                    }
                }
            } else {
                json.null()
            }
            json.key("error")
            if errorCode != nil || errorMessage != nil {
                json.object { json in
                    json.member("code", errorCode)
                    json.member("message", errorMessage)
                }
            } else {
                json.null()
            }
            for (name, time) in [("createTime", createTime), ("startTime", startTime), ("completeTime", completeTime)] {
                json.member(name, time.map { Timestamps.iso8601($0, milliseconds: true) })
            }
            json.key("durationSeconds")
            if let duration { json.number(Double(Int64((duration.seconds * 1000).rounded())) / 1000) } else { json.null() }
            json.key("rollback")
            if rollbackDeploymentID != nil || rollbackTriggeringDeploymentID != nil || rollbackMessage != nil {
                json.object { json in
                    json.member("rollbackDeploymentId", rollbackDeploymentID)
                    json.member("rollbackTriggeringDeploymentId", rollbackTriggeringDeploymentID)
                    json.member("message", rollbackMessage)
                }
            } else {
                json.null()
            }
            json.member("description", note)
            json.member("deploymentConfig", deploymentConfig)
            json.member("computePlatform", computePlatform)
        }
    }

    /// Reads the `deployment` object back (the outbox keeps alerts as their payload).
    package init?(alertJSON value: JSONValue) {
        guard let id = value["id"]?.stringValue, let application = value["application"]?.stringValue,
              let group = value["deploymentGroup"]?.stringValue, let status = value["status"]?.stringValue else { return nil }
        self.init(id: id, application: application, group: group, status: status)
        creator = value["creator"]?.stringValue
        if let revision = value["revision"], revision.objectValue != nil {
            switch revision["type"]?.stringValue {
            case "S3":
                self.revision = .s3(bucket: revision["bucket"]?.stringValue ?? "", key: revision["key"]?.stringValue ?? "",
                                    version: revision["version"]?.stringValue, eTag: revision["eTag"]?.stringValue,
                                    bundleType: revision["bundleType"]?.stringValue)
            case "GitHub":
                self.revision = .gitHub(repository: revision["repository"]?.stringValue ?? "", commitID: revision["commitId"]?.stringValue ?? "")
            default:
                self.revision = .appSpec(sha256: revision["sha256"]?.stringValue)
            }
        }
        errorCode = value["error"]?["code"]?.stringValue
        errorMessage = value["error"]?["message"]?.stringValue
        createTime = value["createTime"]?.stringValue.flatMap(Self.time)
        startTime = value["startTime"]?.stringValue.flatMap(Self.time)
        completeTime = value["completeTime"]?.stringValue.flatMap(Self.time)
        rollbackDeploymentID = value["rollback"]?["rollbackDeploymentId"]?.stringValue
        rollbackTriggeringDeploymentID = value["rollback"]?["rollbackTriggeringDeploymentId"]?.stringValue
        rollbackMessage = value["rollback"]?["message"]?.stringValue
        note = value["description"]?.stringValue
        deploymentConfig = value["deploymentConfig"]?.stringValue
        computePlatform = value["computePlatform"]?.stringValue
    }
}

extension Alert {
    /// The alert announcing a deployment's end: id `codedeploy-<deployment id>` (with the channel,
    /// the delivery's idempotency key), service and environment the application and group.
    package static func deployment(_ deployment: CodeDeployDeployment, now: Date) -> Alert {
        Alert(id: "codedeploy-\(deployment.id)", kind: .deployment, service: deployment.application, environment: deployment.group,
              revision: deployment.revision?.text, instances: [], instanceCount: 0, fleet: [],
              time: deployment.completeTime ?? now, deployment: deployment)
    }

    /// The webhook payload of a deployment alert.
    var deploymentJSON: String {
        var json = JSONText()
        json.object { json in
            json.member("id", id)
            json.member("type", kind.rawValue)
            json.member("summary", summary)
            json.member("service", service)
            json.member("environment", environment)
            json.member("revision", revision)
            json.member("time", Timestamps.iso8601(time, milliseconds: true))
            if let deployment {
                json.key("deployment")
                deployment.write(to: &json)
            }
            json.member("source", "versioncheck")
        }
        return json.text
    }

    /// `VERSIONCHECK_DEPLOYMENT_*` for a command channel.
    var deploymentVariables: [(String, String?)] {
        guard let deployment else { return [] }
        return [
            ("VERSIONCHECK_DEPLOYMENT_ID", deployment.id), ("VERSIONCHECK_APPLICATION", deployment.application),
            ("VERSIONCHECK_DEPLOYMENT_GROUP", deployment.group), ("VERSIONCHECK_STATUS", deployment.status),
            ("VERSIONCHECK_OUTCOME", deployment.outcome?.rawValue), ("VERSIONCHECK_CREATOR", deployment.creator),
            ("VERSIONCHECK_ERROR_CODE", deployment.errorCode), ("VERSIONCHECK_ERROR_MESSAGE", deployment.errorMessage),
            ("VERSIONCHECK_CREATE_TIME", deployment.createTime.map { Timestamps.iso8601($0) }),
            ("VERSIONCHECK_START_TIME", deployment.startTime.map { Timestamps.iso8601($0) }),
            ("VERSIONCHECK_COMPLETE_TIME", deployment.completeTime.map { Timestamps.iso8601($0) }),
            ("VERSIONCHECK_DURATION_SECONDS", deployment.duration.map { String(Int($0.seconds.rounded())) }),
            ("VERSIONCHECK_ROLLBACK_DEPLOYMENT_ID", deployment.rollbackDeploymentID),
        ]
    }
}

extension AlertRenderer {
    static func deploymentEmoji(_ deployment: CodeDeployDeployment) -> String {
        switch deployment.outcome {
        case .succeeded?: "✅"
        case .failed?: "❌"
        case .stopped?: "⏹️"
        case nil: "🚧"
        }
    }

    /// Slack: `text` for notifications; a headline section, a section of fields (application,
    /// group, status, creator, revision, duration), the error, and a context line with the times.
    static func deploymentSlack(_ alert: Alert, _ deployment: CodeDeployDeployment) -> String {
        let escape = { (text: String) in
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        let emoji = deploymentEmoji(deployment)
        var fields: [(String, String)] = [("Application", deployment.application), ("Deployment group", deployment.group),
                                          ("Status", deployment.status)]
        if let creator = deployment.creatorText ?? deployment.creator { fields.append(("Started by", creator)) }
        if let revision = deployment.revision { fields.append(("Revision", revision.text)) }
        if let duration = deployment.duration { fields.append(("Duration", CodeDeployDeployment.durationText(duration))) }
        var context: [String] = []
        if let createTime = deployment.createTime { context.append("Created \(Timestamps.iso8601(createTime))") }
        if let startTime = deployment.startTime { context.append("Started \(Timestamps.iso8601(startTime))") }
        if let completeTime = deployment.completeTime { context.append("Completed \(Timestamps.iso8601(completeTime))") }
        if let rollback = deployment.rollbackDeploymentID { context.append("Rolled back by \(rollback)") }
        if let note = deployment.note { context.append(note) }
        var json = JSONText()
        json.object { json in
            json.member("text", clip("\(emoji) \(alert.summary)", 3000))
            json.key("blocks")
            json.array { json in
                json.object { json in
                    json.member("type", "section")
                    json.key("text")
                    json.object { json in
                        json.member("type", "mrkdwn")
                        let headline = escape(deployment.headline(withError: false))
                            .replacingOccurrences(of: "deployment \(escape(deployment.id))", with: "deployment `\(escape(deployment.id))`")
                        json.member("text", clip("\(emoji) *\(escape(deployment.application))* / \(escape(deployment.group)): \(headline)", 3000))
                    }
                }
                json.object { json in
                    json.member("type", "section")
                    json.key("fields")
                    json.array { json in
                        for (title, value) in fields.prefix(10) {
                            json.object { json in
                                json.member("type", "mrkdwn")
                                json.member("text", clip("*\(title)*\n\(escape(value))", 2000))
                            }
                        }
                    }
                }
                if let error = deployment.errorText(limit: 2800) {
                    json.object { json in
                        json.member("type", "section")
                        json.key("text")
                        json.object { json in
                            json.member("type", "mrkdwn")
                            json.member("text", clip("*Error* \(escape(error))", 3000))
                        }
                    }
                }
                if !context.isEmpty {
                    json.object { json in
                        json.member("type", "context")
                        json.key("elements")
                        json.array { json in
                            json.object { json in
                                json.member("type", "mrkdwn")
                                json.member("text", clip(escape(context.joined(separator: " · ")), 3000))
                            }
                        }
                    }
                }
            }
        }
        return json.text
    }

    /// Teams: an Adaptive Card with the summary and a FactSet of the deployment's facts.
    static func deploymentTeams(_ alert: Alert, _ deployment: CodeDeployDeployment) -> String {
        TeamsCard.message(title: "\(deploymentEmoji(deployment)) \(alert.summary)",
                          color: deployment.outcome == .succeeded ? "Good" : deployment.outcome == .failed ? "Attention" : "Warning",
                          facts: deployment.facts)
    }

    /// Discord: an embed coloured by outcome, with the facts as fields.
    static func deploymentDiscord(_ alert: Alert, _ deployment: CodeDeployDeployment) -> String {
        let color = switch deployment.outcome {
        case .succeeded?: 0x2ECC71
        case .failed?: 0xE74C3C
        case .stopped?: 0xE67E22
        case nil: 0x95A5A6
        }
        return DiscordEmbed.message(content: "\(deploymentEmoji(deployment)) \(alert.summary)",
                                    title: "\(alert.subject): deployment \(deployment.outcome?.rawValue ?? deployment.status)",
                                    description: alert.summary, color: color, time: alert.time, facts: deployment.facts)
    }

    /// PagerDuty: a failed or stopped deployment triggers the group's incident
    /// (`versioncheck/codedeploy/<application>/<group>`), a succeeded one resolves it.
    static func deploymentPagerDuty(_ alert: Alert, _ deployment: CodeDeployDeployment, routingKey: String) -> String {
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
                    json.member("severity", deployment.outcome == .stopped ? "warning" : "error")
                    json.member("timestamp", Timestamps.iso8601(alert.time, milliseconds: true))
                    json.member("component", deployment.application)
                    json.member("group", deployment.group)
                    json.member("class", "deployment")
                    json.key("custom_details")
                    json.object { json in
                        for (name, value) in deployment.facts { json.member(name.lowercased().replacingOccurrences(of: " ", with: "_"), value) }
                    }
                }
            }
        }
        return json.text
    }
}
