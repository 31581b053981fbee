import DeployVerifyKit
import Foundation

/// Where a watcher keeps what it knows: the version history (the audit trail), the last-seen state
/// of every instance, and the alert outbox. Two kinds: a local state directory
/// (``LocalWatchStore``, one watcher at a time) and a DynamoDB table (``DynamoWatchStore``, shared
/// by any number of watchers, on any machines, with or without shards).
///
/// Crash safety is each store's own business: whatever it returns from ``record(_:deliveries:)``
/// is on record, and every alert of a recorded event is queued exactly once.
package protocol WatchStore: AnyObject, Sendable {
    /// `versioncheck-state` or `dynamodb://table`, for messages.
    var name: String { get }

    /// The recorded state of these services, read for a cycle to compare with. Events that were
    /// recorded without their alerts being queued (a crash in between) come back in
    /// `unalerted`: the watcher queues their alerts now.
    func state(of services: [WatchedService]) async throws -> (state: WatchState, unalerted: [WatchEvent])

    /// Records a cycle: each service's new state and events, and the deliveries of their alerts,
    /// made by `deliveries` once the events have their ids. A service whose state another
    /// watcher changed since it was read is not recorded (nor alerted: the other watcher was
    /// first); it is compared again next cycle. Returns the events recorded, with their ids,
    /// and how many deliveries were queued.
    func record(_ changes: [ServiceChange],
                deliveries: @Sendable (ServiceChange, [WatchEvent]) -> [Delivery]) async throws -> RecordedCycle

    /// Queues deliveries that are not tied to a service's state (CodeDeploy notifications,
    /// replayed alerts): each id is queued once ever, whoever tries again. Returns those queued now.
    func enqueue(_ deliveries: [Delivery]) async throws -> [Delivery]

    /// Queues the alerts of the `unalerted` events of ``state(of:)``, as ``enqueue(_:)`` does; a
    /// store that replayed those events from its history records only now that they are covered
    /// (recorded before, a crash in between would lose their alerts).
    func enqueueReplayed(_ deliveries: [Delivery]) async throws

    /// Deliveries waiting to be sent (for `shard`'s services only, when given), oldest first.
    func pending(shard: Shard?) async throws -> [Delivery]

    /// When the first of the claims other watchers hold on those deliveries runs out, as the last
    /// ``pending(shard:)`` found them; nil when none is held (a local directory: never). Until
    /// then they are not this watcher's to send; after it, they are (their watcher may have died).
    var claimsHeldUntil: Date? { get }

    /// How each attempt of a delivery is claimed and ended.
    var outbox: any DeliveryLog { get }

    /// Things to tell the user, once each, taken by the watcher's log: a repaired file, alerts
    /// that were on the wire when a watcher stopped.
    func takeNotes() -> [String]

    /// Named documents kept with the state (CodeDeploy registrations added through the API,
    /// pollers' watermarks): `kind` groups them.
    func documents(_ kind: String) async throws -> [String: String]
    func putDocument(_ kind: String, id: String, _ text: String) async throws
    /// Returns whether it existed.
    func deleteDocument(_ kind: String, id: String) async throws -> Bool

    /// Lets another watcher use the store (local directory: releases the lock).
    func close()
}

/// How one service came out of a cycle.
package struct ServiceChange: Sendable {
    package var service: WatchedService
    /// As read for this cycle (nil: never seen).
    package var previous: WatchState.Service?
    package var state: WatchState.Service
    /// In order; their ids are given when they are recorded.
    package var events: [WatchEvent]
    /// A drift reminder due this cycle.
    package var reminder: Alert?

    package init(service: WatchedService, previous: WatchState.Service?, state: WatchState.Service, events: [WatchEvent], reminder: Alert?) {
        self.service = service
        self.previous = previous
        self.state = state
        self.events = events
        self.reminder = reminder
    }

    /// Whether anything needs writing.
    package var isChanged: Bool { !events.isEmpty || reminder != nil || previous != state }
}

/// What ``WatchStore/record(_:deliveries:)`` did.
package struct RecordedCycle: Sendable {
    package var events: [WatchEvent] = []
    package var queued = 0
    /// `checkout@production` entries another watcher recorded first.
    package var lostRaces: [String] = []
    /// The state now recorded.
    package var state = WatchState()

    package init() {}
}

/// The outbox as the deliverer uses it.
package protocol DeliveryLog: Sendable {
    /// Claims an attempt just before its request goes out. False: another watcher holds this
    /// delivery or has ended it, or the claim could not be recorded: do not send it now.
    func claim(_ id: String, attempt: Int) async -> Bool
    /// The attempts made so far on a delivery that stays pending (an error answer came).
    func recordAttempts(_ id: String, attempts: Int) async
    /// How a delivery ended: `delivered`, or `failed` for good.
    func finish(_ id: String, state: String, attempts: Int, status: Int?, detail: String?) async
}

/// A store named on the command line: a directory, or `dynamodb://TABLE`.
package enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case directory(String)
    case dynamoDB(table: String)

    /// `dynamodb://TABLE` or a path.
    package init(_ text: String) throws(UsageError) {
        if text.hasPrefix("dynamodb://") {
            let table = String(text.dropFirst("dynamodb://".count))
            // DynamoDB table names: 3–255 of [a-zA-Z0-9_.-].
            guard (3...255).contains(table.count), table.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
                throw UsageError("--state: '\(text)' is not dynamodb://TABLE with a table name of 3 to 255 letters, digits, '_', '.' or '-'")
            }
            self = .dynamoDB(table: table)
        } else if text.contains("://") {
            throw UsageError("--state: '\(text)' is neither a directory nor dynamodb://TABLE")
        } else {
            self = .directory(text)
        }
    }

    package var description: String {
        switch self {
        case .directory(let path): path
        case .dynamoDB(let table): "dynamodb://\(table)"
        }
    }
}
