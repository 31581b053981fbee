import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What history says about every service: the current picture the next cycle compares with.
/// It can be rebuilt from the history file; a snapshot of it is kept beside the file with the
/// history offset it covers, so that a start replays only what came after.
package struct WatchState: Sendable {
    package struct Instance: Sendable, Equatable {
        package var version: String?
        package var revision: String?
        /// Failed reads in a row.
        package var failures = 0
        package var unreachable = false
        package var drift = false
        package var lastError: String?
    }

    package struct Service: Sendable, Equatable {
        /// Every version the service has run, in the order first seen.
        package var versions: [String] = []
        package var instances: [String: Instance] = [:]
        package var lastChange: Date?
        /// Since when an instance has drifted (nil: none drifts).
        package var driftSince: Date?
        /// Drift reminders sent since `driftSince`.
        package var reminders = 0
    }

    /// Keyed by `name@environment`.
    package var services: [String: Service] = [:]
    /// Bytes of the history file this state includes.
    package var historyOffset: UInt64 = 0
    /// The sequence number of the last event.
    package var lastSequence = 0

    package init() {}

    /// Brings the state up to date with one event from history (the replay after a restart).
    package mutating func apply(_ event: WatchEvent) {
        let key = "\(event.service)@\(event.environment)"
        var service = services[key] ?? Service()
        var instance = service.instances[event.instance] ?? Instance()
        switch event.kind {
        case .firstSeen, .deployed, .rolledBack:
            if let version = event.to {
                instance.version = version
                if !service.versions.contains(version) { service.versions.append(version) }
            }
            instance.revision = event.revision ?? instance.revision
            if event.kind != .firstSeen { service.lastChange = event.time }
        case .drift:
            instance.drift = true
            service.driftSince = service.driftSince ?? event.time
        case .unreachable:
            instance.unreachable = true
        case .recovered:
            if event.problem == "drift" { instance.drift = false } else { instance.unreachable = false }
        }
        service.instances[event.instance] = instance
        if !service.instances.values.contains(where: \.drift) {
            service.driftSince = nil
            service.reminders = 0
        }
        services[key] = service
        lastSequence = max(lastSequence, event.sequence)
    }

    // MARK: Snapshot file

    package var json: String {
        var json = JSONText()
        json.object { json in
            json.key("historyOffset")
            json.number(Int(historyOffset))
            json.key("lastSequence")
            json.number(lastSequence)
            json.key("services")
            json.object { json in
                for key in services.keys.sorted() {
                    json.key(key)
                    services[key]!.write(to: &json)
                }
            }
        }
        return json.text
    }

    package init?(json text: [UInt8]) {
        guard case .object(let root)? = try? JSONParser().parse(text),
              let offset = root["historyOffset"]?.scalarText.flatMap({ UInt64($0) }),
              let sequence = root["lastSequence"]?.scalarText.flatMap({ Int($0) }),
              case .object(let services)? = root["services"] else { return nil }
        historyOffset = offset
        lastSequence = sequence
        for (key, value) in services.members {
            guard let service = Service(json: value) else { return nil }
            self.services[key] = service
        }
    }
}

extension WatchState.Service {
    /// The service's part of the snapshot: defaults are left out (a fleet's snapshot is written
    /// every cycle; a DynamoDB item is billed by its size).
    package func write(to json: inout JSONText) {
        json.object { json in
            json.key("versions")
            json.array { json in for version in versions { json.string(version) } }
            if let lastChange { json.member("lastChange", Timestamps.iso8601(lastChange, milliseconds: true)) }
            if let driftSince { json.member("driftSince", Timestamps.iso8601(driftSince, milliseconds: true)) }
            if reminders > 0 {
                json.key("reminders")
                json.number(reminders)
            }
            json.key("instances")
            json.object { json in
                for url in instances.keys.sorted() {
                    let instance = instances[url]!
                    json.key(url)
                    json.object { json in
                        json.member("version", instance.version)
                        if let revision = instance.revision { json.member("revision", revision) }
                        if instance.failures > 0 {
                            json.key("failures")
                            json.number(instance.failures)
                        }
                        if instance.unreachable {
                            json.key("unreachable")
                            json.bool(true)
                        }
                        if instance.drift {
                            json.key("drift")
                            json.bool(true)
                        }
                        if let lastError = instance.lastError { json.member("lastError", lastError) }
                    }
                }
            }
        }
    }

    package var json: String {
        var json = JSONText()
        write(to: &json)
        return json.text
    }

    package init?(json value: JSONValue) {
        guard case .object(let object) = value else { return nil }
        func date(_ value: JSONValue?) -> Date? { value?.stringValue.flatMap(Timestamps.parse) }
        self.init()
        versions = object["versions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        lastChange = date(object["lastChange"])
        driftSince = date(object["driftSince"])
        reminders = object["reminders"]?.scalarText.flatMap { Int($0) } ?? 0
        if case .object(let list)? = object["instances"] {
            for (url, item) in list.members {
                guard case .object(let fields) = item else { return nil }
                var instance = WatchState.Instance()
                instance.version = fields["version"]?.stringValue
                instance.revision = fields["revision"]?.stringValue
                instance.failures = fields["failures"]?.scalarText.flatMap { Int($0) } ?? 0
                instance.unreachable = fields["unreachable"]?.boolValue ?? false
                instance.drift = fields["drift"]?.boolValue ?? false
                instance.lastError = fields["lastError"]?.stringValue
                instances[url] = instance
            }
        }
    }
}
