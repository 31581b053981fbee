import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `versioncheck watch --once` as an AWS Lambda function (`provided.al2023`, the static binary as
/// `bootstrap`): each invocation reads the manifest again, runs one cycle against the store,
/// delivers its alerts while the invocation has time, and answers with the cycle's summary JSON.
/// A manifest or store that cannot be used is the invocation's error.
enum WatchLambda {
    /// Time kept back from the invocation's deadline for answering it.
    static let margin: Duration = .seconds(3)

    static func serve(_ run: WatchCommand.WatchRun, aws: AWSClient?) async -> Int32 {
        let console = Console()
        // One store for the container's life: a warm invocation skips opening it.
        let opened = Locked<(any WatchStore)?>(nil)
        return await LambdaRuntime.run(environment: run.environment) { invocation in
            let started = ContinuousClock.now
            let manifest = try await run.source.load(environment: run.environment, aws: aws)
            let store: any WatchStore
            if let kept = opened.current {
                store = kept
            } else {
                store = try await WatchCommand.openStore(run.location, aws: aws, settings: manifest.settings)
                opened.withLock { $0 = store }
            }
            let log: @Sendable (String) -> Void = { [redactor = manifest.redactor] in console.error("versioncheck watch: " + redactor.redact($0)) }
            // The store's client, or one made for the manifest's CodeDeploy registrations.
            let client = try aws ?? WatchCommand.awsClient(for: run, manifest: manifest)
            let before = client?.requestsSent ?? [:]
            let watcher = Watcher(manifest: manifest, shard: run.shard, store: store, aws: client, log: log)
            let report = try await watcher.cycle()
            WatchCommand.print(report, quiet: run.quiet, console: console, redactor: manifest.redactor)
            let left = invocation.remainingTime() - (ContinuousClock.now - started) - margin
            let outcomes = await watcher.deliverPending(deadline: .now + max(.zero, min(run.deliverWithin, left)))
            // This invocation's requests: the counts only grow.
            let requests = (client?.requestsSent ?? [:]).merging(before) { now, earlier in now - earlier }
            return Array(manifest.redactor.redact(summary(report, outcomes: outcomes, awsRequests: requests)).utf8)
        }
    }

    /// The cycle's summary, as the invocation's answer.
    static func summary(_ report: CycleReport, outcomes: [String: AlertDeliverer.Outcome], awsRequests: [String: Int]) -> String {
        var json = JSONText()
        json.object { json in
            json.key("services")
            json.number(report.services)
            json.key("instances")
            json.number(report.instances)
            json.key("events")
            json.object { json in
                for (kind, events) in Dictionary(grouping: report.events, by: \.kind.rawValue).sorted(by: { $0.key < $1.key }) {
                    json.key(kind)
                    json.number(events.count)
                }
            }
            json.key("alertsQueued")
            json.number(report.alertsQueued)
            json.key("deployments")
            json.number(report.deployments.count)
            json.key("deliveries")
            json.object { json in
                var counts = (delivered: 0, failed: 0, pending: 0)
                for outcome in outcomes.values {
                    switch outcome {
                    case .delivered: counts.delivered += 1
                    case .failed: counts.failed += 1
                    case .postponed: counts.pending += 1
                    }
                }
                json.key("delivered")
                json.number(counts.delivered)
                json.key("failed")
                json.number(counts.failed)
                json.key("pending")
                json.number(counts.pending)
            }
            json.key("drift")
            json.array { json in for entry in report.openDrift { json.string(entry) } }
            json.key("unreachable")
            json.array { json in for entry in report.openUnreachable { json.string(entry) } }
            json.key("mixed")
            json.array { json in for entry in report.mixed { json.string("\(entry.service) \(entry.fleet)") } }
            json.key("expectProblems")
            json.array { json in for entry in report.expectProblems { json.string(entry) } }
            json.key("awsRequests")
            json.object { json in
                for (service, count) in awsRequests.sorted(by: { $0.key < $1.key }) where count > 0 {
                    json.key(service)
                    json.number(count)
                }
            }
            json.key("durationMs")
            json.number(Int(report.duration.seconds * 1000))
            json.key("status")
            json.number(report.hasOpenProblems ? 1 : 0)
        }
        return json.text
    }
}
