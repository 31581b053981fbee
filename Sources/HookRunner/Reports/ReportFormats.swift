import DeployVerifyKit
import Foundation
import InfoEndpoint

/// The report files hookrunner writes: `--report junit=PATH`, `json=PATH`, `tap=PATH`.
/// Everything in them has already been through the redactor.
package enum ReportFormat: String, Sendable, CaseIterable {
    case junit, json, tap

    package func render(_ report: PhaseReport) -> String {
        switch self {
        case .junit: JUnitReport.render(report)
        case .json: JSONReport.render(report)
        case .tap: TAPReport.render(report)
        }
    }
}

private func seconds(_ duration: Duration) -> String {
    String(format: "%.3f", duration.seconds)
}

/// JUnit XML as most CI systems read it (testsuites > testsuite > testcase with failure,
/// error or skipped); a phase is a suite, CodeDeploy's variables are its properties.
enum JUnitReport {
    static func render(_ report: PhaseReport) -> String {
        let failures = report.count(.failed), errors = report.count(.interrupted), skipped = report.count(.skipped)
        let timestamp = Timestamps.iso8601(report.started)
        let counts = "tests=\"\(report.checks.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(seconds(report.duration))\" timestamp=\"\(timestamp)\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"hookrunner\" \(counts)>\n"
        xml += "  <testsuite name=\"\(escape(report.phase))\" \(counts) file=\"\(escape(report.configFile))\">\n"
        let properties = report.deployment + [("phase", report.phase)] + (report.deadlineExceeded ? [("result", "deadline exceeded")] : [])
            + (report.interrupted ? [("result", "interrupted")] : []) + codeDeployProperties(report.codeDeployHook)
        xml += "    <properties>\n"
        for (name, value) in properties {
            xml += "      <property name=\"\(escape(name))\" value=\"\(escape(value))\"/>\n"
        }
        xml += "    </properties>\n"
        for check in report.checks {
            let classname = check.group.map { "\(report.phase).\($0)" } ?? report.phase
            xml += "    <testcase name=\"\(escape(check.name))\" classname=\"\(escape(classname))\" time=\"\(seconds(check.duration))\" file=\"\(escape(report.configFile))\">\n"
            let details = ([check.target, "at \(check.path)", check.attempts > 1 ? "attempts: \(check.attempts)" : nil]
                .compactMap { $0 } + check.conditions.map { ($0.passed ? "✔ " : "✘ ") + $0.message }).joined(separator: "\n")
            switch check.outcome {
            case .passed:
                break
            case .failed:
                xml += "      <failure message=\"\(escape(check.reason ?? "failed"))\" type=\"\(check.kind)\">\(escape(details))</failure>\n"
            case .interrupted:
                xml += "      <error message=\"\(escape(check.reason ?? "interrupted"))\" type=\"interrupted\">\(escape(details))</error>\n"
            case .skipped:
                xml += "      <skipped message=\"\(escape(check.reason ?? "skipped"))\"/>\n"
            }
            if let stdout = check.stdout, !stdout.isEmpty { xml += "      <system-out>\(escape(stdout))</system-out>\n" }
            if let stderr = check.stderr, !stderr.isEmpty { xml += "      <system-err>\(escape(stderr))</system-err>\n" }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    /// The CodeDeploy hook execution and what was reported for it.
    static func codeDeployProperties(_ hook: CodeDeployHookResult?) -> [(String, String)] {
        guard let hook else { return [] }
        return [("codedeploy.deploymentId", hook.hook.deploymentID), ("codedeploy.lifecycleEventHookExecutionId", hook.hook.executionID),
                ("codedeploy.status", hook.status), ("codedeploy.reported", String(hook.reported))]
            + (hook.error.map { [("codedeploy.error", $0)] } ?? [])
    }

    /// XML text and attribute escaping; characters XML 1.0 cannot carry are dropped.
    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && !(0xFFFE...0xFFFF).contains(scalar.value) { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}

/// TAP version 14: a plan, a test point per check, YAML diagnostics for failures.
enum TAPReport {
    static func render(_ report: PhaseReport) -> String {
        var lines = ["TAP version 14", "# hookrunner \(report.phase) (\(report.configFile))"]
        for (name, value) in report.deployment { lines.append("# \(name)=\(value)") }
        lines.append("1..\(report.checks.count)")
        for (index, check) in report.checks.enumerated() {
            let number = index + 1
            let description = check.name.replacingOccurrences(of: "#", with: "\\#").replacingOccurrences(of: "\n", with: " ")
            switch check.outcome {
            case .passed:
                lines.append("ok \(number) - \(description)")
            case .skipped:
                lines.append("ok \(number) - \(description) # SKIP \(check.reason ?? "skipped")")
            case .failed, .interrupted:
                lines.append("not ok \(number) - \(description)")
                lines.append("  ---")
                lines.append("  message: \(yaml(check.reason ?? check.outcome.rawValue))")
                lines.append("  severity: \(check.outcome == .failed ? "fail" : "interrupted")")
                lines.append("  at: \(yaml(check.path))")
                lines.append("  target: \(yaml(check.target))")
                lines.append("  attempts: \(check.attempts)")
                lines.append("  duration_ms: \(check.duration.milliseconds)")
                if !check.conditions.isEmpty {
                    lines.append("  conditions:")
                    for condition in check.conditions {
                        lines.append("    - condition: \(yaml(condition.condition))")
                        lines.append("      passed: \(condition.passed)")
                        lines.append("      actual: \(yaml(condition.actual))")
                    }
                }
                lines.append("  ...")
            }
        }
        if report.deadlineExceeded { lines.append("# the overall deadline passed") }
        if report.interrupted { lines.append("# interrupted") }
        if let hook = report.codeDeployHook { lines.append("# codedeploy: \(hook.summary.replacingOccurrences(of: "\n", with: " "))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    static func yaml(_ text: String) -> String {
        var json = ""
        JSONText.appendQuoted(text, to: &json)
        return json
    }
}

/// The whole run as JSON, for machines and for `hookrunner serve`'s answers.
package enum JSONReport {
    package static func render(_ report: PhaseReport) -> String {
        var json = JSONText()
        write(report, into: &json)
        return json.text
    }

    package static func write(_ report: PhaseReport, into json: inout JSONText, extra: (inout JSONText) -> Void = { _ in }) {
        json.object { json in
            extra(&json)
            json.member("phase", report.phase)
            json.member("result", report.passed ? "passed" : report.exitCode == 1 ? "failed" : report.deadlineExceeded ? "deadline-exceeded" : "interrupted")
            json.key("exitCode")
            json.number(Int(report.exitCode))
            json.member("configFile", report.configFile)
            json.member("lifecycleEvent", report.lifecycleEvent)
            json.key("deployment")
            json.object { json in
                for (name, value) in report.deployment { json.member(name, value) }
            }
            if let hook = report.codeDeployHook {
                json.key("codedeployHook")
                hook.write(into: &json)
            }
            json.member("startedAt", Timestamps.iso8601(report.started, milliseconds: true))
            json.key("durationMs")
            json.number(Int(report.duration.milliseconds))
            json.key("counts")
            json.object { json in
                for outcome in [CheckReport.Outcome.passed, .failed, .skipped, .interrupted] {
                    json.key(outcome.rawValue)
                    json.number(report.count(outcome))
                }
            }
            json.key("checks")
            json.array { json in
                for check in report.checks {
                    json.object { json in
                        json.member("name", check.name)
                        json.member("path", check.path)
                        json.member("kind", check.kind)
                        json.member("target", check.target)
                        json.member("result", check.outcome.rawValue)
                        json.member("group", check.group)
                        json.key("attempts")
                        json.number(check.attempts)
                        json.member("startedAt", Timestamps.iso8601(check.started, milliseconds: true))
                        json.key("durationMs")
                        json.number(Int(check.duration.milliseconds))
                        json.member("reason", check.reason)
                        if let repetition = check.repetition {
                            json.key("repeat")
                            json.object { json in
                                json.key("passed")
                                json.number(repetition.passed)
                                json.key("total")
                                json.number(repetition.total)
                            }
                        }
                        json.key("conditions")
                        json.array { json in
                            for condition in check.conditions {
                                json.object { json in
                                    json.member("condition", condition.condition)
                                    json.key("passed")
                                    json.bool(condition.passed)
                                    json.member("actual", condition.actual)
                                }
                            }
                        }
                        if let stdout = check.stdout { json.member("stdout", stdout) }
                        if let stderr = check.stderr { json.member("stderr", stderr) }
                    }
                }
            }
        }
    }
}

/// GitHub Actions: `::error` annotations for failed checks and a Markdown step summary.
enum GitHubActions {
    /// At most ten error annotations show per step; beyond that a notice points to the summary.
    static func annotations(_ report: PhaseReport) -> [String] {
        let failed = report.checks.filter { $0.outcome == .failed || $0.outcome == .interrupted }
        var lines = failed.prefix(10).map { check in
            "::error title=\(property("hookrunner \(report.phase): \(check.name)"))::\(message(check.reason ?? check.outcome.rawValue))"
        }
        if failed.count > 10 {
            lines.append("::notice::\(message("\(failed.count - 10) more failed checks: see the step summary"))")
        }
        return lines
    }

    static func summary(_ report: PhaseReport) -> String {
        let headline = report.passed ? "✅ passed" : report.exitCode == 1 ? "❌ failed" : "⚠️ did not finish"
        var markdown = "### hookrunner \(report.phase): \(headline)\n\n"
        markdown += "\(report.tally). Checks from `\(report.configFile)`"
        if !report.deployment.isEmpty {
            markdown += "; " + report.deployment.map { "\($0.name) `\($0.value)`" }.joined(separator: ", ")
        }
        markdown += ".\n\n| | Check | Time | Details |\n| --- | --- | --- | --- |\n"
        let ordered = report.checks.filter { $0.outcome == .failed || $0.outcome == .interrupted }
            + report.checks.filter { $0.outcome == .passed || $0.outcome == .skipped }
        for check in ordered {
            let icon = switch check.outcome {
            case .passed: "✅"
            case .failed: "❌"
            case .skipped: "⏭️"
            case .interrupted: "⚠️"
            }
            let details = check.reason ?? check.target
            markdown += "| \(icon) | \(cell(check.name)) | \(DurationText.format(.milliseconds(check.duration.milliseconds))) | \(cell(details)) |\n"
        }
        return markdown + "\n"
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// Workflow-command escaping of a message (GitHub docs: %, CR, LF).
    static func message(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    /// Property values additionally escape `:` and `,`.
    static func property(_ text: String) -> String {
        message(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
