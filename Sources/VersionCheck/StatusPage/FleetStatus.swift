import DeployVerifyKit
import Foundation
import InfoEndpoint

/// What is live where: every service of a manifest in every environment, with the versions its
/// instances report, the expected version, drift, unreachable instances and mixed fleets. What
/// `versioncheck status` prints (as a table, JSON or HTML) and `versioncheck serve` shows.
///
/// Pure: built from the manifest and what was observed (read now, or recorded by the watchers).
/// Every text in it has gone through the manifest's redactor, so no secret reaches an output.
package struct FleetStatus: Sendable {
    /// One service in one environment.
    package struct Cell: Sendable, Equatable {
        /// Versions reported, most instances first (then by version).
        package var versions: [VersionCount]
        /// Instances that could not be read (or were last recorded unreachable).
        package var unreachable: Int
        /// Instances the manifest lists.
        package var instances: Int
        /// The expected version as written in the manifest (`1.4.2`, `>=1.4 <2`); nil when none
        /// is written there (none at all, or one read from a file or a URL).
        package var expected: String?
        /// An instance reports another version than expected.
        package var drift: Bool
        /// When the service last changed version (from the watchers' state).
        package var lastChange: Date?

        /// Instances disagree.
        package var mixed: Bool { versions.count > 1 }

        /// `1.4.2`, `2× 1.4.2, 1× 1.4.1`, `- (unreachable)`, `1.4.2 (+1 unreachable)`.
        package var display: String {
            var text = versions.isEmpty ? "-" : versions.count == 1 ? versions[0].version
                : versions.map { "\($0.count)× \($0.version)" }.joined(separator: ", ")
            if unreachable > 0 { text += versions.isEmpty ? " (unreachable)" : " (+\(unreachable) unreachable)" }
            return text
        }

        /// The set of versions, for comparing environments.
        package var versionSet: Set<String> { Set(versions.map(\.version)) }
    }

    /// A version and how many instances report it.
    package struct VersionCount: Sendable, Equatable {
        package var version: String
        package var count: Int

        package init(version: String, count: Int) {
            self.version = version
            self.count = count
        }
    }

    /// One service across environments.
    package struct Row: Sendable, Equatable {
        package var service: String
        /// By environment name.
        package var cells: [String: Cell]
        /// Where staging and production run different versions: `staging runs 1.5.0, production 1.4.2`.
        package var stagingProduction: String?
    }

    /// When the versions were read (now) or the state was read (`--state`).
    package var generated: Date
    /// Ordered development → test → staging → production, then by name.
    package var environments: [String]
    /// In the manifest's order.
    package var rows: [Row]
    /// Drift, unreachable instances, staging ≠ production: one line each.
    package var notes: [String] { noted.map(\.text) }
    /// The notes with the service and environment each is about (nil: the service's environments).
    private var noted: [(service: String, environment: String?, text: String)]
    /// Drift or an unreachable instance anywhere (the exit status 1).
    package var hasProblems: Bool

    /// Environment names and their rank in a pipeline.
    private static let rank = ["development": 0, "dev": 0, "test": 1, "qa": 1, "staging": 2, "stage": 2, "preprod": 3,
                               "production": 4, "prod": 4]

    /// Sorts environments development → staging → production, others last by name.
    package static func ordered(_ environments: [String]) -> [String] {
        environments.sorted { (rank[$0] ?? 5, $0) < (rank[$1] ?? 5, $1) }
    }

    /// - Parameters:
    ///   - observed: for each service of the manifest, the version each of its URLs reports
    ///     (nil: unreachable), in the manifest's order.
    ///   - state: what the watchers recorded, when the status comes from `--state`: its drift
    ///     flags (an expectation read from a file or URL) and last changes count too.
    package init(manifest: Manifest, observed: [[String?]], state: WatchState? = nil, generated: Date = Date()) {
        let redact = manifest.redactor.isEmpty ? { (text: String) in text } : { manifest.redactor.redact($0) }
        self.generated = generated
        var rowIndex: [String: Int] = [:]
        var rows: [Row] = []
        var environments: [String] = []
        var seenEnvironments: Set<String> = []
        for (service, versions) in zip(manifest.services, observed) {
            var counts: [String: Int] = [:]
            var unreachable = 0
            for version in versions {
                if let version { counts[redact(version), default: 0] += 1 } else { unreachable += 1 }
            }
            var expectation: VersionExpectation?
            if case .literal(let literal)? = service.expect { expectation = literal }
            let recorded = state?.services[service.key]
            let drift = (expectation.map { expected in counts.keys.contains { !expected.matches($0) } } ?? false)
                || (recorded?.instances.values.contains(where: \.drift) ?? false)
            let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { VersionCount(version: $0.key, count: $0.value) }
            let cell = Cell(versions: sorted, unreachable: unreachable, instances: versions.count,
                            expected: expectation.map { redact($0.description) }, drift: drift, lastChange: recorded?.lastChange)
            let name = redact(service.name), environment = redact(service.environment)
            if let index = rowIndex[name] {
                rows[index].cells[environment] = cell
            } else {
                rowIndex[name] = rows.count
                rows.append(Row(service: name, cells: [environment: cell]))
            }
            if seenEnvironments.insert(environment).inserted { environments.append(environment) }
        }
        self.environments = Self.ordered(environments)

        var problems = false
        var notes: [(service: String, environment: String?, text: String)] = []
        for index in rows.indices {
            let row = rows[index]
            for environment in self.environments {
                guard let cell = row.cells[environment] else { continue }
                if cell.drift {
                    problems = true
                    notes.append((row.service, environment, "\(row.service) (\(environment)): expected \(cell.expected ?? "another version"), live \(cell.display)"))
                }
                if cell.unreachable > 0 {
                    problems = true
                    notes.append((row.service, environment, "\(row.service) (\(environment)): \(cell.unreachable) instance\(cell.unreachable == 1 ? "" : "s") unreachable"))
                }
            }
            let staging = row.cells.first { ["staging", "stage"].contains($0.key) }?.value
            let production = row.cells.first { ["production", "prod"].contains($0.key) }?.value
            if let staging, let production, staging.versionSet != production.versionSet {
                let note = "staging runs \(staging.display), production \(production.display)"
                rows[index].stagingProduction = note
                notes.append((row.service, nil, "\(row.service): \(note)"))
            }
        }
        self.rows = rows
        self.noted = notes
        self.hasProblems = problems
    }

    /// The versions each instance of each service last reported, as recorded in `state`
    /// (an instance last seen unreachable counts as unreachable), in the manifest's order.
    package static func observed(in state: WatchState, manifest: Manifest) -> [[String?]] {
        manifest.services.map { service in
            service.urls.map { url in
                state.services[service.key]?.instances[Redaction.url(url)].flatMap { $0.unreachable ? nil : $0.version }
            }
        }
    }

    // MARK: Filtering

    /// Only the rows whose service contains `service` (case-insensitive) and only the
    /// environment `environment` (nil: all).
    package func filtered(service: String?, environment: String?) -> FleetStatus {
        var copy = self
        if let service, !service.isEmpty {
            copy.rows = rows.filter { $0.service.range(of: service, options: .caseInsensitive) != nil }
        }
        if let environment, !environment.isEmpty {
            copy.environments = environments.filter { $0 == environment }
            copy.rows = copy.rows.filter { $0.cells[environment] != nil }
        }
        let kept = Set(copy.rows.map(\.service))
        copy.noted = noted.filter { note in
            kept.contains(note.service) && (note.environment == nil || copy.environments.contains(note.environment!))
        }
        copy.hasProblems = copy.rows.contains { row in
            copy.environments.contains { row.cells[$0].map { $0.drift || $0.unreachable > 0 } ?? false }
        }
        return copy
    }

    // MARK: Output

    /// The table of `versioncheck status`.
    package var tableLines: [String] {
        var table = [["SERVICE"] + environments.map { $0.uppercased() }]
        for row in rows {
            table.append([row.service] + environments.map { environment in
                guard let cell = row.cells[environment] else { return "" }
                return cell.display + (cell.drift ? " ≠ \(cell.expected ?? "expected")" : "")
            })
        }
        var lines = TextTable.render(table)
        if !notes.isEmpty {
            lines.append("")
            for note in notes { lines.append("  " + note) }
        }
        return lines
    }

    /// `versioncheck status --format json` and `GET /api/status` (documented in the README).
    package var json: String {
        var json = JSONText()
        json.object { json in
            json.member("generated", Timestamps.iso8601(generated, milliseconds: true))
            json.key("environments")
            json.array { json in for environment in environments { json.string(environment) } }
            json.key("services")
            json.array { json in
                for row in rows {
                    for environment in environments {
                        guard let cell = row.cells[environment] else { continue }
                        json.object { json in
                            json.member("service", row.service)
                            json.member("environment", environment)
                            json.key("versions")
                            json.versionCounts(cell.versions.map { ($0.version, $0.count) })
                            json.key("unreachable")
                            json.number(cell.unreachable)
                            json.key("instances")
                            json.number(cell.instances)
                            json.member("expected", cell.expected)
                            json.key("drift")
                            json.bool(cell.drift)
                            json.key("mixed")
                            json.bool(cell.mixed)
                            json.member("lastChange", cell.lastChange.map { Timestamps.iso8601($0, milliseconds: true) })
                        }
                    }
                }
            }
            json.key("stagingProduction")
            json.array { json in
                for row in rows {
                    guard let note = row.stagingProduction else { continue }
                    json.object { json in
                        json.member("service", row.service)
                        json.member("note", note)
                    }
                }
            }
            json.key("notes")
            json.array { json in for note in notes { json.string(note) } }
            json.key("problems")
            json.bool(hasProblems)
        }
        return json.text
    }
}
