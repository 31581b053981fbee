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
        let failures = report.count(.failed) + report.count(.blocked), errors = report.count(.interrupted), skipped = report.count(.skipped)
        let timestamp = Timestamps.iso8601(report.started)
        let counts = "tests=\"\(report.checks.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(seconds(report.duration))\" timestamp=\"\(timestamp)\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"hookrunner\" \(counts)>\n"
        xml += "  <testsuite name=\"\(escape(report.phase))\" \(counts) file=\"\(escape(report.configFile))\">\n"
        var properties = report.deployment + [("phase", report.phase)] + (report.deadlineExceeded ? [("result", "deadline exceeded")] : [])
            + (report.interrupted ? [("result", "interrupted")] : []) + codeDeployProperties(report.codeDeployHook)
        if report.exitCode == 4 {
            properties.append(("result", "blocked"))
            properties.append(("blocked", report.blockedSummary ?? "blocked"))
        }
        if let override = report.overrideReason { properties.append(("override-blockers", override)) }
        for check in report.checks {
            guard let approval = check.approval else { continue }
            properties += [("approval", "\(check.name): \(approval.summary)"), ("approval.request", approval.request),
                           ("approval.decision", approval.event.rawValue)]
                + [("approval.by", approval.by), ("approval.address", approval.address), ("approval.service", approval.service),
                   ("approval.version", approval.version), ("approval.build", approval.build)].compactMap { name, value in value.map { (name, $0) } }
        }
        xml += "    <properties>\n"
        for (name, value) in properties {
            xml += "      <property name=\"\(escape(name))\" value=\"\(escape(value))\"/>\n"
        }
        xml += "    </properties>\n"
        for check in report.checks {
            let classname = check.group.map { "\(report.phase).\($0)" } ?? report.phase
            xml += "    <testcase name=\"\(escape(check.name))\" classname=\"\(escape(classname))\" time=\"\(seconds(check.duration))\" file=\"\(escape(report.configFile))\">\n"
            let details = ([check.target, "at \(check.path)", check.attempts > 1 ? "attempts: \(check.attempts)" : nil, check.bake?.summary]
                .compactMap { $0 } + check.conditions.map { ($0.passed ? "✔ " : "✘ ") + $0.message }).joined(separator: "\n")
            var output = check.stdout ?? ""
            if let approval = check.approval { output = "approval \(approval.request): \(approval.summary)" + (output.isEmpty ? "" : "\n" + output) }
            switch check.outcome {
            case .passed:
                break
            case .failed:
                xml += "      <failure message=\"\(escape(check.reason ?? "failed"))\" type=\"\(check.kind)\">\(escape(details))</failure>\n"
            case .blocked:
                xml += "      <failure message=\"\(escape("blocked: " + (check.reason ?? "held")))\" type=\"blocker\">\(escape(details))</failure>\n"
            case .overridden:
                output = "would block, overridden (--override-blockers: \(report.overrideReason ?? "")): \(check.reason ?? "held")"
                    + (output.isEmpty ? "" : "\n" + output)
            case .interrupted:
                xml += "      <error message=\"\(escape(check.reason ?? "interrupted"))\" type=\"interrupted\">\(escape(details))</error>\n"
            case .skipped:
                xml += "      <skipped message=\"\(escape(check.reason ?? "skipped"))\"/>\n"
            }
            if !output.isEmpty { xml += "      <system-out>\(escape(output))</system-out>\n" }
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
        if let override = report.overrideReason { lines.append("# blockers overridden (--override-blockers): \(comment(override))") }
        lines.append("1..\(report.checks.count)")
        for (index, check) in report.checks.enumerated() {
            let number = index + 1
            let description = check.name.replacingOccurrences(of: "#", with: "\\#").replacingOccurrences(of: "\n", with: " ")
            switch check.outcome {
            case .passed:
                lines.append("ok \(number) - \(description)")
                if let approval = check.approval { lines.append("# approval \(approval.request): \(comment(approval.summary))") }
            case .overridden:
                lines.append("ok \(number) - \(description)")
                lines.append("# would block, overridden: \(comment(check.reason ?? "held"))")
            case .skipped:
                lines.append("ok \(number) - \(description) # SKIP \(check.reason ?? "skipped")")
            case .failed, .interrupted, .blocked:
                lines.append("not ok \(number) - \(description)")
                lines.append("  ---")
                lines.append("  message: \(yaml((check.outcome == .blocked ? "blocked: " : "") + (check.reason ?? check.outcome.rawValue)))")
                lines.append("  severity: \(check.outcome == .failed ? "fail" : check.outcome == .blocked ? "blocked" : "interrupted")")
                lines.append("  at: \(yaml(check.path))")
                lines.append("  target: \(yaml(check.target))")
                lines.append("  attempts: \(check.attempts)")
                lines.append("  duration_ms: \(check.duration.milliseconds)")
                if let approval = check.approval {
                    lines.append("  approval: {request: \(yaml(approval.request)), decision: \(yaml(approval.event.rawValue)), "
                        + "by: \(yaml(approval.by ?? "")), summary: \(yaml(approval.summary))}")
                }
                if let bake = check.bake {
                    lines.append("  bake: {rounds: \(bake.rounds), baked_ms: \(bake.baked.milliseconds), for_ms: \(bake.planned.milliseconds)}")
                }
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
        if report.exitCode == 4, let blocked = report.blockedSummary {
            lines.append("# \(comment(blocked)); nothing else ran: no release was judged")
        }
        if let hook = report.codeDeployHook { lines.append("# codedeploy: \(hook.summary.replacingOccurrences(of: "\n", with: " "))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text on one comment line.
    static func comment(_ text: String) -> String {
        text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
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
            json.member("result", report.result)
            json.key("exitCode")
            json.number(Int(report.exitCode))
            json.key("blockedBy")
            json.array { json in
                for check in report.blockedBy {
                    json.object { json in
                        json.member("name", check.name)
                        json.member("path", check.path)
                        json.member("reason", check.reason)
                    }
                }
            }
            json.member("overrideBlockers", report.overrideReason)
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
                for outcome in [CheckReport.Outcome.passed, .failed, .blocked, .overridden, .skipped, .interrupted] {
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
                        json.key("blocker")
                        json.bool(check.blocker)
                        json.key("attempts")
                        json.number(check.attempts)
                        json.member("startedAt", Timestamps.iso8601(check.started, milliseconds: true))
                        json.key("durationMs")
                        json.number(Int(check.duration.milliseconds))
                        json.member("reason", check.reason)
                        if let approval = check.approval {
                            json.key("approval")
                            json.object { json in
                                json.member("request", approval.request)
                                json.member("decision", approval.event.rawValue)
                                json.member("by", approval.by)
                                json.member("via", approval.via)
                                json.member("address", approval.address)
                                json.member("at", Timestamps.iso8601(approval.time, milliseconds: true))
                                json.member("service", approval.service)
                                json.member("version", approval.version)
                                json.member("build", approval.build)
                                json.member("outcome", approval.verdict?.rawValue)
                                json.member("reason", approval.reason)
                                json.member("summary", approval.summary)
                            }
                        }
                        if let bake = check.bake {
                            json.key("bake")
                            json.object { json in
                                json.key("rounds")
                                json.number(bake.rounds)
                                json.key("bakedMs")
                                json.number(Int(bake.baked.milliseconds))
                                json.key("forMs")
                                json.number(Int(bake.planned.milliseconds))
                            }
                        }
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
        let failed = report.checks.filter { [.failed, .interrupted, .blocked].contains($0.outcome) }
        var lines = failed.prefix(10).map { check in
            let title = check.outcome == .blocked ? "hookrunner \(report.phase): blocked by \(check.name)" : "hookrunner \(report.phase): \(check.name)"
            return "::error title=\(property(title))::\(message(check.reason ?? check.outcome.rawValue))"
        }
        for check in report.checks where check.outcome == .overridden {
            lines.append("::warning title=\(property("hookrunner \(report.phase): \(check.name) overridden"))::"
                + message("would block: \(check.reason ?? "held"); overridden (--override-blockers): \(report.overrideReason ?? "")"))
        }
        if failed.count > 10 {
            lines.append("::notice::\(message("\(failed.count - 10) more failed checks: see the step summary"))")
        }
        return lines
    }

    static func summary(_ report: PhaseReport) -> String {
        let headline = switch report.exitCode {
        case 0: "✅ passed"
        case 1: "❌ failed"
        case 4: "⛔ blocked (no release was judged)"
        default: "⚠️ did not finish"
        }
        var markdown = "### hookrunner \(report.phase): \(headline)\n\n"
        if report.exitCode == 4, let blocked = report.blockedSummary { markdown += "**\(cell(blocked))**; nothing else ran.\n\n" }
        if let override = report.overrideReason { markdown += "⚠️ Blockers overridden (`--override-blockers`): \(cell(override))\n\n" }
        markdown += "\(report.tally). Checks from `\(report.configFile)`"
        if !report.deployment.isEmpty {
            markdown += "; " + report.deployment.map { "\($0.name) `\($0.value)`" }.joined(separator: ", ")
        }
        markdown += ".\n\n| | Check | Time | Details |\n| --- | --- | --- | --- |\n"
        let ordered = report.checks.filter { [.blocked, .failed, .interrupted, .overridden].contains($0.outcome) }
            + report.checks.filter { $0.outcome == .passed || $0.outcome == .skipped }
        for check in ordered {
            let icon = switch check.outcome {
            case .passed: "✅"
            case .failed: "❌"
            case .skipped: "⏭️"
            case .interrupted: "⚠️"
            case .blocked: "⛔"
            case .overridden: "⚠️ overridden"
            }
            let details = check.approval.map { "approval \($0.request): \($0.summary)" } ?? check.reason ?? check.target
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
