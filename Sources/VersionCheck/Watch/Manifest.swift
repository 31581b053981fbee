import DeployVerifyKit
import Foundation

/// A problem with the manifest: names the file and the JSON path. versioncheck exits 2 with it.
package typealias ManifestError = JSONFileError

/// The services to watch and where their alerts go.
package struct Manifest: Sendable {
    package var path: String
    package var channels: [String: Channel] = [:]
    package var channelNames: [String] = []
    package var services: [WatchedService] = []
    package var settings = WatchSettings()
    /// CodeDeploy applications whose deployments are announced (the `codedeploy` object).
    package var codeDeploy = CodeDeploySettings()
    /// Secrets from the manifest (channel URLs, routing keys, header values) for masking.
    package var redactor = Redactor()

    /// The manifest's notation: both give the same document, checked the same way.
    package enum Format: Sendable {
        case json, yaml
    }

    /// A file: YAML when it is named `.yaml` or `.yml`, or does not start with `{`; JSON otherwise.
    /// - Parameter requireServices: false when only the channels are needed (`versioncheck --notify`).
    package static func load(path: String, environment: [String: String], requireServices: Bool = true) throws(ManifestError) -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(file: path, location: nil,
                                message: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        let bytes = Array(data)
        return try parse(bytes, path: path, format: ManifestSource.format(name: path, contentType: nil, bytes: bytes),
                         environment: environment, requireServices: requireServices)
    }

    package static func parse(_ bytes: [UInt8], path: String, format: Format = .json, environment: [String: String],
                              requireServices: Bool = true) throws(ManifestError) -> Manifest {
        let document = switch format {
        case .json: try JSONFileError.parse(bytes, file: path)
        case .yaml: try JSONFileError.parseYAML(bytes, file: path)
        }
        var reader = ManifestReader(file: path, environment: environment)
        return try reader.manifest(document, requireServices: requireServices)
    }
}

/// Manifest-wide behaviour (the `settings` object).
package struct WatchSettings: Sendable {
    /// Alert on `first-seen` (the baseline of a service seen for the first time).
    package var alertFirstSeen = false
    /// Send a `recovered` alert when drift or unreachability ends (PagerDuty resolves regardless).
    package var alertRecovered = true
    /// Repeat the drift alert while drift persists, this often; nil: never.
    package var remindEvery: Duration?
    /// Consecutive failed reads before an instance is `unreachable`.
    package var unreachableAfter = 3
    /// Delivery attempts per alert and channel (network errors, 429 and 5xx are retried).
    package var deliveryAttempts = 6
    package var initialBackoff: Duration = .seconds(1)
    package var maxBackoff: Duration = .seconds(300)
    /// Per URL read.
    package var timeout: Duration = .seconds(5)
    package var concurrency = 64

    package init() {}
}

/// One service in one environment, read from one or more URLs (its instances).
package struct WatchedService: Sendable {
    package let name: String
    package let environment: String
    /// `checkout@production`: the identity everything is keyed by.
    package let key: String
    package var urls: [String]
    package var field: JSONPath?
    package var headers: [(name: String, value: String)] = []
    package var expect: ExpectSource?
    package var notify: [String] = []
    /// JSON path of the service in the manifest (`services[2]`).
    package var path: String

    package init(name: String, environment: String, urls: [String], path: String) {
        self.name = name
        self.environment = environment
        self.key = "\(name)@\(environment)"
        self.urls = urls
        self.path = path
    }
}

/// Where the expected version comes from.
package enum ExpectSource: Sendable {
    /// Written in the manifest: an exact version, a range, `prefix:` or `regex:`.
    case literal(VersionExpectation)
    /// The content of a file, read every cycle (a release pipeline writes it).
    case file(String)
    /// A URL read every cycle: its JSON `field` (default `version`) or its plain-text body.
    case url(String, field: JSONPath?)
}

/// An alert destination.
package struct Channel: Sendable {
    package enum Kind: String, Sendable, CaseIterable {
        case slack, teams, discord, webhook, pagerduty, command
    }

    package var name: String
    package var kind: Kind
    /// The endpoint (a secret: webhook URLs carry their token). PagerDuty defaults to Events API v2.
    package var url: String?
    package var headers: [(name: String, value: String)] = []
    /// PagerDuty's integration key.
    package var routingKey: String?
    /// For `command`: the program and its arguments.
    package var command: [String] = []
    /// Event kinds this channel gets; nil: all but first-seen (unless settings enable it).
    package var events: Set<String>?
}

private struct ManifestReader: JSONFileReading {
    let file: String
    let environment: [String: String]
    /// Reads the channels, and every value with `${NAME}` from the environment (its redactor
    /// collects the manifest's secrets).
    var values: ChannelReader
    /// Fleets repeat the same few expectations: each is parsed once.
    var expectations: [String: VersionExpectation] = [:]

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
        values = ChannelReader(file: file) { environment[$0] }
    }

    /// Secrets from the manifest (channel URLs, routing keys, header values).
    var redactor: Redactor { values.redactor }

    /// A string with `${NAME}` taken from the environment; an undefined name is an error.
    /// With `secret`, the value is masked in all output; with `secretURL`, every part of it a
    /// receiver could echo (path, segments, query) is too.
    mutating func expanded(_ value: JSONValue?, _ path: String, secret: Bool = false, secretURL: Bool = false) throws(ManifestError) -> String {
        try values.expanded(value, path, secret: secret, secretURL: secretURL)
    }

    mutating func headers(_ value: JSONValue, _ path: String) throws(ManifestError) -> [(name: String, value: String)] {
        try values.headers(value, path)
    }

    mutating func manifest(_ document: JSONValue, requireServices: Bool) throws(ManifestError) -> Manifest {
        let root = try object(document, "", allowed: ["$schema", "description", "settings", "channels", "services", "codedeploy"])
        var manifest = Manifest(path: file)
        if let settings = root["settings"] { manifest.settings = try self.settings(settings) }
        if let channels = root["channels"] {
            guard case .object(let object) = channels else { throw error("channels", "expected an object of named channels") }
            for (name, value) in object.members {
                manifest.channels[name] = try values.channel(name, value, "channels.\(name)")
                manifest.channelNames.append(name)
            }
        }
        if let codeDeploy = root["codedeploy"] {
            manifest.codeDeploy = try RegistrationReader(file: file, channels: manifest.channels).settings(codeDeploy, "codedeploy")
        }
        guard let services = root["services"] else {
            // A manifest may only announce CodeDeploy deployments.
            if !requireServices || !manifest.codeDeploy.registrations.isEmpty {
                manifest.redactor = redactor
                return manifest
            }
            throw error("services", "missing: the manifest needs a services array (or codedeploy registrations)")
        }
        guard case .array(let list) = services, !list.isEmpty || !requireServices else {
            throw error("services", "expected a non-empty array of services")
        }
        var keys: [String: String] = [:]
        for (index, value) in list.enumerated() {
            let service = try self.service(value, "services[\(index)]", channels: manifest.channels)
            if let earlier = keys[service.key] {
                throw error("services[\(index)]", "\(service.name) in \(service.environment) is already defined at \(earlier)")
            }
            keys[service.key] = service.path
            manifest.services.append(service)
        }
        manifest.redactor = redactor
        return manifest
    }

    mutating func settings(_ value: JSONValue) throws(ManifestError) -> WatchSettings {
        let object = try self.object(value, "settings", allowed: [
            "alertFirstSeen", "alertRecovered", "remindEvery", "unreachableAfter", "deliveryAttempts", "initialBackoff",
            "maxBackoff", "timeout", "concurrency",
        ])
        var settings = WatchSettings()
        if let value = object["alertFirstSeen"] { settings.alertFirstSeen = try bool(value, "settings.alertFirstSeen") }
        if let value = object["alertRecovered"] { settings.alertRecovered = try bool(value, "settings.alertRecovered") }
        if let value = object["remindEvery"] { settings.remindEvery = try duration(value, "settings.remindEvery") }
        if let value = object["unreachableAfter"] { settings.unreachableAfter = try integer(value, "settings.unreachableAfter", 1...1000) }
        if let value = object["deliveryAttempts"] { settings.deliveryAttempts = try integer(value, "settings.deliveryAttempts", 1...100) }
        if let value = object["initialBackoff"] { settings.initialBackoff = try duration(value, "settings.initialBackoff") }
        if let value = object["maxBackoff"] { settings.maxBackoff = try duration(value, "settings.maxBackoff") }
        if let value = object["timeout"] { settings.timeout = try duration(value, "settings.timeout") }
        if let value = object["concurrency"] { settings.concurrency = try integer(value, "settings.concurrency", 1...4096) }
        return settings
    }

    mutating func service(_ value: JSONValue, _ path: String, channels: [String: Channel]) throws(ManifestError) -> WatchedService {
        let object = try self.object(value, path, allowed: ["name", "environment", "url", "urls", "field", "headers", "expect", "notify"])
        let name = try string(object["name"], "\(path).name")
        guard !name.isEmpty else { throw error("\(path).name", "empty") }
        let environment = try object["environment"].map { value throws(ManifestError) in try string(value, "\(path).environment") } ?? "default"
        var urls: [String] = []
        if let single = object["url"] { urls.append(try expanded(single, "\(path).url")) }
        if let list = object["urls"] {
            guard case .array(let items) = list, !items.isEmpty else { throw error("\(path).urls", "expected a non-empty array of URLs") }
            for (index, item) in items.enumerated() { urls.append(try expanded(item, "\(path).urls[\(index)]")) }
        }
        guard !urls.isEmpty else { throw error(path, "a service needs urls (or url)") }
        for (index, url) in urls.enumerated() {
            if case .failure(let failure) = ProbeTarget.parse(url) { throw error("\(path).urls[\(index)]", failure.message) }
        }
        var service = WatchedService(name: name, environment: environment, urls: urls, path: path)
        if let field = object["field"] {
            let text = try string(field, "\(path).field")
            do { service.field = try JSONPath(text) } catch { throw self.error("\(path).field", error.description) }
        }
        if let headers = object["headers"] { service.headers = try self.headers(headers, "\(path).headers") }
        if let expect = object["expect"] { service.expect = try self.expect(expect, "\(path).expect") }
        if let notify = object["notify"] {
            guard case .array(let items) = notify else { throw error("\(path).notify", "expected an array of channel names") }
            for (index, item) in items.enumerated() {
                let channel = try string(item, "\(path).notify[\(index)]")
                guard channels[channel] != nil else {
                    let known = channels.isEmpty ? "the manifest defines no channels" : "channels: " + channels.keys.sorted().joined(separator: ", ")
                    throw error("\(path).notify[\(index)]", "no channel '\(channel)' (\(known))")
                }
                service.notify.append(channel)
            }
        }
        return service
    }

    mutating func expect(_ value: JSONValue, _ path: String) throws(ManifestError) -> ExpectSource {
        if case .object = value {
            let object = try self.object(value, path, allowed: ["file", "url", "field"])
            if let file = object["file"] { return .file(try expanded(file, "\(path).file")) }
            guard let url = object["url"] else { throw error(path, "expected file or url") }
            let text = try expanded(url, "\(path).url")
            var field: JSONPath?
            if let value = object["field"] {
                let fieldText = try string(value, "\(path).field")
                do { field = try JSONPath(fieldText) } catch { throw self.error("\(path).field", error.description) }
            }
            return .url(text, field: field)
        }
        let text = try expanded(value, path)
        if let known = expectations[text] { return .literal(known) }
        do {
            let expectation = try VersionExpectation(text)
            expectations[text] = expectation
            return .literal(expectation)
        } catch {
            throw self.error(path, error.description)
        }
    }
}
