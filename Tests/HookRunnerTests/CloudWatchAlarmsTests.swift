import Foundation
import InfoEndpoint
import Testing
@testable import DeployVerifyKit
import TestSupport

/// A CloudWatch query-protocol call (what the AWS CLI sends), for setting alarms up.
private func cloudWatch(_ client: AWSClient, _ action: String, _ parameters: [(String, String)]) async throws {
    let body = ([("Action", action), ("Version", "2010-08-01")] + parameters)
        .map { AWSClient.formEncoded($0.0) + "=" + AWSClient.formEncoded($0.1) }.joined(separator: "&")
    _ = try await client.send(.cloudWatch, operation: "CloudWatch \(action)",
                              headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(body.utf8))
}

private func putAlarm(_ client: AWSClient, _ name: String) async throws {
    try await cloudWatch(client, "PutMetricAlarm", [
        ("AlarmName", name), ("MetricName", "Errors"), ("Namespace", "Checkout"), ("Statistic", "Sum"), ("Period", "60"),
        ("EvaluationPeriods", "1"), ("Threshold", "1"), ("ComparisonOperator", "GreaterThanThreshold"),
        ("Dimensions.member.1.Name", "Service"), ("Dimensions.member.1.Value", "checkout"),
        ("AlarmActions.member.1", "arn:aws:sns:us-east-1:123456789012:pager"),
    ])
}

private func setState(_ client: AWSClient, _ name: String, _ state: String) async throws {
    try await cloudWatch(client, "SetAlarmState", [("AlarmName", name), ("StateValue", state),
                                                   ("StateReason", "Threshold Crossed: 1 datapoint [5.0] was greater than the threshold (1.0)")])
}

private struct Files {
    let directory: URL

    init(_ config: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloudwatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try config.replacingOccurrences(of: "$DIR", with: directory.path)
            .write(to: directory.appendingPathComponent("hooks.json"), atomically: true, encoding: .utf8)
    }

    var config: String { directory.appendingPathComponent("hooks.json").path }
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
    func remove() { try? FileManager.default.removeItem(at: directory) }

    func checks() throws -> [[String: Any]] {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(read("r.json").utf8)) as? [String: Any])
        return try #require(report["checks"] as? [[String: Any]])
    }
}

@Suite("alarms: CloudWatch (moto with signature checking, and a scripted endpoint for paging)")
struct CloudWatchAlarmsTests {
    @Test func alarmsInALARMHoldTheDeployment() async throws {
        let moto = try await MotoServer.shared()
        let client = try AWSClient(environment: moto.environment())
        let prefix = "dv-\(UUID().uuidString.prefix(8).lowercased())-"
        try await putAlarm(client, prefix + "5xx")
        try await putAlarm(client, prefix + "latency")
        try await setState(client, prefix + "5xx", "ALARM")
        try await setState(client, prefix + "latency", "OK")

        let files = try Files("""
        {"phases": {
          "named": [{"name": "no alarm", "alarms": {"cloudwatch": {"names": ["\(prefix)5xx", "\(prefix)latency"]}}},
                    {"name": "smoke", "command": ["touch", "$DIR/smoke-ran"]}],
          "latency": [{"alarms": {"cloudwatch": {"names": ["\(prefix)latency"]}}}],
          "prefixed": [{"name": "service alarms", "alarms": {"cloudwatch": {"prefix": "\(prefix)"}}}],
          "regional": [{"alarms": {"cloudwatch": {"prefix": "\(prefix)", "region": "eu-west-1"}}}],
          "missing": [{"alarms": {"cloudwatch": {"names": ["\(prefix)latency", "\(prefix)typo"]}}}],
          "nothing": [{"alarms": {"cloudwatch": {"prefix": "\(prefix)none-"}}}]
        }}
        """)
        defer { files.remove() }
        func hookrunner(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> CommandResult {
            try await runProduct("hookrunner", arguments + ["--config", files.config, "--report", "json=\(files.path("r.json"))"],
                                 environment: moto.environment(extra))
        }

        let named = try await hookrunner(["named"])
        #expect(named.status == 4, "\(named.output)")
        #expect(!FileManager.default.fileExists(atPath: files.path("smoke-ran")))
        let reason = try #require(try files.checks().first?["reason"] as? String)
        #expect(reason.hasPrefix("1 of 2 alarms in ALARM: \(prefix)5xx (Threshold Crossed: 1 datapoint [5.0] was greater than the threshold (1.0)) since "),
                "\(reason)")
        let condition = try #require((try files.checks().first?["conditions"] as? [[String: Any]])?.first)
        #expect(condition["actual"] as? String == "\(prefix)5xx ALARM, \(prefix)latency OK")

        #expect(try await hookrunner(["latency"]).status == 0)
        let prefixed = try await hookrunner(["prefixed"])
        #expect(prefixed.status == 4)
        #expect(prefixed.stdout.contains("⛔ service alarms: blocked: 1 of 2 alarms in ALARM: \(prefix)5xx"), "\(prefixed.stdout)")
        let regional = try await hookrunner(["regional"])
        #expect(regional.status == 4, "no such alarms in eu-west-1")
        #expect(regional.stdout.contains("could not be evaluated: no CloudWatch alarm's name starts with '\(prefix)' in eu-west-1"),
                "\(regional.stdout)")

        try await setState(client, prefix + "5xx", "OK")
        #expect(try await hookrunner(["named"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: files.path("smoke-ran")))
        #expect(try await hookrunner(["prefixed"]).status == 0)
        try await setState(client, prefix + "latency", "INSUFFICIENT_DATA")
        #expect(try await hookrunner(["prefixed"]).status == 0, "only ALARM holds")

        // What cannot be evaluated holds the deployment, with the reason.
        let missing = try await hookrunner(["missing"])
        #expect(missing.status == 4)
        #expect(missing.stdout.contains("could not be evaluated: no CloudWatch alarm named '\(prefix)typo' in us-east-1"), "\(missing.stdout)")
        let nothing = try await hookrunner(["nothing"])
        #expect(nothing.status == 4)
        #expect(nothing.stdout.contains("no CloudWatch alarm's name starts with '\(prefix)none-'"))

        let wrongSecret = try await hookrunner(["latency"], ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
        #expect(wrongSecret.status == 4, "\(wrongSecret.output)")
        #expect(wrongSecret.stdout.contains("blocked: could not be evaluated: CloudWatch DescribeAlarms: SignatureDoesNotMatch"),
                "\(wrongSecret.stdout)")
        #expect(!wrongSecret.output.contains("not-the-secret"))
        let overridden = try await hookrunner(["latency", "--override-blockers", "CloudWatch is down, INC-99"],
                                              ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
        #expect(overridden.status == 0, "\(overridden.output)")
        #expect(try files.checks().first?["result"] as? String == "overridden")
        #expect(files.read("r.json").contains("\"overrideBlockers\":\"CloudWatch is down, INC-99\""))

        var noRegion = moto.environment()
        noRegion["AWS_REGION"] = nil
        noRegion["AWS_DEFAULT_REGION"] = nil
        let unconfigured = try await runProduct("hookrunner", ["latency", "--config", files.config], environment: noRegion)
        #expect(unconfigured.status == 4)
        #expect(unconfigured.stdout.contains("could not be evaluated: AWS configuration: no region"), "\(unconfigured.stdout)")
    }

    @Test func describeAlarmsFollowsNextTokenAndReadsNestedMembers() async throws {
        @Sendable func page(_ alarms: [(String, String)], next: String?) -> String {
            let members = alarms.map { name, state in
                """
                <member><AlarmName>\(name)</AlarmName><OKActions/><AlarmActions><member>arn:aws:sns:us-east-1:1:t</member></AlarmActions>\
                <StateValue>\(state)</StateValue><StateReason>r &amp; \(name)</StateReason>\
                <Dimensions><member><Name>Service</Name><Value>x</Value></member></Dimensions></member>
                """
            }.joined()
            return """
            <DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><DescribeAlarmsResult>\
            <CompositeAlarms>\(next == nil ? "<member><AlarmName>composite</AlarmName><StateValue>OK</StateValue></member>" : "")</CompositeAlarms>\
            <MetricAlarms>\(members)</MetricAlarms>\(next.map { "<NextToken>\($0)</NextToken>" } ?? "")\
            </DescribeAlarmsResult></DescribeAlarmsResponse>
            """
        }
        let server = try ScriptedServer { request, index in
            let body = String(decoding: request.body, as: UTF8.self)
            if body.contains("NextToken=") {
                return InfoResponse(status: 200, contentType: "text/xml", body: page([("p-3", "ALARM")], next: nil))
            }
            return InfoResponse(status: 200, contentType: "text/xml", body: page([("p-1", "OK"), ("p-2", "INSUFFICIENT_DATA")], next: "tok+/=1"))
        }
        defer { Task { await server.stop() } }
        let environment = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
                           "AWS_ENDPOINT_URL": server.url(""), "AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_CONFIG_FILE": "/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"]
        let client = try AWSClient(environment: environment)
        let alarms = try await client.describeAlarms(prefix: "p-")
        #expect(alarms.map(\.name) == ["p-1", "p-2", "p-3", "composite"])
        #expect(alarms.map(\.state) == ["OK", "INSUFFICIENT_DATA", "ALARM", "OK"])
        #expect(alarms.map(\.type) == ["MetricAlarm", "MetricAlarm", "MetricAlarm", "CompositeAlarm"])
        #expect(alarms[0].reason == "r & p-1")
        let bodies = server.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.count == 2)
        #expect(bodies[0] == "Action=DescribeAlarms&Version=2010-08-01&AlarmNamePrefix=p-&AlarmTypes.member.1=CompositeAlarm"
            + "&AlarmTypes.member.2=MetricAlarm&MaxRecords=100")
        #expect(bodies[1].hasSuffix("&MaxRecords=100&NextToken=tok%2B%2F%3D1"))
        #expect(server.requests.allSatisfy { $0.header("Authorization")?.contains("/us-east-1/monitoring/aws4_request") == true })

        // Names go 100 to a call (AlarmNames.member.N), separately from the prefix.
        let names = (1...101).map { "n-\($0)" }
        _ = try? await client.describeAlarms(names: names)
        let nameBodies = server.requests.dropFirst(2).map { String(decoding: $0.body, as: UTF8.self) }
        #expect(nameBodies.first?.contains("AlarmNames.member.100=n-100&AlarmTypes") == true)
        #expect(nameBodies.contains { $0.contains("AlarmNames.member.1=n-101&AlarmTypes") })
    }
}
