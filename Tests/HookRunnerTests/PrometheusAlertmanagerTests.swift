import Foundation
import InfoEndpoint
import Testing
@testable import HookRunner
import TestSupport

private struct Checks {
    let directory: URL

    init(_ config: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("monitoring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try config.replacingOccurrences(of: "$DIR", with: directory.path)
            .write(to: directory.appendingPathComponent("hooks.json"), atomically: true, encoding: .utf8)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
    func remove() { try? FileManager.default.removeItem(at: directory) }

    func run(_ phase: String, _ extra: [String] = []) async throws -> CommandResult {
        try await runProduct("hookrunner", [phase, "--config", path("hooks.json"), "--report", "json=\(path("r.json"))",
                                            "--report", "junit=\(path("r.xml"))"] + extra)
    }

    func report() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(read("r.json").utf8)) as? [String: Any], "\(read("r.json"))")
    }
}

/// The alerts Alertmanager has for `service="checkout"` (active, not silenced or inhibited).
private func checkoutAlerts(_ alertmanager: MonitoringServer) async throws -> [[String: Any]] {
    let answer = try await plainGET(port: alertmanager.port, path: "/api/v2/alerts?silenced=false&inhibited=false&filter=service%3D%22checkout%22")
    guard answer.status == 200, let alerts = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [[String: Any]] else {
        throw TestFailure("Alertmanager answered \(answer.status): \(answer.body)")
    }
    return alerts
}

@Suite("alarms and prometheus checks against Debian's Prometheus and Alertmanager", .serialized)
struct PrometheusAlertmanagerTests {
    @Test func aFiringAlertHoldsTheDeploymentAndTheMetricGatesIt() async throws {
        // A local exporter: two pods' error ratios, the test decides their values.
        let ratios = Locked<(a: String, b: String)>(("0.01", "0.2"))
        let exporter = try ScriptedServer { _, _ in
            let (a, b) = ratios.current
            return InfoResponse(status: 200, contentType: "text/plain; version=0.0.4", body: """
            # HELP checkout_errors_ratio Share of checkout requests that failed.
            # TYPE checkout_errors_ratio gauge
            checkout_errors_ratio{pod="a"} \(a)
            checkout_errors_ratio{pod="b"} \(b)

            """)
        }
        let alertmanager = try await MonitoringServer.alertmanager()
        let prometheus: MonitoringServer
        do {
            prometheus = try await MonitoringServer.prometheus(targets: [("checkout", "127.0.0.1:\(exporter.port)")], rules: """
            groups:
              - name: checkout
                interval: 1s
                rules:
                  - alert: CheckoutErrorsHigh
                    expr: checkout_errors_ratio > 0.05
                    labels:
                      service: checkout
                      severity: page
                    annotations:
                      summary: checkout errors above 5%
            """, alertmanager: "127.0.0.1:\(alertmanager.port)")
        } catch {
            await alertmanager.stop()
            await exporter.stop()
            throw error
        }
        let checks = try Checks("""
        {"vars": {"AM": "\(alertmanager.url)", "PROM": "\(prometheus.url)/"},
         "phases": {
          "pre-traffic": [
            {"name": "smoke", "command": ["touch", "$DIR/smoke-ran"]},
            {"name": "no checkout page", "alarms": {"alertmanager": {"url": "${AM}",
              "matchers": ["service=\\"checkout\\"", "severity=~\\"page|critical\\""]}}}
          ],
          "unrelated": [
            {"name": "billing", "alarms": {"alertmanager": {"url": "${AM}", "matchers": ["service=billing"]}}},
            {"name": "not paging", "alarms": {"alertmanager": {"url": "${AM}", "matchers": ["service=\\"checkout\\"", "severity!=\\"page\\""]}}},
            {"name": "other alerts", "alarms": {"alertmanager": {"url": "${AM}", "matchers": ["alertname!~\\"Checkout.*\\"", "service=~\\".+\\""]}}}
          ],
          "alertmanager-down": [{"name": "unreachable", "alarms": {"alertmanager": {"url": "http://127.0.0.1:1", "matchers": ["service=checkout"]}}}],
          "canary": [{"name": "error ratio", "prometheus": {"url": "${PROM}", "query": "checkout_errors_ratio"}, "expect": ["value < 0.05"]}],
          "pod-a": [{"name": "pod a", "prometheus": {"url": "${PROM}", "query": "checkout_errors_ratio{pod=\\"a\\"}"},
                     "expect": ["value < 0.05", "value >= 0"]}],
          "worst": [{"name": "worst pod", "prometheus": {"url": "${PROM}", "query": "max(checkout_errors_ratio)"}, "expect": "value <= 0.05"}],
          "no-data": [{"name": "no data", "prometheus": {"url": "${PROM}", "query": "checkout_errors_ratio{pod=\\"c\\"}"}, "expect": ["value < 0.05"]}],
          "no-data-ok": [{"prometheus": {"url": "${PROM}", "query": "checkout_errors_ratio{pod=\\"c\\"}", "ifEmpty": "pass"}, "expect": ["value < 0.05"]}],
          "range": [{"prometheus": {"url": "${PROM}", "query": "checkout_errors_ratio[1m]"}, "expect": ["value < 1"]}],
          "syntax": [{"prometheus": {"url": "${PROM}", "query": "sum(checkout_errors_ratio"}, "expect": ["value < 1"]}]
         }}
        """)
        defer { checks.remove() }
        do {
            // Prometheus scrapes the exporter, the rule fires, Prometheus sends the alert on.
            try await withTimeout(.seconds(90), "the alert to reach Alertmanager") {
                while try await checkoutAlerts(alertmanager).isEmpty { try await Task.sleep(for: .milliseconds(250)) }
            }

            let held = try await checks.run("pre-traffic")
            #expect(held.status == 4, "\(held.output)")
            #expect(!FileManager.default.fileExists(atPath: checks.path("smoke-ran")), "nothing else runs")
            let reason = try #require((try checks.report()["blockedBy"] as? [[String: Any]])?.first?["reason"] as? String)
            #expect(reason.hasPrefix("1 alert firing: CheckoutErrorsHigh{instance=\"127.0.0.1:\(exporter.port)\", job=\"checkout\", pod=\"b\", "
                + "service=\"checkout\", severity=\"page\"} since "), "\(reason)")
            #expect(reason.hasSuffix(": checkout errors above 5%"), "\(reason)")

            let unrelated = try await checks.run("unrelated")
            #expect(unrelated.status == 0, "matchers that select no firing alert pass: \(unrelated.output)")
            let down = try await checks.run("alertmanager-down")
            #expect(down.status == 4)
            #expect(down.stdout.contains("⛔ unreachable: blocked: could not be evaluated: Alertmanager: refused"), "\(down.stdout)")

            let canary = try await checks.run("canary")
            #expect(canary.status == 1, "\(canary.output)")
            #expect(canary.stdout.contains("expected value < 0.05 for every series, 1 of 2 not: 0.2 for "
                + "checkout_errors_ratio{instance=\"127.0.0.1:\(exporter.port)\", job=\"checkout\", pod=\"b\"}"), "\(canary.stdout)")
            #expect(try await checks.run("pod-a").status == 0)
            let worst = try await checks.run("worst")
            #expect(worst.status == 1)
            #expect(worst.stdout.contains("✘ worst pod: expected value <= 0.05, actual 0.2 ("), "a scalar-like vector without labels: \(worst.stdout)")
            let noData = try await checks.run("no-data")
            #expect(noData.status == 1)
            #expect(noData.stdout.contains("the query returned no series, so there is nothing to judge value < 0.05 on"), "\(noData.stdout)")
            #expect(try await checks.run("no-data-ok").status == 0)
            let range = try await checks.run("range")
            #expect(range.status == 1)
            #expect(range.stdout.contains("the query returns a range vector"), "\(range.stdout)")
            let syntax = try await checks.run("syntax")
            #expect(syntax.status == 1)
            #expect(syntax.stdout.contains("Prometheus refused the query (HTTP 400): bad_data: "), "\(syntax.stdout)")

            // A recovery deploy goes through, with the reason on record.
            let overridden = try await checks.run("pre-traffic", ["--override-blockers", "roll forward the fix for INC-7"])
            #expect(overridden.status == 0, "\(overridden.output)")
            #expect(FileManager.default.fileExists(atPath: checks.path("smoke-ran")))
            #expect(try checks.report()["overrideBlockers"] as? String == "roll forward the fix for INC-7")
            #expect(checks.read("r.xml").contains("<property name=\"override-blockers\" value=\"roll forward the fix for INC-7\"/>"))

            // The metric comes back; Prometheus resolves the alert and tells Alertmanager.
            ratios.withLock { $0.b = "0.02" }
            try await withTimeout(.seconds(90), "the alert to resolve") {
                while try await !checkoutAlerts(alertmanager).isEmpty { try await Task.sleep(for: .milliseconds(250)) }
            }
            let passes = try await checks.run("pre-traffic")
            #expect(passes.status == 0, "\(passes.output)")
            #expect(try await checks.run("canary").status == 0)
            #expect(try await checks.run("worst").status == 0)
        } catch {
            Issue.record("\(error)\nPrometheus: \(prometheus.output.suffix(1500))\nAlertmanager: \(alertmanager.output.suffix(1500))")
        }
        await prometheus.stop()
        await alertmanager.stop()
        await exporter.stop()
    }

    @Test func answersThatAreNotVectors() throws {
        let scalar = Array(#"{"status":"success","data":{"resultType":"scalar","result":[1712000000.5,"0.25"]}}"#.utf8)
        #expect(try PrometheusAnswer.series(scalar, status: 200) == [PrometheusSeries(labels: [], value: "0.25")])
        let nan = Array(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[1,"NaN"]}]}}"#.utf8)
        #expect(try PrometheusAnswer.series(nan, status: 200).first?.value == "NaN")
        let unavailable = Array(#"{"status":"error","errorType":"unavailable","error":"too many queries"}"#.utf8)
        #expect(throws: PrometheusAnswer.Problem.self) { try PrometheusAnswer.series(unavailable, status: 503) }
        #expect(throws: PrometheusAnswer.Problem.self) { try PrometheusAnswer.series(Array("<html>proxy error</html>".utf8), status: 502) }
        let broken = Array(#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}}"#.utf8)
        #expect(throws: PrometheusAnswer.Problem.self) { try PrometheusAnswer.series(broken, status: 200) }
        #expect(PrometheusSeries(labels: [("job", "x"), ("__name__", "up"), ("a", "1")], value: "1").labelText == "up{a=\"1\", job=\"x\"}")
    }

    @Test func alertMatchersAreReadAsAlertmanagerWritesThem() throws {
        #expect(try AlertMatcher.parse("service=checkout").description == #"service="checkout""#)
        #expect(try AlertMatcher.parse(#"severity =~ "page|critical""#) == AlertMatcher(name: "severity", op: .matches, value: "page|critical"))
        #expect(try AlertMatcher.parse(#"msg!="say \"hi\"""#).value == #"say "hi""#)
        #expect(try AlertMatcher.parse(#"msg!="say \"hi\"""#).description == #"msg!="say \"hi\"""#)
        #expect(try AlertMatcher.parse("a!~b.*").op == .notMatches)
        for bad in ["", "=x", "1a=b", #"a="b"c"#, "a=b,c", "a", #"a="b"#] {
            #expect(throws: AlertMatcher.SyntaxError.self, "\(bad)") { try AlertMatcher.parse(bad) }
        }
    }
}
