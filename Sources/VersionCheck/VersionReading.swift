import DeployVerifyKit

/// The verdict on one read of one URL.
package enum Verdict: String, Sendable, Comparable {
    case match
    case mismatch
    /// Could not be read, or said nothing that can be judged.
    case unreadable

    private var rank: Int {
        switch self {
        case .match: 0
        case .unreadable: 1
        case .mismatch: 2
        }
    }

    package static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.rank < rhs.rank }
}

/// One read of one URL: what version it reported and how it compares.
package struct Sample: Sendable {
    package var verdict: Verdict
    package var version: String?
    package var revision: String?
    package var status: Int?
    /// Failure class (`refused`, `timeout`, `not-json`, `no-version` …) when unreadable.
    package var errorClass: String?
    package var message: String?
    package var timings: ProbeTimings
}

/// Reads versions out of `/info`-like JSON bodies and judges them against the expectation.
package struct VersionReader: Sendable {
    /// Tried in order when no `--field` is given.
    package static let defaultFields = ["version", "build.version", "gitVersion", "releaseId", "app.version"]
    package static let revisionFields = ["revision", "git.commit.id", "gitCommit"]
    // Parsed once: a watch cycle makes a reader per service.
    private static let defaultPaths = defaultFields.map { try! JSONPath($0) }
    private static let defaultRevisionPaths = revisionFields.map { try! JSONPath($0) }

    private let fields: [JSONPath]
    private let revisionPaths: [JSONPath]
    package let expectation: VersionExpectation?
    package let revision: String?

    package init(field: JSONPath?, expectation: VersionExpectation?, revision: String?) {
        fields = field.map { [$0] } ?? Self.defaultPaths
        revisionPaths = Self.defaultRevisionPaths
        self.expectation = expectation
        self.revision = revision
    }

    package func read(_ result: ProbeResult) -> Sample {
        var sample = Sample(verdict: .unreadable, status: result.status, timings: result.timings)
        func unreadable(_ kind: String, _ message: String) -> Sample {
            sample.errorClass = kind
            sample.message = message
            return sample
        }
        if let failure = result.failure {
            return unreadable(failure.className, failure.message)
        }
        guard (200...299).contains(result.status ?? 0) else {
            return unreadable("http-error", "the server answered HTTP \(result.status ?? 0)")
        }
        let document: JSONValue
        do {
            document = try JSONParser().parse(result.body)
        } catch {
            let start = String(decoding: result.body.prefix(40), as: UTF8.self)
                .replacingOccurrences(of: "\n", with: " ").trimmed
            let type = result.header("Content-Type").map { " (\($0))" } ?? ""
            return unreadable("not-json", "the body is not JSON\(type): \(error.description); it starts '\(start)'")
        }
        for path in revisionPaths {
            if let text = path.value(in: document)?.scalarText {
                sample.revision = text
                break
            }
        }
        var found: (path: JSONPath, value: JSONValue)?
        for path in fields {
            if let value = path.value(in: document) {
                found = (path, value)
                break
            }
        }
        guard let found else {
            let tried = fields.map(\.description).joined(separator: ", ")
            return unreadable("no-version", fields.count == 1 ? "the body has no field \(tried)"
                : "the body has none of the fields \(tried) (name one with --field)")
        }
        guard let version = found.value.scalarText, !version.isEmpty else {
            return unreadable("no-version", "the field \(found.path) is \(found.value.kindName == "string" ? "empty" : "a \(found.value.kindName)"), not a version")
        }
        sample.version = version
        if let expectation, !expectation.matches(version) {
            sample.verdict = .mismatch
            sample.message = expectation.explainMismatch(version) ?? "reports \(version), expected \(expectation)"
            return sample
        }
        if let revision {
            guard let reported = sample.revision else {
                sample.errorClass = "no-revision"
                sample.message = "the body has none of the fields \(Self.revisionFields.joined(separator: ", ")) to compare with --revision"
                return sample
            }
            guard Self.revision(reported, matches: revision) else {
                sample.verdict = .mismatch
                sample.message = "reports revision \(reported.prefix(12)), expected \(revision.prefix(12))"
                return sample
            }
        }
        sample.verdict = .match
        return sample
    }

    /// Prefix match either way, on at least 7 characters, ignoring case.
    static func revision(_ reported: String, matches expected: String) -> Bool {
        let a = reported.lowercased(), b = expected.lowercased()
        let shorter = a.count <= b.count ? a : b, longer = a.count <= b.count ? b : a
        return shorter.count >= 7 && longer.hasPrefix(shorter)
    }
}
