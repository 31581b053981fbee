// A queue worker with no HTTP framework: its jobs are its business; InfoServer, InfoEndpoint's own
// server, answers /info, /health and /metrics on an admin port, on a thread of its own.
// usage: worker [--admin-port 9090] [--admin-host 127.0.0.1] [--version 2.0.1]
import Foundation
import InfoEndpoint

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil }
}

/// The work: jobs taken from a queue (here, made up), with a heartbeat the health check reads.
actor JobLoop {
    private(set) var processed = 0
    private(set) var lastBeat = ContinuousClock.now

    func run() async {
        while !Task.isCancelled {
            processed += 1 // take a job, do it
            lastBeat = .now
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}

let jobs = JobLoop()
let info = ServiceInfo(name: "billing-worker", version: option("--version") ?? "2.0.1", extra: ["queue": "invoices"])
let admin = InfoServer(info: info, host: option("--admin-host") ?? "127.0.0.1", port: Int(option("--admin-port") ?? "9090") ?? 9090)
// Live while the job loop beats; a stuck loop makes /health/live fail and the orchestrator restart it.
admin.responder.addHealthCheck("job-loop", probes: .liveness) {
    await ContinuousClock.now - jobs.lastBeat < .seconds(5) ? .pass : .fail("no job taken for 5 seconds")
}
try admin.start()
print("worker: \(info.name) \(info.version ?? "?") admin on http://\(option("--admin-host") ?? "127.0.0.1"):\(admin.port)")
fflush(nil)

let work = Task { await jobs.run() }
let signalSources = [SIGTERM, SIGINT].map { number in
    signal(number, SIG_IGN)
    return DispatchSource.makeSignalSource(signal: number, queue: .global())
}
let stop = AsyncStream<Void> { continuation in
    for source in signalSources {
        source.setEventHandler { continuation.yield() }
        source.resume()
    }
}
for await _ in stop { break }
work.cancel()
await admin.stop()
print("worker: stopped after \(await jobs.processed) jobs")
