/// A sleep meant to be cancelled: a timeout or deadline beside work that usually ends first.
///
/// `Task.sleep` on Linux leaves its timer scheduled when the sleeping task is cancelled, holding
/// the task (about 0.5 KB) until the sleep would have ended. `hookrunner serve`, starting a run
/// with a 55-minute deadline every second, grew for the first 55 minutes of a soak. Sleeping in
/// slices of at most a second bounds that to one second's worth.
package enum CancellableSleep {
    /// Longest single `Task.sleep`: a cancelled sleep holds memory at most this long.
    static let slice: Duration = .seconds(1)

    /// Sleeps `duration`; throws `CancellationError` once cancelled, like `Task.sleep`.
    package static func sleep(for duration: Duration) async throws {
        try await sleep(until: .now + duration)
    }

    /// Sleeps until `deadline`; throws `CancellationError` once cancelled, like `Task.sleep`.
    package static func sleep(until deadline: ContinuousClock.Instant) async throws {
        while true {
            let now = ContinuousClock.now
            guard now < deadline else { return }
            try await Task.sleep(until: min(deadline, now + slice), clock: .continuous)
        }
    }
}
