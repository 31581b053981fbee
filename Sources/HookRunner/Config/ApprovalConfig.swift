import DeployVerifyKit
import Foundation
import VersionCheck

/// An `approval` step: a message with approve and roll-back links posted to channels, and the
/// wait for a person to click one. Values may use `${NAME}`; they are expanded when the phase runs.
package struct ApprovalSpec: Sendable {
    /// The text posted; default: `Approve SERVICE VERSION (build BUILD)?`.
    package var message: String?
    /// Names from the file's `channels`.
    package var channels: [String]
    /// What no decision within the timeout means (default: roll back).
    package var onTimeout = ApprovalDecision.rollback
    /// `true`, `false` or a `${VARIABLE}` holding one: the step passes without waiting.
    package var preApprove: String?
    /// Who may decide; empty: anyone with the link.
    package var approvers: [String] = []
    package var service: String?
    /// The environment decided for: recorded with every decision (versioncheck's status page
    /// places the decision there).
    package var environment: String?
    package var version: String?
    package var build: String?
    /// Buttons (Slack, Teams) or links (Discord, webhook) beside the decision: dashboards, logs.
    package var links: [(title: String, url: String)] = []

    /// The default wait.
    package static let defaultTimeout: Duration = .seconds(30 * 60)
}

/// Reading the hooks file's `channels` and `approval` steps.
extension ConfigReader {
    /// The `channels` object's shape: named objects. Their values (with `${NAME}`) are read by
    /// versioncheck's ``ChannelReader`` when a phase is planned.
    func channelDefinitions(_ value: JSONValue) throws(ConfigError) -> [(name: String, value: JSONValue)] {
        guard case .object(let object) = value else { throw error("channels", "expected an object of named channels") }
        var definitions: [(name: String, value: JSONValue)] = []
        for (name, definition) in object.members {
            guard case .object = definition else {
                throw error(join("channels", name), "expected a channel such as {\"type\": \"slack\", \"url\": \"${SLACK_WEBHOOK_URL}\"}")
            }
            definitions.append((name, definition))
        }
        return definitions
    }

    func approval(_ value: JSONValue, _ path: String) throws(ConfigError) -> ApprovalSpec {
        let object = try self.object(value, path, allowed: ["message", "channels", "timeout", "onTimeout", "preApprove", "approvers",
                                                           "service", "environment", "version", "build", "links"])
        guard let channelList = object["channels"] else {
            throw error(path, "needs channels: the names of channels (from the file's channels) to post the request to")
        }
        let names = try strings(channelList, join(path, "channels"))
        for (index, name) in names.enumerated() where !channelNames.contains(name) {
            let known = channelNames.isEmpty ? "the file defines no channels" : "channels: " + channelNames.joined(separator: ", ")
            throw error("\(path).channels[\(index)]", "no channel '\(name)' (\(known))")
        }
        var spec = ApprovalSpec(channels: names)
        if let message = object["message"] { spec.message = try nonEmpty(message, join(path, "message")) }
        if let onTimeout = object["onTimeout"] {
            switch try string(onTimeout, join(path, "onTimeout")) {
            case "rollback": spec.onTimeout = .rollback
            case "approve": spec.onTimeout = .approve
            case let other: throw error(join(path, "onTimeout"), "'\(other)' is neither rollback nor approve")
            }
        }
        if let preApprove = object["preApprove"] {
            switch preApprove {
            case .bool(let flag): spec.preApprove = flag ? "true" : "false"
            case .string(let text):
                if !text.contains("${"), Self.truth(text) == nil {
                    throw error(join(path, "preApprove"), "'\(text)' is not true or false (or a ${VARIABLE} holding one)")
                }
                spec.preApprove = text
            default: throw error(join(path, "preApprove"), "expected true, false or a ${VARIABLE}, found \(article(preApprove))")
            }
        }
        if let approvers = object["approvers"] { spec.approvers = try strings(approvers, join(path, "approvers")) }
        if let service = object["service"] { spec.service = try string(service, join(path, "service")) }
        if let environment = object["environment"] { spec.environment = try string(environment, join(path, "environment")) }
        if let version = object["version"] { spec.version = try string(version, join(path, "version")) }
        if let build = object["build"] { spec.build = try string(build, join(path, "build")) }
        if let links = object["links"] {
            guard case .object(let members) = links else {
                throw error(join(path, "links"), "expected an object of titles and URLs, e.g. {\"Dashboard\": \"https://grafana/d/checkout\"}")
            }
            for (title, url) in members.members {
                guard !title.isEmpty else { throw error(join(path, "links"), "a link needs a title") }
                spec.links.append((title, try nonEmpty(url, join(join(path, "links"), title))))
            }
        }
        return spec
    }

    /// `true`, `yes`, `1` → true; `false`, `no`, `0` and the empty text → false (any case);
    /// nil for anything else.
    static func truth(_ text: String) -> Bool? {
        switch text.trimmed.lowercased() {
        case "true", "yes", "1": true
        case "false", "no", "0", "": false
        default: nil
        }
    }
}

/// An approval step with its `${NAME}` values expanded and its channels read.
package struct PlannedApproval: Sendable {
    package var message: String
    package var channels: [Channel]
    package var timeout: Duration
    package var onTimeout: ApprovalDecision
    /// The file's `preApprove` holds true (`--pre-approve` is the run's).
    package var preApproved: Bool
    package var approvers: [String]
    package var service: String?
    package var environment: String?
    package var version: String?
    package var build: String?
    package var links: [(title: String, url: String)]

    /// `approval on team-slack, team-teams (30m, then rollback)`.
    package var description: String {
        "approval on \(channels.map(\.name).joined(separator: ", ")) (\(DurationText.format(timeout)), then \(onTimeout.rawValue))"
    }
}

extension PhasePlan {
    /// The channel types an approval request can go to (PagerDuty opens incidents, not requests).
    static let approvalChannelKinds: [Channel.Kind] = [.slack, .teams, .discord, .webhook, .command]

    /// A `channels` entry, read by versioncheck's reader with the run's variables; its secrets
    /// (URLs, credentials) join the scope's redactor.
    static func channel(_ name: String, _ value: JSONValue, file: String, scope: inout VariableScope) throws(ConfigError) -> Channel {
        let variables = scope
        var reader = ChannelReader(file: file, kinds: approvalChannelKinds, allowsEvents: false,
                                   undefinedHint: " (define it in vars, in the environment, or with --var)") { variables.value($0) }
        let channel = try reader.channel(name, value, "channels.\(name)")
        scope.addSecrets(of: reader.redactor)
        return channel
    }

    static func planApproval(_ spec: ApprovalSpec, check: Check, channels: [Channel], file: String,
                             scope: inout VariableScope) throws(ConfigError) -> PlannedApproval {
        let path = "\(check.path).approval"
        func expand(_ template: String, _ location: String) throws(ConfigError) -> String {
            do {
                return try scope.expand(template)
            } catch {
                throw ConfigError(file: file, location: location,
                                  message: "\(error.description) (define it in vars, in the environment, or with --var \(error.name)=…)")
            }
        }
        let service = try spec.service.map { value throws(ConfigError) in try expand(value, "\(path).service") }
        let environment = try spec.environment.map { value throws(ConfigError) in try expand(value, "\(path).environment") }?.nonEmpty
        let version = try spec.version.map { value throws(ConfigError) in try expand(value, "\(path).version") }
        let build = try spec.build.map { value throws(ConfigError) in try expand(value, "\(path).build") }
        var message: String
        if let template = spec.message {
            message = try expand(template, "\(path).message")
        } else {
            message = "Approve " + ([service, version].compactMap { $0 }.joined(separator: " ").nonEmpty ?? check.name)
                + (build.map { " (build \($0))" } ?? "") + "?"
        }
        message = String(message.prefix(2000))
        var approvers: [String] = []
        for (index, approver) in spec.approvers.enumerated() {
            let name = try expand(approver, "\(path).approvers[\(index)]").trimmed
            if !name.isEmpty { approvers.append(name) }
        }
        var links: [(title: String, url: String)] = []
        for (title, template) in spec.links {
            let url = try expand(template, "\(path).links.\(title)")
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), case .success = ProbeTarget.parse(url) else {
                throw ConfigError(file: file, location: "\(path).links.\(title)", message: "'\(Redaction.url(url))' is not an http:// or https:// URL")
            }
            links.append((try expand(title, "\(path).links"), url))
        }
        var preApproved = false
        if let template = spec.preApprove {
            // An undefined variable here means no pre-approval: the safe reading, so that
            // production need not define PRE_APPROVE at all.
            let text = (try? EnvironmentExpansion.expand(template) { scope.value($0) ?? "" }.text) ?? ""
            guard let truth = ConfigReader.truth(text) else {
                throw ConfigError(file: file, location: "\(path).preApprove", message: "'\(text.prefix(40))' is not true or false")
            }
            preApproved = truth
        }
        return PlannedApproval(message: message, channels: channels, timeout: check.timeout, onTimeout: spec.onTimeout,
                               preApproved: preApproved, approvers: approvers, service: service, environment: environment,
                               version: version, build: build, links: links)
    }
}

extension String {
    /// nil for the empty text.
    var nonEmpty: String? { isEmpty ? nil : self }
}
