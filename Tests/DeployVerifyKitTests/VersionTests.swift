import Testing
@testable import DeployVerifyKit

@Suite("Semantic versions, ranges and expectations")
struct VersionTests {
    @Test func parsing() {
        #expect(SemanticVersion("1.4.2") == SemanticVersion(1, 4, 2))
        #expect(SemanticVersion("v1.4.2")?.description == "1.4.2")
        #expect(SemanticVersion("1.4.2-rc.1+build.5")?.prerelease == [.alphanumeric("rc"), .numeric(1)])
        #expect(SemanticVersion("1.4.2-rc.1+build.5")?.build == "build.5")
        for bad in ["1.4", "1.4.2.1", "01.4.2", "1.4.2-", "1.4.2-01", "a.b.c", "", "1.4.2+", "1.4.2-rc..1"] {
            #expect(SemanticVersion(bad) == nil, "\(bad)")
        }
    }

    @Test func precedence() throws {
        // The SemVer 2.0.0 §11 example chain.
        let chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
                     "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"].map { SemanticVersion($0)! }
        for (lower, higher) in zip(chain, chain.dropFirst()) {
            #expect(lower < higher, "\(lower) < \(higher)")
        }
        #expect(SemanticVersion("1.0.0+a") == SemanticVersion("1.0.0+b"))
    }

    @Test(arguments: [
        (">=1.4.0 <2.0.0", ["1.4.0", "1.9.9", "1.5.0-rc.1"], ["1.3.9", "2.0.0", "2.0.0-rc.1"]),
        ("^1.4", ["1.4.0", "1.99.0"], ["1.3.9", "2.0.0", "2.0.0-alpha"]),
        ("^1.4.2", ["1.4.2", "1.5.0"], ["1.4.1", "2.0.0"]),
        ("^0.4.2", ["0.4.2", "0.4.9"], ["0.5.0", "0.4.1"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
        ("~1.4.2", ["1.4.2", "1.4.9"], ["1.5.0", "1.4.1"]),
        ("~1.4", ["1.4.0", "1.4.7"], ["1.5.0"]),
        ("1.4.x", ["1.4.0", "1.4.12"], ["1.5.0", "1.3.0"]),
        ("1.x", ["1.0.0", "1.9.0"], ["2.0.0"]),
        ("*", ["0.0.1", "9.9.9"], []),
        ("=1.4.2", ["1.4.2", "v1.4.2", "1.4.2+build"], ["1.4.3"]),
        (">1.4", ["1.5.0"], ["1.4.9"]),
        ("<=1.4", ["1.4.9", "1.0.0"], ["1.5.0"]),
        ("<1.4.2", ["1.4.1"], ["1.4.2"]),
        ("1.2.0 - 1.4", ["1.2.0", "1.4.9"], ["1.5.0", "1.1.9"]),
        ("^1 || ^3", ["1.2.0", "3.0.0"], ["2.0.0"]),
        (">= 1.4.0 < 2", ["1.4.0"], ["2.0.0"]),
    ])
    func ranges(range: String, inside: [String], outside: [String]) throws {
        let parsed = try VersionRange(range)
        for version in inside { #expect(parsed.contains(SemanticVersion(version)!), "\(version) in \(range)") }
        for version in outside { #expect(!parsed.contains(SemanticVersion(version)!), "\(version) not in \(range)") }
    }

    @Test(arguments: [">=", "^", "1.4.2.1 - 2", ">=1.x.2", "||", "^a"])
    func badRanges(range: String) {
        #expect(throws: VersionRange.SyntaxError.self) { try VersionRange(range) }
    }

    @Test func expectationForms() throws {
        let exact = try VersionExpectation("1.4.2")
        #expect(exact.matches("1.4.2"))
        #expect(exact.matches("v1.4.2"))
        #expect(!exact.matches("1.4.2-rc.1"))
        #expect(!exact.matches("1.4.20"))
        #expect(try VersionExpectation("v2026.11.21").matches("2026.11.21"))
        #expect(try VersionExpectation("release-7").matches("release-7"))

        let range = try VersionExpectation(">=1.4.0 <2.0.0")
        guard case .range = range.form else { Issue.record("not a range"); return }
        #expect(range.matches("1.5.3"))
        #expect(!range.matches("2.1.0"))
        #expect(!range.matches("not-semver"))
        #expect(range.explainMismatch("not-semver")?.contains("not a semantic version") == true)
        #expect(try VersionExpectation("1.4.x").matches("1.4.7"))

        let prefix = try VersionExpectation("prefix:2026.11.")
        #expect(prefix.matches("2026.11.21-abc"))
        #expect(!prefix.matches("2026.12.01"))

        let regex = try VersionExpectation(#"regex:^1\.4\.\d+$"#)
        #expect(regex.matches("1.4.17"))
        #expect(!regex.matches("1.4.17-rc"))

        for bad in ["", "regex:(", "prefix:", "^x.y"] {
            #expect(throws: VersionExpectation.SyntaxError.self, "\(bad)") { try VersionExpectation(bad) }
        }
    }
}

@Suite("Durations, byte counts and redaction")
struct SupportTests {
    @Test func durations() throws {
        #expect(try DurationText.parse("500ms") == .milliseconds(500))
        #expect(try DurationText.parse("5s") == .seconds(5))
        #expect(try DurationText.parse("2m") == .seconds(120))
        #expect(try DurationText.parse("1h") == .seconds(3600))
        #expect(try DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(try DurationText.parse("1m30s") == .seconds(90))
        for bad in ["", "5", "5x", "ms", "-1s", "1.2.3s", "5 s", "99999999999h", "1e300s"] {
            #expect(throws: DurationText.SyntaxError.self, "\(bad)") { try DurationText.parse(bad) }
        }
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.seconds(5)) == "5s")
        #expect(DurationText.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.seconds(300)) == "5m")
    }

    @Test func byteCounts() {
        #expect(ByteCount.parse("1MiB") == 1 << 20)
        #expect(ByteCount.parse("512KiB") == 512 * 1024)
        #expect(ByteCount.parse("2mb") == 2_000_000)
        #expect(ByteCount.parse("1048576") == 1 << 20)
        #expect(ByteCount.parse("lots") == nil)
        #expect(ByteCount.format(1 << 20) == "1 MiB")
    }

    @Test func redaction() {
        #expect(Redaction.isSensitiveHeader("Authorization"))
        #expect(Redaction.isSensitiveHeader("X-API-Key"))
        #expect(Redaction.isSensitiveHeader("x-auth-token"))
        #expect(Redaction.isSensitiveHeader("Cookie"))
        #expect(!Redaction.isSensitiveHeader("Accept"))
        #expect(Redaction.url("https://user:hunter2@host/info?token=abc&x=1") == "https://user:***@host/info?token=***&x=1")
        #expect(Redaction.url("http://host/info") == "http://host/info")
        var redactor = Redactor()
        redactor.add("Bearer s3cr3t-value")
        #expect(redactor.redact("sent Bearer s3cr3t-value to x") == "sent *** to x")
        #expect(redactor.redact("echo: s3cr3t-value") == "echo: ***")
        #expect(redactor.display([("Authorization", "Bearer s3cr3t-value"), ("Accept", "x")]).map(\.value) == ["***", "x"])
    }

    /// A receiver may echo any part of a webhook URL: its path, one segment of it, its query, a
    /// value, percent-decoded or JSON-escaped. None of them may survive redaction.
    @Test func secretURLsAreRedactedPieceByPiece() {
        var redactor = Redactor()
        redactor.addURL("https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/Xq7tOkEnZ9aBcDeF?sig=a%2Fb%3Dc&v=1")
        redactor.addURL("https://bot:p%40ss@discord.com/api/webhooks/123456789012/abc-DEF_ghi")
        let echoes = [
            "404 no such hook: /services/T0AB12CD3/B0EF45GH6/Xq7tOkEnZ9aBcDeF",
            #"{"error":"invalid_token","path":"\/services\/T0AB12CD3\/B0EF45GH6\/Xq7tOkEnZ9aBcDeF"}"#,
            "token Xq7tOkEnZ9aBcDeF revoked",
            "bad signature a/b=c",
            "bad signature a%2Fb%3Dc",
            "query sig=a%2Fb%3Dc&v=1",
            "webhook 123456789012 has token abc-DEF_ghi",
            "user bot, password p@ss",
        ]
        for echo in echoes {
            let redacted = redactor.redact(echo)
            for secret in ["T0AB12CD3", "B0EF45GH6", "Xq7tOkEnZ9aBcDeF", "a/b=c", "a%2Fb", "123456789012", "abc-DEF_ghi", "p@ss"] {
                #expect(!redacted.contains(secret), "\(secret) survives in \(redacted)")
            }
        }
        // The words of an API's path and the host stay readable.
        #expect(redactor.redact("posting to hooks.slack.com: services are down") == "posting to hooks.slack.com: services are down")
        #expect(redactor.redact("the webhooks API") == "the webhooks API")
    }
}
