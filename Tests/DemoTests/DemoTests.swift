import Foundation
import Testing
import TestSupport

@Suite("swift run demo")
struct DemoTests {
    /// The README's first command: every step behaves as it tells, the demo exits 0, quickly.
    @Test func theDemoRunsAndEveryStepBehavesAsTold() async throws {
        let result = try await runProduct("demo", [], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("Every step behaved as told."))
        for step in ["first-seen  checkout (demo)  at 1.4.1", "✔ pre-traffic: 3 passed", "✔ post-traffic: 2 passed",
                     "deployed  checkout (demo)  1.4.1 → 1.4.2", "rolled-back  checkout (demo)  1.4.2 → 1.4.1",
                     #""type":"rolled-back""#, "✘ post-traffic: 0 passed, 1 failed, 1 skipped"] {
            #expect(result.stdout.contains(step), "\(step)")
        }
        #expect(result.elapsed < .seconds(60))
    }
}
