import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The watcher's state in one DynamoDB table (partition key `pk`, sort key `sk`, both strings),
/// shared by any number of watchers on any machines:
///
/// | item | `pk` | `sk` | what else |
/// | --- | --- | --- | --- |
/// | a service's last-seen state | `service#NAME@ENV` | `state` | `rev` (its recorded changes), `state` (JSON) |
/// | history: one cycle's events of a service | `history#NAME` | `TIME#ENV#REV` | `environment`, `kinds`, `events` (JSON lines) |
/// | an alert delivery waiting | `outbox` | the delivery id | `channel`, `alert` (JSON), `shardKey`, `queued`, `attempts`, `claimedBy`, `leaseUntil` |
/// | an alert delivery's record | `delivery#ID` | `delivery` | `state` (queued, delivered, failed), `attempts`, `status`, `detail`, `time` |
/// | a CodeDeploy deployment announced | `deployments` | `TIME#DEPLOYMENT_ID` (its completion) | `alert` (JSON) |
/// | documents (registrations …) | `doc#KIND` | the id | `text` |
///
/// A cycle reads the states of its services with `BatchGetItem` and writes only the services that
/// changed, each in a transaction that updates its state on condition that `rev` is what was read,
/// and adds its history item and its alerts' deliveries: two watchers that see the same change
/// record it once, and its alerts are queued once. A delivery is claimed (a lease on its outbox
/// item, taken with a conditional write) before it is sent and its outcome recorded after;
/// a claim whose watcher died expires and the delivery is sent again, with the same key.
///
/// A CodeDeploy deployment's alert is kept after its deliveries have left the outbox: queuing it
/// also writes a `deployments` item, once per deployment whatever its channels, which the status
/// page reads (``DynamoHistory/deployments(since:)``).
package final class DynamoWatchStore: WatchStore {
    package let table: DynamoDB
    /// `host:pid:random`: who holds a claim.
    package let watcherID: String
    /// How long a claim keeps other watchers off a delivery.
    package let lease: Duration
    private let known = Locked(Known())

    private struct Known {
        /// `rev` of each service as last read or written.
        var revisions: [String: Int] = [:]
        var state = WatchState()
        var reportedInDoubt: Set<String> = []
    }

    /// Events of one service and cycle kept in one history item, at most.
    static let eventsPerHistoryItem = 500
    /// Writes in one `TransactWriteItems` (DynamoDB's limit).
    static let transactionLimit = 100

    package init(client: AWSClient, table: String, lease: Duration) {
        self.table = DynamoDB(client: client, table: table)
        self.lease = lease
        let host = ProcessInfo.processInfo.hostName
        watcherID = "\(host):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Checks that the table exists with the key schema this store needs.
    package static func open(client: AWSClient, table: String, lease: Duration) async throws -> DynamoWatchStore {
        let store = DynamoWatchStore(client: client, table: table, lease: lease)
        try await store.check()
        return store
    }

    /// The table is there, active, keyed by `pk` and `sk`.
    package func check() async throws {
        let description: (status: String, keys: [String])
        do {
            description = try await table.describeTable()
        } catch {
            if error.code == "ResourceNotFoundException" {
                throw StoreError("\(name): no such table in \(table.client.region): create it with 'versioncheck state init \(name)'")
            }
            throw error
        }
        guard description.keys == ["pk HASH", "sk RANGE"] else {
            throw StoreError("\(name): the table's key schema is \(description.keys.joined(separator: ", ")); versioncheck needs pk (HASH, S) and sk (RANGE, S): give it a table of its own")
        }
    }

    /// Creates the table (on-demand billing) unless it exists; returns what was done.
    package static func initialize(client: AWSClient, table: String) async throws -> String {
        let database = DynamoDB(client: client, table: table)
        if try await database.createTable() {
            return "created table \(table) in \(client.region): partition key pk (S), sort key sk (S), on-demand billing"
        }
        let store = DynamoWatchStore(client: client, table: table, lease: .seconds(1))
        try await store.check()
        return "table \(table) in \(client.region) exists with the right keys: nothing to do"
    }

    package var name: String { "dynamodb://\(table.table)" }
    package var outbox: any DeliveryLog { self }
    package func takeNotes() -> [String] {
        notes.withLock { notes in
            defer { notes = [] }
            return notes
        }
    }
    package func close() {}

    static func stateKey(_ service: String) -> DynamoItem { ["pk": .string("service#\(service)"), "sk": .string("state")] }
    static func outboxKey(_ id: String) -> DynamoItem { ["pk": .string("outbox"), "sk": .string(id)] }
    static func recordKey(_ id: String) -> DynamoItem { ["pk": .string("delivery#\(id)"), "sk": .string("delivery")] }

    /// The item that keeps a CodeDeploy deployment's alert for the status page: sorted by the
    /// deployment's completion time (`2026-11-21T19:45:53.123Z#d-AB12CD34E`); nil for any other
    /// alert.
    static func deploymentItem(_ alert: Alert) -> DynamoItem? {
        guard alert.kind == .deployment else { return nil }
        let id = alert.deployment?.id ?? alert.id
        return ["pk": .string("deployments"), "sk": .string("\(Timestamps.iso8601(alert.time, milliseconds: true))#\(id)"),
                "alert": .string(alert.json)]
    }

    // MARK: State

    /// Nothing is replayed from a table (a change and its deliveries are one transaction).
    package func enqueueReplayed(_ deliveries: [Delivery]) async throws {
        _ = try await enqueue(deliveries)
    }

    package func state(of services: [WatchedService]) async throws -> (state: WatchState, unalerted: [WatchEvent]) {
        let items = try await table.batchGet(services.map { Self.stateKey($0.key) })
        var state = WatchState()
        var revisions: [String: Int] = [:]
        var unqueued: [(key: String, rev: Int, deliveries: [DynamoItem])] = []
        for item in items {
            guard let pk = item["pk"]?.stringValue, pk.hasPrefix("service#"), let rev = item["rev"]?.intValue,
                  let text = item["state"]?.stringValue,
                  let service = (try? JSONParser().parse(text)).flatMap({ WatchState.Service(json: $0) }) else { continue }
            let key = String(pk.dropFirst("service#".count))
            state.services[key] = service
            revisions[key] = rev
            if let list = item["unqueued"]?.stringValue, let parsed = try? JSONParser().parse(list), case .array(let entries) = parsed {
                unqueued.append((key, rev, entries.compactMap { DynamoDB.item($0) }))
            }
        }
        // Deliveries a watcher recorded but did not get into the outbox before it stopped (a change
        // with more alerts than one transaction holds): queued now, by whoever reads first.
        for entry in unqueued {
            try await queueOverflow(entry.deliveries, service: entry.key, rev: entry.rev)
        }
        known.withLock { known in
            known.revisions = revisions
            known.state = state
        }
        return (state, [])
    }

    /// One service's writes in a cycle: its state on condition, its history, its deliveries.
    struct Group: Sendable {
        var key: String
        var rev: Int
        var events: [WatchEvent]
        var state: WatchState.Service
        var writes: [DynamoTransactItem]
        var overflow: [DynamoItem]
        var deliveries: Int
    }

    package func record(_ changes: [ServiceChange],
                        deliveries: @Sendable (ServiceChange, [WatchEvent]) -> [Delivery]) async throws -> RecordedCycle {
        var recorded = RecordedCycle()
        let revisions = known.current.revisions
        var groups: [Group] = []
        let now = Date()
        let writer = "\(watcherID)#\(UInt64(now.timeIntervalSince1970 * 1000))"
        for change in changes {
            let key = change.service.key
            let previous = revisions[key]
            let rev = (previous ?? 0) + 1
            var events = change.events
            for index in events.indices { events[index].recordID = "\(key)#\(rev).\(index + 1)" }
            let queue = deliveries(change, events)
            var stateItem: DynamoItem = Self.stateKey(key)
            stateItem["rev"] = .number(rev)
            stateItem["state"] = .string(change.state.json)
            stateItem["service"] = .string(change.service.name)
            stateItem["environment"] = .string(change.service.environment)
            stateItem["updated"] = .string(Timestamps.iso8601(now, milliseconds: true))
            stateItem["writer"] = .string(writer)
            var writes: [DynamoTransactItem] = []
            var historyWrites: [DynamoTransactItem] = []
            for (chunk, start) in stride(from: 0, to: events.count, by: Self.eventsPerHistoryItem).enumerated() {
                let part = events[start..<min(start + Self.eventsPerHistoryItem, events.count)]
                historyWrites.append(.put(item: Self.historyItem(part, service: change.service, rev: rev, chunk: chunk), condition: nil))
            }
            var outboxWrites: [DynamoTransactItem] = []
            for (index, delivery) in queue.enumerated() {
                outboxWrites += Self.queueWrites(delivery, shardKey: key, queued: now, order: index)
            }
            let room = Self.transactionLimit - 1 - historyWrites.count
            var overflow: [DynamoItem] = []
            if outboxWrites.count > room {
                // More alerts than one transaction holds: the rest is written after it, and kept
                // in the state item until then.
                let fitting = max(0, room / 2)
                overflow = queue[fitting...].enumerated().map { Self.outboxItem($1, shardKey: key, queued: now, order: fitting + $0) }
                outboxWrites = Array(outboxWrites.prefix(fitting * 2))
                var list = JSONText()
                list.array { json in for item in overflow { DynamoDB.write(item, to: &json) } }
                stateItem["unqueued"] = .string(list.text)
            }
            let condition = previous.map { DynamoCondition("#rev = :rev", names: ["#rev": "rev"], values: [":rev": .number($0)]) }
                ?? DynamoCondition("attribute_not_exists(pk)")
            writes.append(.put(item: stateItem, condition: condition))
            writes += historyWrites + outboxWrites
            groups.append(Group(key: key, rev: rev, events: events, state: change.state, writes: writes, overflow: overflow,
                                deliveries: queue.count))
        }

        // A service seen for the first time whose change alerts nobody (first-seen events only, the
        // common case of a first cycle): its state is created by a conditional PutItem and its
        // history written in batches after. The rest: transactions of at most 100 writes.
        let isSimple = { (group: Group) in group.rev == 1 && group.deliveries == 0 && group.overflow.isEmpty && group.writes.count <= 2 }
        var won: [Group] = []
        var lost: [Group] = []
        let simple = groups.filter(isSimple)
        if !simple.isEmpty {
            let outcomes = try await createStates(simple)
            won += outcomes.won
            lost += outcomes.lost
            // History after the state: a watcher killed in between leaves a new service's
            // first-seen events out of its history (its state is kept; nothing is alerted).
            try await table.batchWrite(puts: outcomes.won.flatMap { group in
                group.writes.dropFirst().compactMap { write -> DynamoItem? in
                    if case .put(let item, _) = write { return item }
                    return nil
                }
            })
        }
        var remaining = groups.filter { !isSimple($0) }
        while !remaining.isEmpty {
            var batch: [Group] = []
            var size = 0
            while let next = remaining.first, batch.isEmpty || size + next.writes.count <= Self.transactionLimit {
                batch.append(next)
                size += next.writes.count
                remaining.removeFirst()
            }
            let failure: AWSError?
            do {
                try await table.transactWrite(batch.flatMap(\.writes), token: Self.token(writer, batch.map(\.key)))
                failure = nil
            } catch {
                failure = error
            }
            if let failure {
                guard let reasons = DynamoDB.cancellationReasons(failure) else { throw failure }
                var index = 0
                var retry: [Group] = []
                var conflicted: [Group] = []
                for group in batch {
                    if index < reasons.count && reasons[index] == "ConditionalCheckFailed" { conflicted.append(group) } else { retry.append(group) }
                    index += group.writes.count
                }
                guard retry.count < batch.count else { throw failure }
                remaining = retry + remaining
                // A failed condition is another watcher's write, or this watcher's own when an
                // earlier attempt of the same request went through but its answer was lost.
                let mine = try await ownWrites(conflicted)
                won += conflicted.filter { mine.contains($0.key) }
                lost += conflicted.filter { !mine.contains($0.key) }
            } else {
                won += batch
            }
        }
        recorded.lostRaces = lost.map(\.key)
        for group in won where !group.overflow.isEmpty {
            try await queueOverflow(group.overflow, service: group.key, rev: group.rev)
        }
        let state = known.withLock { known -> WatchState in
            for group in won {
                known.revisions[group.key] = group.rev
                known.state.services[group.key] = group.state
            }
            return known.state
        }
        recorded.events = won.flatMap(\.events)
        recorded.queued = won.reduce(0) { $0 + $1.deliveries }
        recorded.state = state
        return recorded
    }

    /// Creates the state items of services seen for the first time, each on condition that it
    /// does not exist, 16 at a time.
    private func createStates(_ groups: [Group]) async throws -> (won: [Group], lost: [Group]) {
        var won: [Group] = [], conflicted: [Group] = []
        try await withThrowingTaskGroup(of: (Group, Bool).self) { tasks in
            var next = 0
            func start() {
                guard next < groups.count else { return }
                let group = groups[next]
                next += 1
                tasks.addTask { [table] in
                    guard case .put(let item, let condition)? = group.writes.first else { return (group, true) }
                    do {
                        try await table.putItem(item, condition: condition)
                        return (group, true)
                    } catch let error as AWSError where DynamoDB.isConditionFailure(error) {
                        return (group, false)
                    }
                }
            }
            for _ in 0..<16 { start() }
            while let (group, created) = try await tasks.next() {
                if created { won.append(group) } else { conflicted.append(group) }
                start()
            }
        }
        let mine = try await ownWrites(conflicted)
        return (won + conflicted.filter { mine.contains($0.key) }, conflicted.filter { !mine.contains($0.key) })
    }

    /// Which of these services' state items this cycle wrote (`writer`), for conditions that
    /// failed on a retried request whose first attempt had gone through.
    private func ownWrites(_ groups: [Group]) async throws -> Set<String> {
        guard !groups.isEmpty else { return [] }
        let items = try await table.batchGet(groups.map { Self.stateKey($0.key) })
        var mine: Set<String> = []
        for item in items {
            guard let pk = item["pk"]?.stringValue, pk.hasPrefix("service#") else { continue }
            let key = String(pk.dropFirst("service#".count))
            guard let group = groups.first(where: { $0.key == key }), case .put(let written, _)? = group.writes.first else { continue }
            if item["writer"] == written["writer"], item["rev"] == written["rev"] { mine.insert(key) }
        }
        return mine
    }

    /// The idempotency token of a transaction (`ClientRequestToken`): DynamoDB applies a request
    /// retried with it once. Unique per cycle and set of services.
    static func token(_ writer: String, _ keys: [String]) -> String {
        var hash = SHA256()
        hash.update(Array(writer.utf8))
        for key in keys { hash.update(Array("\n\(key)".utf8)) }
        return String(hash.finalize().hexString.prefix(36))
    }

    /// Writes deliveries that did not fit in their service's transaction, then clears them
    /// from the state item (if it is still at that revision).
    private func queueOverflow(_ items: [DynamoItem], service: String, rev: Int) async throws {
        for item in items {
            guard let id = item["sk"]?.stringValue else { continue }
            var record = Self.recordKey(id)
            record["state"] = .string("queued")
            _ = try await queueOnce([
                .put(item: record, condition: DynamoCondition("attribute_not_exists(pk)")),
                .put(item: item, condition: DynamoCondition("attribute_not_exists(pk)")),
            ])
        }
        do {
            try await table.updateItem(Self.stateKey(service), update: "REMOVE unqueued", condition: "#rev = :rev",
                                       names: ["#rev": "rev"], values: [":rev": .number(rev)])
        } catch {
            // A failed condition: changed since, and whoever changed it read and cleared the list.
            if !DynamoDB.isConditionFailure(error) { throw error }
        }
    }

    /// Writes a delivery's record and outbox item, both on condition that they do not exist.
    /// False when it was queued before (a condition failed); a transaction that conflicted with
    /// another one on the same items is tried again.
    private func queueOnce(_ writes: [DynamoTransactItem]) async throws -> Bool {
        try await queueOnce(writes, extra: nil).queued
    }

    /// The same, with an `extra` conditional write in the transaction (a deployment's item) that
    /// may fail its condition without keeping the delivery out: the transaction is then written
    /// without it. `extraSettled`: the extra item was written, or exists already.
    private func queueOnce(_ writes: [DynamoTransactItem], extra: DynamoTransactItem?) async throws
        -> (queued: Bool, extraSettled: Bool) {
        var extra = extra
        var attempt = 0
        var settled = false
        while true {
            attempt += 1
            let failure: AWSError
            do {
                try await table.transactWrite(writes + (extra.map { [$0] } ?? []))
                return (true, true)
            } catch {
                failure = error
            }
            guard let reasons = DynamoDB.cancellationReasons(failure) else { throw failure }
            let queuedBefore = reasons.prefix(writes.count).contains("ConditionalCheckFailed")
            if extra != nil, reasons.dropFirst(writes.count).contains("ConditionalCheckFailed") {
                // The deployment's item exists (another channel's or another watcher's write).
                settled = true
                extra = nil
                if !queuedBefore { continue }
            }
            if queuedBefore { return (false, settled) }
            guard attempt < 5 else { throw failure }
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...100) * attempt))
        }
    }

    static func historyItem(_ events: ArraySlice<WatchEvent>, service: WatchedService, rev: Int, chunk: Int) -> DynamoItem {
        let time = events.first.map { Timestamps.iso8601($0.time, milliseconds: true) } ?? ""
        return [
            "pk": .string("history#\(service.name)"),
            "sk": .string("\(time)#\(service.environment)#\(rev)" + (chunk > 0 ? ".\(chunk)" : "")),
            "environment": .string(service.environment),
            "kinds": .string(Set(events.map(\.kind.rawValue)).sorted().joined(separator: " ")),
            "events": .string(events.map(\.jsonLine).joined(separator: "\n")),
        ]
    }

    static func outboxItem(_ delivery: Delivery, shardKey: String, queued: Date, order: Int) -> DynamoItem {
        [
            "pk": .string("outbox"), "sk": .string(delivery.id), "channel": .string(delivery.channel),
            "alert": .string(delivery.alert.json), "shardKey": .string(shardKey),
            "queued": .number(Int(queued.timeIntervalSince1970 * 1000)), "order": .number(order), "attempts": .number(0),
        ]
    }

    /// The record (claimed once ever) and the outbox item of a new delivery.
    static func queueWrites(_ delivery: Delivery, shardKey: String, queued: Date, order: Int) -> [DynamoTransactItem] {
        var record = recordKey(delivery.id)
        record["state"] = .string("queued")
        record["time"] = .string(Timestamps.iso8601(queued, milliseconds: true))
        return [
            .put(item: record, condition: DynamoCondition("attribute_not_exists(pk)")),
            .put(item: outboxItem(delivery, shardKey: shardKey, queued: queued, order: order), condition: DynamoCondition("attribute_not_exists(pk)")),
        ]
    }

    // MARK: The outbox

    /// Queues each delivery once. A deployment alert's `deployments` item goes into the
    /// transaction of its first channel's delivery (on condition that it does not exist; if it
    /// does, the delivery is queued without it), and of the next channel's when that one was
    /// queued before; when every channel was, it is written on its own.
    package func enqueue(_ deliveries: [Delivery]) async throws -> [Delivery] {
        var queued: [Delivery] = []
        let now = Date()
        var settled: Set<String> = []
        var unsettled: [String: DynamoItem] = [:]
        for (index, delivery) in deliveries.enumerated() {
            let shardKey = "\(delivery.alert.service)@\(delivery.alert.environment)"
            let writes = Self.queueWrites(delivery, shardKey: shardKey, queued: now, order: index)
            var extra: DynamoTransactItem?
            if !settled.contains(delivery.alert.id), let item = Self.deploymentItem(delivery.alert) {
                extra = .put(item: item, condition: DynamoCondition("attribute_not_exists(pk)"))
                unsettled[delivery.alert.id] = item
            }
            let outcome = try await queueOnce(writes, extra: extra)
            if outcome.queued { queued.append(delivery) }
            if extra != nil, outcome.extraSettled {
                settled.insert(delivery.alert.id)
                unsettled[delivery.alert.id] = nil
            }
        }
        for item in unsettled.values {
            do {
                try await table.putItem(item, condition: DynamoCondition("attribute_not_exists(pk)"))
            } catch {
                if !DynamoDB.isConditionFailure(error) { throw error }
            }
        }
        return queued
    }

    package func pending(shard: Shard?) async throws -> [Delivery] {
        let items = try await table.query(keyCondition: "pk = :pk", values: [":pk": .string("outbox")], consistent: true)
        let now = Int(Date().timeIntervalSince1970 * 1000)
        var pending: [(queued: Int, order: Int, delivery: Delivery)] = []
        var inDoubt: [String] = []
        var heldUntil: Int?
        for item in items {
            guard let id = item["sk"]?.stringValue, let channel = item["channel"]?.stringValue,
                  let text = item["alert"]?.stringValue, let parsed = try? JSONParser().parse(text),
                  let alert = Alert(json: parsed) else { continue }
            if let shard, let key = item["shardKey"]?.stringValue, !shard.contains(key: key) { continue }
            if item["claimedBy"] != nil, let until = item["leaseUntil"]?.intValue {
                if until < now { inDoubt.append(id) } else { heldUntil = min(heldUntil ?? until, until) }
            }
            pending.append((item["queued"]?.intValue ?? 0, item["order"]?.intValue ?? 0,
                            Delivery(id: id, channel: channel, alert: alert, attempts: item["attempts"]?.intValue ?? 0)))
        }
        held.withLock { $0 = heldUntil.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
        let fresh = known.withLock { known -> [String] in
            let fresh = inDoubt.filter { !known.reportedInDoubt.contains($0) }
            known.reportedInDoubt.formUnion(fresh)
            return fresh
        }
        if !fresh.isEmpty {
            notes.withLock {
                $0.append("\(fresh.count) alert\(fresh.count == 1 ? " was" : "s were") being sent by a watcher that stopped: "
                    + "sent again with the same Idempotency-Key (a receiver that honours it drops the repeat)")
            }
        }
        return pending.sorted { ($0.queued, $0.order, $0.delivery.id) < ($1.queued, $1.order, $1.delivery.id) }.map(\.delivery)
    }

    /// Messages gathered while reading the outbox, taken by the watcher's log.
    private let notes = Locked<[String]>([])

    package var claimsHeldUntil: Date? { held.current }
    private let held = Locked<Date?>(nil)

    // MARK: Documents

    package func documents(_ kind: String) async throws -> [String: String] {
        let items = try await table.query(keyCondition: "pk = :pk", values: [":pk": .string("doc#\(kind)")], consistent: true)
        var documents: [String: String] = [:]
        for item in items {
            if let id = item["sk"]?.stringValue, let text = item["text"]?.stringValue { documents[id] = text }
        }
        return documents
    }

    package func putDocument(_ kind: String, id: String, _ text: String) async throws {
        try await table.putItem(["pk": .string("doc#\(kind)"), "sk": .string(id), "text": .string(text)])
    }

    package func deleteDocument(_ kind: String, id: String) async throws -> Bool {
        do {
            try await table.deleteItem(["pk": .string("doc#\(kind)"), "sk": .string(id)], condition: DynamoCondition("attribute_exists(pk)"))
            return true
        } catch {
            if DynamoDB.isConditionFailure(error) { return false }
            throw error
        }
    }
}

extension DynamoWatchStore: DeliveryLog {
    package func claim(_ id: String, attempt: Int) async -> Bool {
        let now = Int(Date().timeIntervalSince1970 * 1000)
        let until = now + Int(lease.seconds * 1000)
        do {
            try await table.updateItem(Self.outboxKey(id), update: "SET claimedBy = :me, leaseUntil = :until, attempts = :attempt",
                                       condition: "attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
                                       values: [":me": .string(watcherID), ":until": .number(until), ":attempt": .number(attempt),
                                                ":now": .number(now)])
            return true
        } catch {
            return false
        }
    }

    package func recordAttempts(_ id: String, attempts: Int) async {
        _ = try? await table.updateItem(Self.outboxKey(id), update: "SET attempts = :n REMOVE claimedBy, leaseUntil",
                                        condition: "claimedBy = :me", values: [":n": .number(attempts), ":me": .string(watcherID)])
    }

    package func finish(_ id: String, state: String, attempts: Int, status: Int?, detail: String?) async {
        var record = Self.recordKey(id)
        record["state"] = .string(state)
        record["attempts"] = .number(attempts)
        if let status { record["status"] = .number(status) }
        if let detail { record["detail"] = .string(detail) }
        record["time"] = .string(Timestamps.iso8601(Date(), milliseconds: true))
        record["watcher"] = .string(watcherID)
        // If this fails the lease runs out and the delivery is sent again: at least once.
        try? await table.batchWrite(puts: [record], deletes: [Self.outboxKey(id)])
    }
}

/// The audit trail of a DynamoDB store, for `versioncheck history --state dynamodb://TABLE`: one
/// `Query` for a service (`history#NAME`, sort keys from `--since` on), a `Scan` for all of them.
/// And the CodeDeploy deployments announced, for the status page.
package struct DynamoHistory: Sendable {
    package let table: DynamoDB

    package init(table: DynamoDB) {
        self.table = table
    }

    /// The deployment alerts of the `deployments` items that completed at `since` or later (all
    /// of them without it), oldest first: one `Query`.
    package func deployments(since: Date?) async throws -> [Alert] {
        var condition = "pk = :pk"
        var values: DynamoItem = [":pk": .string("deployments")]
        if let since {
            condition += " AND sk >= :since"
            values[":since"] = .string(Timestamps.iso8601(since, milliseconds: true))
        }
        return try await table.query(keyCondition: condition, values: values).compactMap { item in
            guard let text = item["alert"]?.stringValue, let parsed = try? JSONParser().parse(text),
                  let alert = Alert(json: parsed), alert.kind == .deployment else { return nil }
            return alert
        }
    }

    /// The events matching the filter, oldest first.
    package func events(service: String?, environment: String?, since: Date?) async throws -> [WatchEvent] {
        var values: DynamoItem = [:]
        var filters: [String] = []
        if let environment {
            filters.append("environment = :env")
            values[":env"] = .string(environment)
        }
        let sinceText = since.map { Timestamps.iso8601($0, milliseconds: true) }
        let items: [DynamoItem]
        if let service {
            var condition = "pk = :pk"
            values[":pk"] = .string("history#\(service)")
            if let sinceText {
                condition += " AND sk >= :since"
                values[":since"] = .string(sinceText)
            }
            items = try await table.query(keyCondition: condition, values: values,
                                          filter: filters.isEmpty ? nil : filters.joined(separator: " AND "))
        } else {
            filters.insert("begins_with(pk, :history)", at: 0)
            values[":history"] = .string("history#")
            if let sinceText {
                filters.append("sk >= :since")
                values[":since"] = .string(sinceText)
            }
            items = try await table.scan(filter: filters.joined(separator: " AND "), values: values)
        }
        var events: [WatchEvent] = []
        for item in items {
            for line in item["events"]?.stringValue?.split(separator: "\n") ?? [] {
                if let event = WatchEvent(jsonLine: Array(line.utf8)) { events.append(event) }
            }
        }
        return events.sorted { ($0.time, $0.service, $0.environment, $0.id) < ($1.time, $1.service, $1.environment, $1.id) }
    }
}
