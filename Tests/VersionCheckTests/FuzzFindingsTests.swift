import Foundation
import Testing
@testable import VersionCheck

/// What fuzzing (fuzz/run.sh) found in what versioncheck reads from peers and files, each held
/// here as a test of the normal suite.
@Suite("Fuzz findings: versioncheck")
struct VersionCheckFuzzFindingsTests {
    /// fuzz target `response` (each header read as `Retry-After`): a webhook receiver answering
    /// `429` with `Retry-After: 1e300` (or `inf`) made the deliverer convert 1e303 milliseconds to
    /// Int64, which traps: one answer killed the watcher. The delay is now capped at a day (and
    /// then at `maxBackoff`, as before).
    @Test func retryAfterBeyondADayIsADay() {
        for value in ["1e300", "inf", "1e16", "9223372036854775807", "86401"] {
            #expect(AlertDeliverer.retryAfter(value) == .seconds(86_400), "\(value)")
        }
        #expect(AlertDeliverer.retryAfter("Fri, 31 Dec 9999 23:59:59 GMT") == .seconds(86_400))
        #expect(AlertDeliverer.retryAfter("nan") == nil)
        #expect(AlertDeliverer.retryAfter("-1") == nil)
        #expect(AlertDeliverer.retryAfter("86400") == .seconds(86_400))
    }
}
