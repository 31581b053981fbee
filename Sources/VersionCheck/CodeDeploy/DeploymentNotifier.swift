import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What one poll of CodeDeploy did.
package struct DeploymentPoll: Sendable {
    /// Registrations polled.
    package var registrations = 0
    /// Deployments announced this poll, each with the channels it was queued for.
    package var notified: [(alert: Alert, channels: [String])] = []
    /// Deliveries queued.
    package var queued = 0
}

/// Announces the ends of CodeDeploy deployments of registered applications, once per deployment
/// and channel, whoever polls (restarts and watchers sharing a DynamoDB table included).
///
/// Each poll lists the deployments created within the lookback window (by group, only those in
/// a final status a registration wants), fetches the ones this process has not handled yet, and
/// queues one delivery per channel with the id `codedeploy-<deployment id>:<channel>`: the store
/// queues an id once ever, so a deployment seen again is never announced again. A deployment
/// seen while it runs is not listed until it ends, and is announced then (it is still in the
/// window). The baseline: deployments that ended before a registration's watermark (its first
/// poll, or its creation through the API) are not announced.
package final class DeploymentNotifier: Sendable {
    /// Document kinds in the store.
    package static let registrationKind = "codedeploy-registration"
    package static let watermarkKind = "codedeploy-watermark"

    package let manifest: Manifest
    package let store: any WatchStore
    package let client: AWSClient
    package let shard: Shard?
    private let log: @Sendable (String) -> Void
    /// Deployments this process has decided on (announced, found announced, or not wanted): not
    /// fetched again while they stay in the window.
    private let handled = Locked<Set<String>>([])
    /// Things said once per process (a registration naming a channel the manifest lacks).
    private let warned = Locked<Set<String>>([])
    /// CodeDeploy calls made at once.
    static let concurrency = 8

    package init(manifest: Manifest, store: any WatchStore, client: AWSClient, shard: Shard?, log: @escaping @Sendable (String) -> Void) {
        self.manifest = manifest
        self.store = store
        self.client = client
        self.shard = shard
        self.log = log
    }

    /// The manifest's registrations, then those added through the API in the order they were
    /// added (a stored one with a manifest one's id is ignored). Throws when the store cannot be read.
    package static func registrations(manifest: Manifest, store: any WatchStore) async throws -> [CodeDeployRegistration] {
        var registrations = manifest.codeDeploy.registrations
        let manifestIDs = Set(registrations.map(\.id))
        let stored = try await store.documents(registrationKind)
        var added: [CodeDeployRegistration] = []
        for (id, text) in stored where !manifestIDs.contains(id) {
            guard var registration = CodeDeployRegistration(stored: text) else { continue }
            registration.id = id
            added.append(registration)
        }
        registrations += added.sorted { ($0.created ?? .distantPast, $0.id) < ($1.created ?? .distantPast, $1.id) }
        return registrations
    }

    /// One poll: never throws; each failing call is one line of the log, and the rest goes on.
    package func poll(now: Date = Date()) async -> DeploymentPoll {
        var report = DeploymentPoll()
        var registrations: [CodeDeployRegistration]
        do {
            registrations = try await Self.registrations(manifest: manifest, store: store)
        } catch {
            log("codedeploy: cannot read the registrations of \(store.name): \(error)")
            registrations = manifest.codeDeploy.registrations
        }
        if let shard { registrations = registrations.filter { shard.contains(key: "codedeploy/\($0.id)") } }
        guard !registrations.isEmpty else { return report }

        // Watermarks: a registration polled for the first time gets one now.
        var watermarks: [String: Date] = [:]
        do {
            for (id, text) in try await store.documents(Self.watermarkKind) {
                if let date = (try? JSONParser().parse(text))?["firstPoll"]?.stringValue.flatMap(CodeDeployDeployment.time) { watermarks[id] = date }
            }
        } catch {
            log("codedeploy: cannot read the watermarks of \(store.name) (no deployment announced this cycle): \(error)")
            return report
        }
        for registration in registrations where watermarks[registration.id] == nil {
            let mark = registration.created ?? now
            do {
                try await store.putDocument(Self.watermarkKind, id: registration.id, Self.watermarkJSON(mark))
                watermarks[registration.id] = mark
            } catch {
                log("codedeploy: registration \(registration.id): cannot record its first poll in \(store.name): \(error)")
            }
        }
        registrations = registrations.filter { watermarks[$0.id] != nil }
        report.registrations = registrations.count

        // The groups of applications registered without a list of them.
        let listAll = Set(registrations.filter { $0.deploymentGroups == nil }.map(\.application)).sorted()
        let listed = await concurrently(listAll) { [client] application -> [String]? in
            do throws(AWSError) {
                return try await client.listDeploymentGroups(application: application)
            } catch {
                self.complain(error, about: "application \(application)", action: "ListDeploymentGroups")
                return nil
            }
        }
        var groupsOf: [String: [String]] = [:]
        for (application, groups) in zip(listAll, listed) { if let groups { groupsOf[application] = groups } }

        // Each application and group once, with the statuses any registration of it wants.
        struct Target: Hashable, Comparable {
            var application: String
            var group: String
            static func < (lhs: Target, rhs: Target) -> Bool { (lhs.application, lhs.group) < (rhs.application, rhs.group) }
        }
        var statuses: [Target: Set<String>] = [:]
        for registration in registrations {
            var wanted = registration.outcomes
            // PagerDuty resolves the group's incident on a success, whatever the outcomes.
            if registration.notify.contains(where: { manifest.channels[$0]?.kind == .pagerduty }) { wanted.insert(.succeeded) }
            for group in registration.deploymentGroups ?? groupsOf[registration.application] ?? [] {
                statuses[Target(application: registration.application, group: group), default: []].formUnion(wanted.map(\.status))
            }
        }
        let targets = statuses.keys.sorted()
        let after = now - manifest.codeDeploy.lookback.seconds
        let lists = await concurrently(targets) { [client, statuses] target -> [String]? in
            do throws(AWSError) {
                return try await client.listDeployments(application: target.application, group: target.group, createdAfter: after,
                                                        statuses: (statuses[target] ?? []).sorted())
            } catch {
                self.complain(error, about: "\(target.application)/\(target.group)", action: "ListDeployments")
                return nil
            }
        }
        var listedIDs: [String] = []
        for ids in lists { for id in ids ?? [] where !listedIDs.contains(id) { listedIDs.append(id) } }
        let fresh = handled.withLock { handled in
            // Only deployments still in the window are remembered.
            handled.formIntersection(listedIDs)
            return listedIDs.filter { !handled.contains($0) }
        }
        guard !fresh.isEmpty else { return report }
        let deployments: [CodeDeployDeployment]
        do throws(AWSError) {
            deployments = try await client.batchGetDeployments(fresh)
        } catch {
            complain(error, about: "\(fresh.count) deployment\(fresh.count == 1 ? "" : "s")", action: "BatchGetDeployments")
            return report
        }

        // One delivery per deployment and channel, in the order the deployments ended.
        var deliveries: [Delivery] = []
        var announced: [(alert: Alert, channels: [String])] = []
        let ordered = deployments.filter(\.isTerminal).sorted {
            ($0.completeTime ?? $0.createTime ?? now, $0.id) < ($1.completeTime ?? $1.createTime ?? now, $1.id)
        }
        for deployment in ordered {
            guard let outcome = deployment.outcome else { continue }
            let alert = Alert.deployment(deployment, now: now)
            let ended = deployment.completeTime ?? deployment.createTime ?? now
            var channels: [String] = []
            for registration in registrations where registration.application == deployment.application
                && (registration.deploymentGroups?.contains(deployment.group) ?? true) {
                guard let mark = watermarks[registration.id], ended >= mark else { continue } // the baseline
                for name in registration.notify where !channels.contains(name) {
                    guard let channel = manifest.channels[name] else {
                        warnOnce("\(registration.id)|\(name)", "codedeploy: registration \(registration.id) names the channel '\(name)', which the manifest does not define: not notified")
                        continue
                    }
                    let wanted = registration.outcomes.contains(outcome) || (channel.kind == .pagerduty && outcome == .succeeded)
                    if wanted, AlertRenderer.wants(channel, alert, settings: manifest.settings) { channels.append(name) }
                }
            }
            guard !channels.isEmpty else { continue }
            deliveries += channels.map { Delivery(id: "\(alert.id):\($0)", channel: $0, alert: alert) }
            announced.append((alert, channels))
        }
        let queued: [Delivery]
        do {
            queued = try await store.enqueue(deliveries)
        } catch {
            log("codedeploy: cannot queue \(deliveries.count) deployment notification\(deliveries.count == 1 ? "" : "s") in \(store.name): \(error)")
            return report
        }
        let decided = deployments.filter(\.isTerminal).map(\.id)
        handled.withLock { $0.formUnion(decided) }
        let queuedIDs = Set(queued.map(\.id))
        report.queued = queued.count
        report.notified = announced.compactMap { entry in
            let channels = entry.channels.filter { queuedIDs.contains("\(entry.alert.id):\($0)") }
            return channels.isEmpty ? nil : (entry.alert, channels)
        }
        return report
    }

    /// `{"firstPoll":"2026-11-21T22:09:27.412Z"}`.
    package static func watermarkJSON(_ date: Date) -> String {
        var json = JSONText()
        json.object { json in json.member("firstPoll", Timestamps.iso8601(date, milliseconds: true)) }
        return json.text
    }

    /// One line for a failed call; an access problem names the permission the identity lacks.
    private func complain(_ error: AWSError, about subject: String, action: String) {
        var line = "codedeploy: \(subject): \(error.description)"
        if error.kind == .service, error.isAccessProblem {
            line += " (the watcher's AWS identity needs codedeploy:\(action))"
        } else if error.code == "ApplicationDoesNotExistException" || error.code == "DeploymentGroupDoesNotExistException" {
            line += " (in \(client.region))"
        }
        log(line)
    }

    private func warnOnce(_ key: String, _ message: String) {
        if warned.withLock({ $0.insert(key).inserted }) { log(message) }
    }

    /// `work` on each item, at most ``concurrency`` at a time; results in the items' order.
    private func concurrently<Item: Sendable, Result: Sendable>(_ items: [Item], _ work: @escaping @Sendable (Item) async -> Result) async -> [Result] {
        await withTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: items.count)
            var next = 0
            for _ in 0..<min(Self.concurrency, items.count) {
                let index = next, item = items[index]
                group.addTask { (index, await work(item)) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next, item = items[index]
                    group.addTask { (index, await work(item)) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }
}
