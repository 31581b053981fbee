import Foundation
import InfoEndpoint
import Testing
@testable import DeployVerifyKit
@testable import HookRunner

/// What fuzzing (fuzz/run.sh) and writing its targets found in what hookrunner reads from
/// peers and files, each held here as a test of the normal suite.
@Suite("Fuzz findings: hookrunner")
struct HookRunnerFuzzFindingsTests {
    /// Found writing the `approval-token` target (a trail record is read, then written out): a
    /// record whose `time` is `1e300` was read as that many seconds after 1970, and writing the
    /// date out converted 1e303 milliseconds to Int64, which traps: one line in a shared trail
    /// stopped every process reading it. Times past 9999-12-31 are not times now.
    @Test func aTrailRecordDatedPastYear9999IsUnreadableNotATrap() {
        let line = #"{"time":"1e300","event":"requested","request":"apr-1","expires":"1e300"}"#
        #expect(ApprovalRecord(jsonLine: Array(line.utf8)) == nil)
        let expiresOnly = #"{"time":"2026-11-21T19:45:53Z","event":"requested","request":"apr-1","expires":"1e300"}"#
        let record = ApprovalRecord(jsonLine: Array(expiresOnly.utf8))
        #expect(record?.expires == nil)
        #expect(record?.jsonLine.contains("2026-11-21T19:45:53") == true)
        #expect(Timestamps.parse("253402300799") != nil, "9999-12-31T23:59:59Z still reads")
        #expect(Timestamps.parse("253402300800") == nil)
        #expect(Timestamps.iso8601(Date(timeIntervalSince1970: 1e300)).hasSuffix("Z"), "a date made elsewhere prints, clamped")
    }
}
