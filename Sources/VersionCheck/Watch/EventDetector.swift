import DeployVerifyKit
import Foundation

/// Compares a cycle's readings of one service with its state and says what happened.
/// Pure: no clock, no I/O; the caller passes `now` and persists what comes out.
package enum EventDetector {
    /// Updates `state` with the readings and returns the events, in instance order.
    /// - Parameters:
    ///   - expectation: the version that should be live (nil: no drift judgement this cycle).
    package static func detect(service: WatchedService, readings: [InstanceReading], expectation: VersionExpectation?,
                               state: inout WatchState.Service, unreachableAfter: Int, now: Date) -> [WatchEvent] {
        var events: [WatchEvent] = []
        func event(_ kind: WatchEvent.Kind, _ instance: String, from: String? = nil, to: String? = nil, revision: String? = nil,
                   problem: String? = nil, detail: String? = nil) {
            events.append(WatchEvent(time: now, kind: kind, service: service.name, environment: service.environment,
                                     instance: instance, from: from, to: to, revision: revision,
                                     expected: expectation?.description, problem: problem, detail: detail))
        }
        if state.instances.count > readings.count || state.instances.keys.contains(where: { key in !readings.contains { $0.instance == key } }) {
            let known = Set(readings.map(\.instance))
            state.instances = state.instances.filter { known.contains($0.key) } // instances no longer in the manifest
        }
        let versionsBefore = state.versions

        for reading in readings {
            var instance = state.instances[reading.instance] ?? WatchState.Instance()
            guard let version = reading.version else {
                instance.failures += 1
                instance.lastError = reading.failure
                if instance.failures >= unreachableAfter, !instance.unreachable {
                    instance.unreachable = true
                    event(.unreachable, reading.instance, from: instance.version, detail: reading.failure)
                }
                state.instances[reading.instance] = instance
                continue
            }
            if instance.unreachable {
                instance.unreachable = false
                event(.recovered, reading.instance, to: version, revision: reading.revision, problem: "unreachable")
            }
            instance.failures = 0
            instance.lastError = nil

            if let previous = instance.version {
                if previous != version {
                    let kind: WatchEvent.Kind = isRollback(from: previous, to: version, history: versionsBefore) ? .rolledBack : .deployed
                    event(kind, reading.instance, from: previous, to: version, revision: reading.revision)
                    state.lastChange = now
                }
            } else if versionsBefore.isEmpty || versionsBefore.contains(version) {
                // A new service, or a new instance of a version the service runs: the baseline.
                event(.firstSeen, reading.instance, to: version, revision: reading.revision)
            } else {
                // A new instance with a version the service never ran: a deployment all the same.
                event(.deployed, reading.instance, from: versionsBefore.last, to: version, revision: reading.revision)
                state.lastChange = now
            }
            instance.version = version
            instance.revision = reading.revision ?? instance.revision
            if !state.versions.contains(version) { state.versions.append(version) }

            if let expectation {
                let matches = expectation.matches(version)
                if !matches, !instance.drift {
                    instance.drift = true
                    event(.drift, reading.instance, to: version, revision: reading.revision)
                } else if matches, instance.drift {
                    instance.drift = false
                    event(.recovered, reading.instance, to: version, revision: reading.revision, problem: "drift")
                }
            }
            state.instances[reading.instance] = instance
        }
        return events
    }

    /// A move back: to a version older than the one left. SemVer decides when both are versions;
    /// otherwise the order in which the service first ran them. A version new to the service is
    /// always a deployment, and so is the next instance of a rolling deployment catching up.
    static func isRollback(from previous: String, to version: String, history: [String]) -> Bool {
        guard let target = history.firstIndex(of: version) else { return false }
        if let old = SemanticVersion(previous), let new = SemanticVersion(version) { return new < old }
        guard let source = history.firstIndex(of: previous) else { return false }
        return target < source
    }
}
