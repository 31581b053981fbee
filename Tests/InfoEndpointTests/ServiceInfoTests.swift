import Foundation
import Testing
@testable import InfoEndpoint

@Suite("ServiceInfo resolution")
struct ServiceInfoTests {
    let stamp = BuildStamp(revision: "0123456789abcdef0123456789abcdef01234567", branch: "main", tag: "v1.4.2",
                           describe: "v1.4.2", dirty: false, commitTime: nil,
                           buildTime: Timestamps.parse("2026-11-20T08:00:00Z"))

    @Test func codeWinsOverEnvironmentAndStamp() {
        let info = ServiceInfo(name: "checkout", version: "9.9.9", revision: "cafe", branch: "hotfix",
                               buildTime: Date(timeIntervalSince1970: 0), environment: "staging", instance: "pod-1",
                               environmentVariables: ["SERVICE_NAME": "env-name", "SERVICE_VERSION": "2.0.0",
                                                      "GIT_COMMIT": "beef", "GIT_BRANCH": "dev",
                                                      "BUILD_TIME": "2026-01-01T00:00:00Z",
                                                      "SERVICE_ENVIRONMENT": "production", "SERVICE_INSTANCE": "env-pod"],
                               buildStamp: stamp)
        #expect(info.name == "checkout")
        #expect(info.version == "9.9.9")
        #expect(info.revision == "cafe")
        #expect(info.branch == "hotfix")
        #expect(info.buildTime == Date(timeIntervalSince1970: 0))
        #expect(info.environment == "staging")
        #expect(info.instance == "pod-1")
    }

    @Test func environmentWinsOverStamp() {
        let info = ServiceInfo(environmentVariables: ["SERVICE_NAME": "checkout", "SERVICE_VERSION": "2.0.0",
                                                      "GIT_COMMIT": "beef", "GIT_BRANCH": "dev",
                                                      "BUILD_TIME": "1767225600", "SERVICE_ENVIRONMENT": "production",
                                                      "SERVICE_INSTANCE": "checkout-7d9f"],
                               buildStamp: stamp)
        #expect(info.name == "checkout")
        #expect(info.version == "2.0.0")
        #expect(info.revision == "beef")
        #expect(info.branch == "dev")
        #expect(info.buildTime == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(info.environment == "production")
        #expect(info.instance == "checkout-7d9f")
        #expect(info.warnings.isEmpty)
    }

    @Test func stampFillsWhatNothingElseSays() {
        let info = ServiceInfo(name: "checkout", environmentVariables: [:], buildStamp: stamp)
        #expect(info.version == "1.4.2")
        #expect(info.revision == stamp.revision)
        #expect(info.branch == "main")
        #expect(info.buildTime == stamp.buildTime)
        #expect(info.environment == nil)
    }

    @Test func openTelemetryVariables() {
        let attributes = "service.name=from-attributes,service.version=3.1.0,"
            + "deployment.environment=old-style,deployment.environment.name=eu%20prod,service.instance.id=i-42,"
            + "secret.token=hunter2"
        var info = ServiceInfo(environmentVariables: ["OTEL_RESOURCE_ATTRIBUTES": attributes], buildStamp: nil)
        #expect(info.name == "from-attributes")
        #expect(info.version == "3.1.0")
        #expect(info.environment == "eu prod") // the stable key wins over the deprecated one
        #expect(info.instance == "i-42")
        #expect(!info.infoJSON(at: Date()).contains("hunter2"))

        info = ServiceInfo(environmentVariables: ["OTEL_RESOURCE_ATTRIBUTES": attributes, "OTEL_SERVICE_NAME": "otel-name"],
                           buildStamp: nil)
        #expect(info.name == "otel-name") // OTEL_SERVICE_NAME overrides service.name
        info = ServiceInfo(environmentVariables: ["OTEL_SERVICE_NAME": "otel-name", "SERVICE_NAME": "own-name"],
                           buildStamp: nil)
        #expect(info.name == "own-name")
    }

    @Test func defaults() {
        let info = ServiceInfo(environmentVariables: [:], buildStamp: nil)
        #expect(info.name.hasPrefix("unknown_service:"))
        #expect(info.version == nil)
        #expect(info.revision == nil)
        #expect(!info.instance.isEmpty)
        #expect(info.instance == ServiceInfo.hostName)
        #expect(info.startTime <= Date())
        #expect(info.startTime > Date().addingTimeInterval(-24 * 3600))
        #expect(info.uptime() >= 0)
    }

    @Test func unparsableBuildTimeIsReportedAndIgnored() {
        let info = ServiceInfo(name: "x", environmentVariables: ["BUILD_TIME": "last tuesday"], buildStamp: stamp)
        #expect(info.buildTime == stamp.buildTime)
        #expect(info.warnings.count == 1)
        #expect(info.warnings[0].contains("BUILD_TIME=last tuesday"))
    }

    @Test func otherEnvironmentVariablesAreNeverServed() {
        // The process environment itself is covered by ExampleServiceTests (a child process with
        // API_KEY set): setenv here would race with other tests starting processes.
        let environment = ["SERVICE_NAME": "x", "DEPLOYVERIFY_TEST_SECRET": "s3cr3t-value", "AWS_SECRET_ACCESS_KEY": "wJalrXUt"]
        let info = ServiceInfo(environmentVariables: environment, buildStamp: nil)
        let document = info.infoJSON(at: Date()) + BuildInfoMetrics.render(info)
        #expect(!document.contains("s3cr3t-value"))
        #expect(!document.contains("wJalrXUt"))
        #expect(!ServiceInfo.environmentVariableNames.contains("DEPLOYVERIFY_TEST_SECRET"))
    }

    @Test(arguments: [
        (BuildStamp(revision: "abc1234def", tag: "v1.4.2", describe: "v1.4.2"), "1.4.2"),
        (BuildStamp(revision: "abc1234def", tag: "release-7", describe: "release-7"), "release-7"),
        (BuildStamp(revision: "abc1234def", tag: "v1.4.2", describe: "v1.4.2-dirty", dirty: true), "1.4.2-dirty"),
        (BuildStamp(revision: "abc1234def", tag: nil, describe: "v1.4.2-3-gabc1234"), "1.4.2-3-gabc1234"),
        (BuildStamp(revision: "abc1234def", tag: nil, describe: "abc1234"), nil),
        (BuildStamp(revision: "abc1234def", tag: nil, describe: "abc1234-dirty", dirty: true), nil),
        (BuildStamp(), nil),
    ] as [(BuildStamp, String?)])
    func versionImpliedByGit(stamp: BuildStamp, expected: String?) {
        #expect(stamp.impliedVersion == expected)
    }

    @Test func stampJSONFromThePlugin() throws {
        let json = #"{"revision":"abc","branch":"","tag":"v2.0.0","describe":"v2.0.0","dirty":false,"commitTime":"2026-11-21T19:45:43+00:00","buildTime":"2026-11-21T19:45:53Z","git":true}"#
        let stamp = try #require(BuildStamp(json: json))
        #expect(stamp.revision == "abc")
        #expect(stamp.branch == nil) // empty means detached HEAD
        #expect(stamp.impliedVersion == "2.0.0")
        #expect(stamp.commitTime == Timestamps.parse("2026-11-21T19:45:43Z"))
        #expect(stamp.buildTime.map { Timestamps.iso8601($0) } == "2026-11-21T19:45:53Z")
    }

    @Test func testBinaryHasNoStamp() {
        // The plugin is not applied to the test target, so the weak reference resolves to nothing.
        #expect(BuildStamp.current == nil)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test func httpDatesReadBackWhatIsWritten() {
        for epoch in [0, 784_111_777, 1_764_791_095, 951_782_400, 253_402_300_799] {
            let text = Timestamps.httpDate(epochSeconds: epoch)
            #expect(Timestamps.parseHTTPDate(text) == Date(timeIntervalSince1970: Double(epoch)), "\(text)")
        }
        #expect(Timestamps.parseHTTPDate(" Sun, 06 Nov 1994 08:49:37 GMT ") == Date(timeIntervalSince1970: 784_111_777))
        for text in ["Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
                     "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
                     "Xyz, 06 Nov 1994 08:49:37 GMT", "", "1e300"] {
            #expect(Timestamps.parseHTTPDate(text) == nil, "\(text)")
        }
    }

    @Test func formatsAndParses() throws {
        let date = Date(timeIntervalSince1970: 1_795_290_722.089)
        #expect(Timestamps.iso8601(date) == "2026-11-21T19:52:02Z")
        #expect(Timestamps.iso8601(date, milliseconds: true) == "2026-11-21T19:52:02.089Z")
        #expect(Timestamps.httpDate(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        let parsed = try #require(Timestamps.parse("2026-11-21T21:52:02.5+02:00"))
        #expect(parsed.timeIntervalSince1970 == 1_795_290_722.5)
        #expect(Timestamps.parse("2026-11-21 19:52:02Z")?.timeIntervalSince1970 == 1_795_290_722)
        #expect(Timestamps.parse("1795290722")?.timeIntervalSince1970 == 1_795_290_722)
        for bad in ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-21T19:52:02", "2026-11-21T19:52:02Zjunk", "-5"] {
            #expect(Timestamps.parse(bad) == nil, "\(bad)")
        }
    }
}

@Suite("CancellableSleep")
struct CancellableSleepTests {
    @Test func sleepsTheWholeDurationAcrossSlices() async throws {
        let started = ContinuousClock.now
        try await CancellableSleep.sleep(for: .milliseconds(1300))
        #expect(ContinuousClock.now - started >= .milliseconds(1300))
        try await CancellableSleep.sleep(until: started) // a deadline already past returns at once
    }

    @Test func aCancelledSleepThrowsAtOnceAndLeavesNoLongTimer() async throws {
        let started = ContinuousClock.now
        let sleeper = Task { try await CancellableSleep.sleep(for: .seconds(3600)) }
        try await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(CancellableSleep.slice <= .seconds(1), "no timer outlives its cancelled sleep by more than a second")
    }
}
