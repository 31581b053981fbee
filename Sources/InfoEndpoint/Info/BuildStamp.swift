import CShims
import Foundation

/// What the `BuildStamp` SwiftPM plugin recorded when the executable was built: the git state
/// of the package (commit, branch, tag) and the build time.
///
/// Apply the plugin to your executable target and `ServiceInfo` picks these up without any code:
/// ```swift
/// .executableTarget(name: "Checkout", dependencies: [...],
///                   plugins: [.plugin(name: "BuildStamp", package: "DeployVerify")])
/// ```
public struct BuildStamp: Sendable, Hashable {
    /// Full commit hash of `HEAD`, or nil when git or the repository was not available.
    public var revision: String?
    /// Branch checked out at build time; nil on a detached `HEAD` (typical in CI).
    public var branch: String?
    /// Tag pointing exactly at `HEAD`, if any (`v1.4.2`).
    public var tag: String?
    /// `git describe --tags --always --dirty` (`v1.4.2-3-gabc1234-dirty`).
    public var describe: String?
    /// True when the working tree had uncommitted changes.
    public var dirty: Bool
    /// Commit time of `HEAD` (committer date).
    public var commitTime: Date?
    /// When the stamp was made (`SOURCE_DATE_EPOCH` when set at build time).
    public var buildTime: Date?

    public init(revision: String? = nil, branch: String? = nil, tag: String? = nil, describe: String? = nil,
                dirty: Bool = false, commitTime: Date? = nil, buildTime: Date? = nil) {
        self.revision = revision
        self.branch = branch
        self.tag = tag
        self.describe = describe
        self.dirty = dirty
        self.commitTime = commitTime
        self.buildTime = buildTime
    }

    /// The stamp compiled into this executable, or nil when no linked target applies the plugin.
    public static let current: BuildStamp? = cshims_build_stamp().flatMap { BuildStamp(json: String(cString: $0)) }

    /// The version the git state implies: the exact tag without a leading `v` (`1.4.2`), or on a
    /// dirty tree or an untagged commit after a tag, `git describe` without the `v`
    /// (`1.4.2-3-gabc1234`, `1.4.2-dirty`). Nil when the repository has no tags.
    public var impliedVersion: String? {
        func strip(_ text: String) -> String {
            text.count > 1 && (text.first == "v" || text.first == "V") && text.dropFirst().first?.isNumber == true
                ? String(text.dropFirst()) : text
        }
        if let tag, !dirty { return strip(tag) }
        guard let describe, let revision else { return nil }
        // Without any tag, `describe --always` is just the abbreviated hash: not a version.
        let bare = describe.hasSuffix("-dirty") ? String(describe.dropLast(6)) : describe
        if revision.hasPrefix(bare) { return nil }
        return strip(describe)
    }

    init?(json: String) {
        guard let data = json.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        func text(_ key: String) -> String? {
            (object[key] as? String).flatMap { $0.isEmpty ? nil : $0 }
        }
        self.init(revision: text("revision"), branch: text("branch"), tag: text("tag"), describe: text("describe"),
                  dirty: object["dirty"] as? Bool ?? false,
                  commitTime: text("commitTime").flatMap(Timestamps.parse),
                  buildTime: text("buildTime").flatMap(Timestamps.parse))
    }
}
