import InfoEndpoint

/// The version of the DeployVerify tools, printed by `--version` and sent as `User-Agent`.
package enum DeployVerifyVersion {
    package static let current = "0.1.0"

    /// `versioncheck 0.1.0 (56c9700df0ec, built 2026-11-21T20:41:07Z)`.
    package static func describe(tool: String) -> String {
        var details: [String] = []
        if let revision = BuildStamp.current?.revision { details.append(String(revision.prefix(12))) }
        if let built = BuildStamp.current?.buildTime { details.append("built \(Timestamps.iso8601(built))") }
        return "\(tool) \(current)" + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
    }
}
