import DeployVerifyKit
import Foundation
import InfoEndpoint
import VersionCheck

/// An approval request as the channels get it: the request's details, and the approve and
/// roll-back links (none when pre-approved). Pure: the same request renders the same way.
///
/// Slack gets a Block Kit `actions` block of link buttons (`url`), Teams an Adaptive Card 1.2
/// with `Action.OpenUrl` actions (Teams workflows do not take `Action.Submit`); Discord gets the
/// links in its embed's text, a webhook in its JSON, a command in its environment and stdin.
package struct ApprovalMessage: Sendable {
    package var request: ApprovalRecord
    package var approveURL: String?
    package var rollbackURL: String?
    /// nil while waiting; how it was pre-approved otherwise (`--pre-approve`, `preApprove`).
    package var preApproved: String?

    /// `approval-requested` or `approval-pre-approved`.
    package var type: String { preApproved == nil ? "approval-requested" : "approval-pre-approved" }

    /// `⏸️ Approval needed: …` or `✅ Pre-approved (--pre-approve): …`.
    package var headline: String {
        let message = request.message ?? "Approve \(request.subject)?"
        if let preApproved { return "✅ Pre-approved (\(preApproved)): \(message)" }
        return "⏸️ Approval needed: \(message)"
    }

    /// The link buttons: approve and roll back (while waiting), then the step's links.
    package var buttons: [(title: String, url: String, decision: ApprovalDecision?)] {
        var buttons: [(title: String, url: String, decision: ApprovalDecision?)] = []
        if preApproved == nil {
            if let approveURL { buttons.append((ApprovalDecision.approve.label, approveURL, .approve)) }
            if let rollbackURL { buttons.append((ApprovalDecision.rollback.label, rollbackURL, .rollback)) }
        }
        for link in request.links { buttons.append((link.title, link.url, nil)) }
        return buttons
    }

    /// Title and value pairs, in the order the channels show them.
    package var facts: [(String, String)] {
        var facts: [(String, String)] = []
        if let service = request.service { facts.append(("Service", service)) }
        if let environment = request.environment { facts.append(("Environment", environment)) }
        if let version = request.version { facts.append(("Version", version)) }
        if let build = request.build { facts.append(("Build", build)) }
        if let phase = request.phase { facts.append(("Phase", phase)) }
        if let step = request.step { facts.append(("Step", step)) }
        for (name, value) in request.deployment { facts.append((name, value)) }
        if preApproved == nil, let expires = request.expires {
            facts.append(("Decide by", "\(Timestamps.iso8601(expires)) (then \(request.onTimeout == .approve ? "approve" : "roll back"))"))
        }
        if !request.approvers.isEmpty { facts.append(("Approvers", request.approvers.joined(separator: ", "))) }
        return facts
    }

    package func render(for channel: Channel) -> RenderedAlert {
        let headers: [(name: String, value: String)] = [("Content-Type", "application/json"),
                                                         ("Idempotency-Key", "\(request.request):\(channel.name)")] + channel.headers
        switch channel.kind {
        case .slack: return .http(url: channel.url ?? "", headers: headers, body: slack)
        case .teams: return .http(url: channel.url ?? "", headers: headers, body: teams)
        case .discord: return .http(url: channel.url ?? "", headers: headers, body: discord)
        case .webhook, .pagerduty: return .http(url: channel.url ?? "", headers: headers, body: json)
        case .command:
            var environment = ProcessInfo.processInfo.environment
            let variables: [(String, String?)] = [
                ("HOOKRUNNER_APPROVAL_EVENT", type), ("HOOKRUNNER_APPROVAL_ID", request.request),
                ("HOOKRUNNER_APPROVAL_MESSAGE", request.message), ("HOOKRUNNER_APPROVAL_SERVICE", request.service),
                ("HOOKRUNNER_APPROVAL_VERSION", request.version), ("HOOKRUNNER_APPROVAL_BUILD", request.build),
                ("HOOKRUNNER_APPROVAL_PHASE", request.phase), ("HOOKRUNNER_APPROVAL_STEP", request.step),
                ("HOOKRUNNER_APPROVAL_EXPIRES", request.expires.map { Timestamps.iso8601($0) }),
                ("HOOKRUNNER_APPROVAL_APPROVE_URL", preApproved == nil ? approveURL : nil),
                ("HOOKRUNNER_APPROVAL_ROLLBACK_URL", preApproved == nil ? rollbackURL : nil),
                ("HOOKRUNNER_APPROVAL_PRE_APPROVED", preApproved == nil ? "false" : "true"),
                ("HOOKRUNNER_APPROVAL_SUMMARY", headline),
            ]
            for (name, value) in variables { environment[name] = value ?? "" }
            return .command(arguments: channel.command, environment: environment, input: json)
        }
    }

    /// The webhook payload (and a command channel's stdin): documented in the README.
    package var json: String {
        var json = JSONText()
        json.object { json in
            json.member("type", type)
            json.member("id", request.request)
            json.member("summary", headline)
            json.member("message", request.message)
            json.member("service", request.service)
            json.member("version", request.version)
            json.member("build", request.build)
            json.member("phase", request.phase)
            json.member("step", request.step)
            json.member("requestedAt", Timestamps.iso8601(request.time, milliseconds: true))
            json.member("expires", preApproved == nil ? request.expires.map { Timestamps.iso8601($0) } : nil)
            json.member("onTimeout", request.onTimeout?.rawValue)
            json.key("preApproved")
            json.bool(preApproved != nil)
            json.member("preApprovedBy", preApproved)
            json.member("approveUrl", preApproved == nil ? approveURL : nil)
            json.member("rollbackUrl", preApproved == nil ? rollbackURL : nil)
            json.key("approvers")
            json.array { json in for approver in request.approvers { json.string(approver) } }
            json.key("links")
            json.array { json in
                for link in request.links {
                    json.object { json in
                        json.member("title", link.title)
                        json.member("url", link.url)
                    }
                }
            }
            json.key("deployment")
            json.object { json in for (name, value) in request.deployment { json.member(name, value) } }
            json.member("source", "hookrunner")
        }
        return json.text
    }

    /// Slack incoming webhook: `text` for notifications, a mrkdwn section, a context line of
    /// facts, and an `actions` block of link buttons (at most 25; a label at most 75 characters).
    var slack: String {
        let escape = { (text: String) in
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var json = JSONText()
        json.object { json in
            json.member("text", clip(headline, 3000))
            json.key("blocks")
            json.array { json in
                json.object { json in
                    json.member("type", "section")
                    json.key("text")
                    json.object { json in
                        json.member("type", "mrkdwn")
                        let title = preApproved == nil ? "⏸️ *Approval needed*" : "✅ *Pre-approved* (\(escape(preApproved ?? "")))"
                        json.member("text", clip("\(title): \(escape(request.message ?? request.subject))", 3000))
                    }
                }
                if !facts.isEmpty {
                    json.object { json in
                        json.member("type", "context")
                        json.key("elements")
                        json.array { json in
                            json.object { json in
                                json.member("type", "mrkdwn")
                                json.member("text", clip(escape(facts.map { "\($0.0): \($0.1)" }.joined(separator: " · ")), 3000))
                            }
                        }
                    }
                }
                let buttons = self.buttons.prefix(25)
                if !buttons.isEmpty {
                    json.object { json in
                        json.member("type", "actions")
                        json.member("block_id", "hookrunner-approval")
                        json.key("elements")
                        json.array { json in
                            for (index, button) in buttons.enumerated() {
                                json.object { json in
                                    json.member("type", "button")
                                    json.key("text")
                                    json.object { json in
                                        json.member("type", "plain_text")
                                        json.member("text", clip(button.title, 75))
                                    }
                                    json.member("url", button.url)
                                    json.member("action_id", button.decision?.rawValue ?? "link-\(index)")
                                    switch button.decision {
                                    case .approve?: json.member("style", "primary")
                                    case .rollback?: json.member("style", "danger")
                                    case nil: break
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

    /// Teams through a Workflows webhook: an Adaptive Card 1.2 with the message, its facts and
    /// `Action.OpenUrl` actions.
    var teams: String {
        TeamsCard.message(title: preApproved == nil ? "⏸️ Approval needed" : "✅ Pre-approved (\(preApproved ?? ""))",
                          paragraphs: [request.message ?? request.subject], facts: facts.map { (title: $0.0, value: $0.1) },
                          links: buttons.map { button in
                              TeamsCard.Link(title: button.title, url: button.url,
                                             style: button.decision.map { $0 == .approve ? "positive" : "destructive" })
                          })
    }

    /// Discord webhook: the headline as content, an embed whose description holds the links as
    /// Markdown (`[Approve](…)`) and the facts as fields; no mentions are parsed.
    var discord: String {
        let links = buttons.map { "[\($0.title.replacingOccurrences(of: "]", with: ")"))](\($0.url))" }.joined(separator: " · ")
        return DiscordEmbed.message(content: headline,
                                    title: preApproved == nil ? "Approval needed: \(request.subject)" : "Pre-approved: \(request.subject)",
                                    description: links.isEmpty ? (request.message ?? "") : links + "\n\n" + (request.message ?? ""),
                                    color: preApproved == nil ? 0xF1C40F : 0x2ECC71, time: request.time, facts: facts)
    }
}
