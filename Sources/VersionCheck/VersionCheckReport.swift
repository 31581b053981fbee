import DeployVerifyKit

/// What one URL reported over its samples.
package struct TargetResult: Sendable {
    package var url: String
    package var samples: [Sample]

    /// A mismatch anywhere is a mismatch; otherwise any unreadable sample makes it unreadable.
    package var verdict: Verdict {
        samples.map(\.verdict).max() ?? .unreadable
    }

    /// Versions seen, most frequent first (first seen breaks ties).
    package var mix: [(version: String, count: Int)] {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for version in samples.compactMap(\.version) {
            if counts[version] == nil { order.append(version) }
            counts[version, default: 0] += 1
        }
        return order.enumerated().sorted { a, b in
            counts[a.element]! != counts[b.element]! ? counts[a.element]! > counts[b.element]! : a.offset < b.offset
        }.map { ($0.element, counts[$0.element]!) }
    }

    /// The sample that explains the verdict: the first one with that verdict.
    package var representative: Sample {
        samples.first { $0.verdict == verdict } ?? samples[0]
    }

    /// Median total time of the samples.
    package var latency: Duration {
        let sorted = samples.map(\.timings.total).sorted()
        return sorted.isEmpty ? .zero : sorted[sorted.count / 2]
    }
}

/// The outcome of a `versioncheck` run, and its exit status.
package struct VersionCheckReport: Sendable {
    package var expectation: String?
    package var revision: String?
    package var targets: [TargetResult]
    package var rounds: Int
    package var elapsed: Duration
    /// `--wait` was given and ran out before every URL matched.
    package var waitExpired = false
    /// Stopped by SIGINT or SIGTERM.
    package var interrupted = false

    /// 0 all match; 1 a reachable endpoint reports another version; 3 an endpoint could not be
    /// read (or the run was interrupted) and none mismatched.
    package var exitCode: Int32 {
        let verdicts = targets.map(\.verdict)
        if verdicts.contains(.mismatch) { return 1 }
        if verdicts.contains(.unreadable) || interrupted { return 3 }
        return 0
    }

    package var verdict: Verdict {
        switch exitCode {
        case 0: .match
        case 1: .mismatch
        default: .unreadable
        }
    }

    /// `3/3 on 1.4.2`, `2/3 on 1.4.2; 1 still 1.4.1`, `1/3 on 1.4.2; 1 on 1.4.1; 1 unreadable (refused)`.
    package func summary(progress: Bool = false) -> String {
        let total = targets.count
        if let expectation {
            let matched = targets.filter { $0.verdict == .match }.count
            var parts = ["\(matched)/\(total) on \(expectation)"]
            let others = targets.filter { $0.verdict == .mismatch }
            if !others.isEmpty {
                var versions: [String: Int] = [:]
                for target in others {
                    for (version, _) in target.mix where !(target.samples.first { $0.version == version }?.verdict == .match) {
                        versions[version, default: 0] += 1
                    }
                }
                let described = versions.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
                    .map { "\($0.value) \(progress ? "still " : "on ")\($0.key)" }
                parts.append(described.isEmpty ? "\(others.count) mismatched" : described.joined(separator: "; "))
            }
            parts += unreadableSummary()
            return parts.joined(separator: "; ")
        }
        let read = targets.filter { $0.verdict != .unreadable }
        var versions: [String: Int] = [:]
        for target in read { for (version, _) in target.mix { versions[version, default: 0] += 1 } }
        var parts = ["\(read.count)/\(total) read"]
        let described = versions.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .map { "\($0.value) on \($0.key)" }
        if !described.isEmpty { parts.append(described.joined(separator: ", ")) }
        parts += unreadableSummary()
        return parts.joined(separator: "; ")
    }

    private func unreadableSummary() -> [String] {
        let unreadable = targets.filter { $0.verdict == .unreadable }
        guard !unreadable.isEmpty else { return [] }
        var classes: [String: Int] = [:]
        for target in unreadable { classes[target.representative.errorClass ?? "unreadable", default: 0] += 1 }
        let described = classes.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .map { $0.value == 1 ? $0.key : "\($0.value)× \($0.key)" }
        return ["\(unreadable.count) unreadable (\(described.joined(separator: ", ")))"]
    }
}
