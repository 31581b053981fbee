import Foundation
import Testing
@testable import DeployVerifyKit

/// What fuzzing (fuzz/run.sh) found in DeployVerifyKit's parsers, each held here as a test of
/// the normal suite: the input that trapped or hung, and what it does now.
@Suite("Fuzz findings: DeployVerifyKit")
struct DeployVerifyKitFuzzFindingsTests {
    /// fuzz target `duration`: `2666666h` is more nanoseconds than Int64 holds; converting it
    /// trapped. A duration past some 292 years is now a syntax error, part by part and in total.
    @Test func durationsTooLongForNanosecondsAreRefused() throws {
        for text in ["2666666h", "1e30s", "99999999999999999999ms", "2000000h2000000h"] {
            #expect(throws: DurationText.SyntaxError.self, "\(text)") { try DurationText.parse(text) }
        }
        #expect(try DurationText.parse("2000000h") == .seconds(2_000_000 * 3600), "228 years still read")
        let error = try #require(throws: DurationText.SyntaxError.self) { try DurationText.parse("2666666h") }
        #expect(error.description == "'2666666h' is too long a duration")
    }

    /// fuzz target `duration` (a duration written out reads back): a total just under the limit,
    /// `662h16s56666650m666662h16s56666650m`, was written as `153372740m32s`, whose first part alone
    /// passed a limit set below Int64's — so the written duration did not read back.
    @Test func everyDurationThatReadsWritesOutAndReadsBack() throws {
        let text = "662h16s56666650m666662h16s56666650m"
        let duration = try DurationText.parse(text)
        #expect(DurationText.format(duration) == "153372740m32s")
        #expect(try DurationText.parse(DurationText.format(duration)) == duration)
    }

    /// fuzz target `version`: compiling some patterns leaks in Foundation on Linux (602 bytes for
    /// a pattern of 200 characters). Each pattern is now compiled once per process, an invalid one
    /// remembered as invalid.
    @Test func aPatternIsCompiledOncePerProcess() throws {
        let pattern = String(repeating: "a", count: 200) + "-fuzz-\(UInt64.random(in: 0...UInt64.max))"
        let first = try #require(RegularExpressions.compile(pattern))
        #expect(RegularExpressions.compile(pattern) === first)
        #expect(try VersionExpectation("regex:" + pattern).matches(pattern))
        #expect(RegularExpressions.compile("(unclosed") == nil)
        #expect(RegularExpressions.compile("(unclosed") == nil)
    }

    /// Found by reading what the `aws-error` target exercises: each `&` without a `;` scanned
    /// the rest of the text for one, so an error body of `&`s took quadratic time. The search now
    /// stops where an entity must have ended (10 characters).
    @Test func xmlEntitiesWithoutSemicolonsTakeLinearTime() {
        let body = "<Error><Code>Throttling</Code><Message>" + String(repeating: "&", count: 200_000) + "</Message></Error>"
        let clock = ContinuousClock()
        var message: String?
        let elapsed = clock.measure { message = XMLText.firstElement("Message", in: body) }
        #expect(message?.count == 200_000)
        #expect(elapsed < .seconds(2), "quadratic: 200,000 '&' took \(elapsed)")
        #expect(XMLText.unescape("a &amp; b &#x41;&#66; &unknown; & &lt;") == "a & b AB &unknown; & <")
    }
}
