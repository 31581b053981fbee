import DeployVerifyKit
import Foundation
import InfoEndpoint

/// One entry of the audit trail: something that happened to one instance of a service.
package struct WatchEvent: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        /// The baseline: an instance seen for the first time (no alert unless asked for).
        case firstSeen = "first-seen"
        /// An instance moved forward: to a version the service never ran, or newer than the one it left.
        case deployed
        /// An instance moved back to a version the service ran before, older than the one it left.
        case rolledBack = "rolled-back"
        /// An instance reports a version other than the expected one.
        case drift
        /// An instance could not be read `unreachableAfter` times in a row.
        case unreachable
        /// Drift or unreachability (see `problem`) has ended.
        case recovered
    }

    /// Position in the history file, from 1; assigned when appended.
    package var sequence: Int
    package var time: Date
    package var kind: Kind
    package var service: String
    package var environment: String
    /// The instance's URL (credentials masked).
    package var instance: String
    package var from: String?
    package var to: String?
    package var revision: String?
    package var expected: String?
    /// For `recovered`: `drift` or `unreachable`.
    package var problem: String?
    /// For `unreachable`: why the reads failed.
    package var detail: String?

    /// Set by stores that do not number events (DynamoDB: `checkout@production#42.1`, the
    /// service's 42nd recorded change, its first event).
    package var recordID: String?

    /// The event's identity, which its alert and the alert's idempotency keys carry: `evt-12`
    /// (the 12th line of a local history) or ``recordID``.
    package var id: String { recordID ?? "evt-\(sequence)" }

    package init(sequence: Int = 0, time: Date, kind: Kind, service: String, environment: String, instance: String,
                 from: String? = nil, to: String? = nil, revision: String? = nil, expected: String? = nil,
                 problem: String? = nil, detail: String? = nil) {
        self.sequence = sequence
        self.time = time
        self.kind = kind
        self.service = service
        self.environment = environment
        self.instance = instance
        self.from = from
        self.to = to
        self.revision = revision
        self.expected = expected
        self.problem = problem
        self.detail = detail
    }

    /// One JSON line; `service` comes early so that queries can skip lines before parsing them.
    package var jsonLine: String {
        var json = JSONText()
        json.object { json in
            if let recordID {
                json.member("id", recordID)
            } else {
                json.key("seq")
                json.number(sequence)
            }
            json.member("service", service)
            json.member("environment", environment)
            json.member("kind", kind.rawValue)
            json.member("time", Timestamps.iso8601(time, milliseconds: true))
            json.member("instance", instance)
            if let from { json.member("from", from) }
            if let to { json.member("to", to) }
            if let revision { json.member("revision", revision) }
            if let expected { json.member("expected", expected) }
            if let problem { json.member("problem", problem) }
            if let detail { json.member("detail", detail) }
        }
        return json.text
    }

    package init?(jsonLine bytes: some Collection<UInt8>) {
        guard case .object(let object)? = try? JSONParser().parse(Array(bytes)),
              let sequence = object["seq"]?.scalarText.flatMap({ Int($0) }) ?? (object["id"]?.stringValue != nil ? 0 : nil),
              let service = object["service"]?.stringValue, let environment = object["environment"]?.stringValue,
              let kind = object["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
              let time = object["time"]?.stringValue.flatMap(Timestamps.parse),
              let instance = object["instance"]?.stringValue else { return nil }
        self.init(sequence: sequence, time: time, kind: kind, service: service, environment: environment, instance: instance,
                  from: object["from"]?.stringValue, to: object["to"]?.stringValue, revision: object["revision"]?.stringValue,
                  expected: object["expected"]?.stringValue, problem: object["problem"]?.stringValue,
                  detail: object["detail"]?.stringValue)
        recordID = object["id"]?.stringValue
    }
}

/// What one read of one instance gave.
package struct InstanceReading: Sendable {
    /// The instance's URL, credentials masked: its identity in state and history.
    package var instance: String
    package var version: String?
    package var revision: String?
    /// `refused: connection refused by …` when it could not be read.
    package var failure: String?
}
