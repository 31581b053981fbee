import DeployVerifyKit
import Foundation
import InfoEndpoint

/// How a deployment ended, as a registration names it.
package enum DeploymentOutcome: String, Sendable, CaseIterable, Comparable {
    case succeeded, failed, stopped

    /// The CodeDeploy status: `Succeeded`, `Failed`, `Stopped`.
    package var status: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

    /// From a CodeDeploy status; nil while the deployment runs.
    package init?(status: String) {
        self.init(rawValue: status.lowercased())
    }

    package static func < (lhs: DeploymentOutcome, rhs: DeploymentOutcome) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A CodeDeploy application whose deployments are announced: to these channels, when a
/// deployment of these groups ends in one of these outcomes. From the manifest
/// (`codedeploy.registrations`) or added through the registrations API.
package struct CodeDeployRegistration: Sendable, Equatable {
    package enum Source: String, Sendable {
        case manifest, api
    }

    /// `checkout`, `manifest-2`, `reg-3f9a…`: names the registration in the API and its watermark.
    package var id: String
    package var application: String
    /// nil: every group of the application (listed each poll).
    package var deploymentGroups: [String]?
    /// Channel names of the manifest.
    package var notify: [String]
    package var outcomes: Set<DeploymentOutcome>
    package var source: Source
    /// When it was added through the API.
    package var created: Date?

    package init(id: String, application: String, deploymentGroups: [String]? = nil, notify: [String],
                 outcomes: Set<DeploymentOutcome> = Set(DeploymentOutcome.allCases), source: Source, created: Date? = nil) {
        self.id = id
        self.application = application
        self.deploymentGroups = deploymentGroups
        self.notify = notify
        self.outcomes = outcomes
        self.source = source
        self.created = created
    }

    /// The keys a registration object may have.
    static let keys = ["id", "application", "deploymentGroups", "notify", "outcomes"]

    /// Letters, digits, `.`, `_` and `-`, at most 128.
    package static func isValidID(_ id: String) -> Bool {
        (1...128).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The stored form (an API registration's document), and what the API shows with
    /// `source` and `readOnly`.
    package func json(forAPI: Bool = false) -> String {
        var json = JSONText()
        json.object { json in write(to: &json, forAPI: forAPI) }
        return json.text
    }

    package func write(to json: inout JSONText, forAPI: Bool) {
        json.member("id", id)
        json.member("application", application)
        json.key("deploymentGroups")
        if let deploymentGroups {
            json.array { json in for group in deploymentGroups { json.string(group) } }
        } else {
            json.null()
        }
        json.key("notify")
        json.array { json in for channel in notify { json.string(channel) } }
        json.key("outcomes")
        json.array { json in for outcome in outcomes.sorted() { json.string(outcome.rawValue) } }
        if let created { json.member("created", Timestamps.iso8601(created, milliseconds: true)) }
        if forAPI {
            json.member("source", source.rawValue)
            json.key("readOnly")
            json.bool(source == .manifest)
        }
    }

    /// Reads a stored API registration back; nil when it is not one.
    package init?(stored text: String) {
        guard let value = try? JSONParser().parse(text), case .object = value else { return nil }
        let reader = RegistrationReader(file: "stored registration", channels: nil)
        guard var registration = try? reader.registration(value, "", source: .api) else { return nil }
        registration.created = value["created"]?.stringValue.flatMap(CodeDeployDeployment.time)
        self = registration
    }
}

/// The `codedeploy` object of a manifest.
package struct CodeDeploySettings: Sendable {
    /// How far back deployments are looked for, by creation time: longer than any deployment
    /// lasts (one created before the window that ends inside it is not seen).
    package var lookback: Duration = .seconds(24 * 3600)
    package var registrations: [CodeDeployRegistration] = []

    package init() {}
}

/// Reads registrations, from a manifest or an API request, with JSON paths in its errors and
/// suggestions for typos.
package struct RegistrationReader: JSONFileReading {
    package let file: String
    /// The manifest's channels, which `notify` must name; nil: not checked (a stored registration,
    /// whose channels are checked when it is used).
    package let channels: [String: Channel]?

    package init(file: String, channels: [String: Channel]?) {
        self.file = file
        self.channels = channels
    }

    /// One registration at `path`. A manifest one without an `id` gets `defaultID`; an API one
    /// without an `id` gets none here (the API makes one).
    package func registration(_ value: JSONValue, _ path: String, source: CodeDeployRegistration.Source,
                                       defaultID: String? = nil) throws(JSONFileError) -> CodeDeployRegistration {
        let object = try self.object(value, path, allowed: CodeDeployRegistration.keys + (source == .api && channels == nil ? ["created"] : []))
        var id = defaultID ?? ""
        if let value = object["id"] {
            id = try string(value, join(path, "id"))
            guard CodeDeployRegistration.isValidID(id) else {
                throw error(join(path, "id"), "'\(id.prefix(80))' is not an id of 1 to 128 letters, digits, '.', '_' or '-'")
            }
        }
        let application = try string(object["application"], join(path, "application"))
        guard !application.trimmed.isEmpty else { throw error(join(path, "application"), "empty: name the CodeDeploy application") }
        guard application.count <= 100, !application.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            throw error(join(path, "application"), "not a CodeDeploy application name (at most 100 characters, no control characters)")
        }
        var groups: [String]?
        if let value = object["deploymentGroups"] {
            let groupsPath = join(path, "deploymentGroups")
            guard case .array(let items) = value, !items.isEmpty else {
                throw error(groupsPath, "expected a non-empty array of deployment group names (leave it out for every group)")
            }
            var names: [String] = []
            for (index, item) in items.enumerated() {
                let name = try string(item, "\(groupsPath)[\(index)]")
                guard !name.trimmed.isEmpty else { throw error("\(groupsPath)[\(index)]", "empty") }
                guard !names.contains(name) else { throw error("\(groupsPath)[\(index)]", "'\(name)' is listed twice") }
                names.append(name)
            }
            groups = names
        }
        let notifyPath = join(path, "notify")
        guard case .array(let notifyItems)? = object["notify"] else {
            throw error(notifyPath, object["notify"] == nil ? "missing: name the channels to notify" : "expected an array of channel names")
        }
        guard !notifyItems.isEmpty else { throw error(notifyPath, "empty: name at least one channel") }
        var notify: [String] = []
        for (index, item) in notifyItems.enumerated() {
            let name = try string(item, "\(notifyPath)[\(index)]")
            if let channels, channels[name] == nil {
                var message = "no channel '\(name)'"
                if channels.isEmpty {
                    message += " (the manifest defines no channels)"
                } else {
                    if let suggestion = ArgumentList.nearest(name, in: channels.keys.sorted()) { message += " (did you mean '\(suggestion)'?)" }
                    message += "; channels: " + channels.keys.sorted().joined(separator: ", ")
                }
                throw error("\(notifyPath)[\(index)]", message)
            }
            if !notify.contains(name) { notify.append(name) }
        }
        var outcomes = Set(DeploymentOutcome.allCases)
        if let value = object["outcomes"] {
            let outcomesPath = join(path, "outcomes")
            guard case .array(let items) = value, !items.isEmpty else {
                throw error(outcomesPath, "expected a non-empty array of outcomes (succeeded, failed, stopped)")
            }
            outcomes = []
            for (index, item) in items.enumerated() {
                let text = try string(item, "\(outcomesPath)[\(index)]")
                guard let outcome = DeploymentOutcome(rawValue: text) else {
                    var message = "'\(text.prefix(40))' is not an outcome"
                    if let suggestion = ArgumentList.nearest(text, in: DeploymentOutcome.allCases.map(\.rawValue)) {
                        message += " (did you mean '\(suggestion)'?)"
                    }
                    throw error("\(outcomesPath)[\(index)]", message + "; outcomes: succeeded, failed, stopped")
                }
                outcomes.insert(outcome)
            }
        }
        return CodeDeployRegistration(id: id, application: application, deploymentGroups: groups, notify: notify,
                                      outcomes: outcomes, source: source)
    }

    /// The manifest's `codedeploy` object: `lookback` and `registrations`, each with an id of its
    /// own (given, else the application name when no other registration takes it, else
    /// `manifest-<index>`).
    package func settings(_ value: JSONValue, _ path: String) throws(JSONFileError) -> CodeDeploySettings {
        let object = try self.object(value, path, allowed: ["lookback", "registrations"])
        var settings = CodeDeploySettings()
        if let value = object["lookback"] {
            settings.lookback = try duration(value, join(path, "lookback"))
            guard settings.lookback >= .seconds(60) else { throw error(join(path, "lookback"), "at least 1m: longer than any deployment lasts") }
        }
        let listPath = join(path, "registrations")
        guard let list = object["registrations"] else { return settings }
        guard case .array(let items) = list else { throw error(listPath, "expected an array of registrations") }
        // A default never takes an id the file gives.
        let given = Set(items.compactMap { $0["id"]?.stringValue })
        var taken: [String: String] = [:]
        var applications: [String: Int] = [:]
        for item in items { if let name = item["application"]?.stringValue { applications[name, default: 0] += 1 } }
        for (index, item) in items.enumerated() {
            let itemPath = "\(listPath)[\(index)]"
            let application = item["application"]?.stringValue ?? ""
            var defaultID = "manifest-\(index)"
            if applications[application] == 1, CodeDeployRegistration.isValidID(application), !given.contains(application) {
                defaultID = application
            }
            let registration = try self.registration(item, itemPath, source: .manifest, defaultID: defaultID)
            if let earlier = taken[registration.id] {
                throw error(item["id"] != nil ? join(itemPath, "id") : itemPath, "the id '\(registration.id)' is already used at \(earlier)")
            }
            taken[registration.id] = itemPath
            settings.registrations.append(registration)
        }
        return settings
    }
}
