import DeployVerifyKit
import Foundation
import VersionCheck

/// The variables of a run. A name is looked up in `--var` values, then (in serve mode) the
/// Flagger webhook's metadata, then the environment, then the file's `vars`; `vars` values may
/// themselves use `${NAME}` from any of these, or from `vars` defined before them.
package struct VariableScope: Sendable {
    private var values: [String: String] = [:]
    /// Masks the values of the secret variables (the file's `secrets` and `--secret`), and
    /// everything else registered while planning (sensitive header values).
    package private(set) var redactor = Redactor()

    package init(file: HooksFile, environment: [String: String], metadata: [String: String] = [:],
                 overrides: [String: String] = [:], secretNames: [String] = []) throws(ConfigError) {
        var resolved: [String: String] = [:]
        for (name, template) in file.variables {
            do {
                let expanded = try EnvironmentExpansion.expand(template) { name in
                    overrides[name] ?? metadata[name] ?? environment[name] ?? resolved[name]
                }
                resolved[name] = expanded.text
            } catch {
                throw ConfigError(file: file.path, location: "vars.\(name)",
                                  message: "\(error.description) (define it in vars before \(name), in the environment, or with --var)")
            }
        }
        values = resolved.merging(environment) { _, environment in environment }
            .merging(metadata) { _, metadata in metadata }
            .merging(overrides) { _, override in override }
        for name in file.secrets + secretNames {
            if let value = values[name] { redactor.add(value) }
        }
    }

    package func value(_ name: String) -> String? { values[name] }

    package func expand(_ template: String) throws(EnvironmentExpansion.UndefinedVariable) -> String {
        try EnvironmentExpansion.expand(template) { values[$0] }.text
    }

    package mutating func addSecret(_ value: String) {
        redactor.add(value)
    }

    /// Registers every secret another redactor knows (channel URLs and credentials).
    package mutating func addSecrets(of other: Redactor) {
        redactor.add(contentsOf: other)
    }
}

/// A check with its `${NAME}` values expanded, ready to run.
package struct PlannedCheck: Sendable {
    package var check: Check
    package var target: PlannedTarget
    /// For display: URL, address or command line, with secrets masked.
    package var targetDescription: String
}

package enum PlannedTarget: Sendable {
    case http(url: String, method: String, headers: [(name: String, value: String)], body: [UInt8], followRedirects: Bool, maxBodyBytes: Int)
    case command(arguments: [String], environment: [(name: String, value: String)], directory: String?)
    case tcp(host: String, port: Int)
    case version(url: String, expectation: VersionExpectation, field: JSONPath?, revision: String?, samples: Int,
                 headers: [(name: String, value: String)])
    case alarms(PlannedAlarms)
    case prometheus(url: String, query: String, headers: [(name: String, value: String)], emptyPasses: Bool)
    case window(DeployWindow)
    case approval(PlannedApproval)
}

package struct PlannedStep: Sendable {
    package var step: Step
    package var checks: [PlannedCheck]
}

/// Expands everything a phase will use before any of it runs: an undefined variable is a
/// configuration error with its JSON path, never a failure halfway through a deployment.
package enum PhasePlan {
    /// - Parameter channels: the file's `channels`, for `approval` steps.
    package static func make(_ steps: [Step], file: String, channels: [(name: String, value: JSONValue)] = [],
                             scope: inout VariableScope) throws(ConfigError) -> [PlannedStep] {
        var planned: [PlannedStep] = []
        var resolved: [String: Channel] = [:]
        for step in steps {
            var checks: [PlannedCheck] = []
            for check in step.checks {
                var used: [Channel] = []
                if case .approval(let spec) = check.kind {
                    for name in spec.channels {
                        if resolved[name] == nil {
                            guard let definition = channels.first(where: { $0.name == name }) else {
                                throw ConfigError(file: file, location: "\(check.path).approval.channels", message: "no channel '\(name)'")
                            }
                            resolved[name] = try channel(name, definition.value, file: file, scope: &scope)
                        }
                        if let channel = resolved[name] { used.append(channel) }
                    }
                }
                checks.append(try plan(check, file: file, channels: used, scope: &scope))
            }
            planned.append(PlannedStep(step: step, checks: checks))
        }
        return planned
    }

    private static func plan(_ check: Check, file: String, channels: [Channel], scope: inout VariableScope) throws(ConfigError) -> PlannedCheck {
        func expand(_ template: String, _ path: String) throws(ConfigError) -> String {
            do {
                return try scope.expand(template)
            } catch {
                throw ConfigError(file: file, location: path,
                                  message: "\(error.description) (define it in vars, in the environment, or with --var \(error.name)=…)")
            }
        }
        func headers(_ list: [(name: String, value: String)], _ path: String) throws(ConfigError) -> [(name: String, value: String)] {
            var expanded: [(name: String, value: String)] = []
            for (name, value) in list {
                let text = try expand(value, "\(path).\(name)")
                if Redaction.isSensitiveHeader(name) { scope.addSecret(text) }
                expanded.append((name, text))
            }
            return expanded
        }
        for (index, condition) in check.conditions.enumerated() {
            for operand in condition.operands {
                _ = try expand(operand.text, "\(check.path).expect[\(index)]")
            }
        }
        let kindPath = "\(check.path).\(check.kind.name)"
        let target: PlannedTarget
        let shown: String
        switch check.kind {
        case .http(let spec):
            let url = try expand(spec.url, "\(kindPath).url")
            guard case .success = ProbeTarget.parse(url) else {
                throw ConfigError(file: file, location: "\(kindPath).url", message: "'\(Redaction.url(url))' is not an http:// or https:// URL")
            }
            target = .http(url: url, method: spec.method, headers: try headers(spec.headers, "\(kindPath).headers"),
                           body: Array(try spec.body.map { body throws(ConfigError) in try expand(body, "\(kindPath).body") }?.utf8 ?? "".utf8),
                           followRedirects: spec.followRedirects, maxBodyBytes: spec.maxBodyBytes)
            shown = "\(spec.method) \(Redaction.url(url))"
        case .command(let spec):
            var arguments: [String] = []
            for (index, argument) in spec.arguments.enumerated() {
                arguments.append(try expand(argument, "\(kindPath)[\(index)]"))
            }
            var environment: [(name: String, value: String)] = []
            for (name, value) in spec.environment {
                environment.append((name, try expand(value, "\(kindPath).env.\(name)")))
            }
            let directory = try spec.directory.map { directory throws(ConfigError) in try expand(directory, "\(kindPath).cwd") }
            target = .command(arguments: arguments, environment: environment, directory: directory)
            shown = arguments.first == "/bin/sh" && arguments.count == 3 ? arguments[2] : arguments.joined(separator: " ")
        case .tcp(let spec):
            let host = try expand(spec.host, "\(kindPath).host")
            let portText = try expand(spec.port, "\(kindPath).port")
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw ConfigError(file: file, location: "\(kindPath).port", message: "'\(portText)' is not a port from 1 to 65535")
            }
            target = .tcp(host: host, port: port)
            shown = "\(host):\(port)"
        case .version(let spec):
            let url = try expand(spec.url, "\(kindPath).url")
            guard case .success = ProbeTarget.parse(url) else {
                throw ConfigError(file: file, location: "\(kindPath).url", message: "'\(Redaction.url(url))' is not an http:// or https:// URL")
            }
            let expectText = try expand(spec.expect, "\(kindPath).expect")
            let expectation: VersionExpectation
            do {
                expectation = try VersionExpectation(expectText)
            } catch {
                throw ConfigError(file: file, location: "\(kindPath).expect", message: error.description)
            }
            let revision = try spec.revision.map { revision throws(ConfigError) in try expand(revision, "\(kindPath).revision") }
            target = .version(url: url, expectation: expectation, field: spec.field, revision: revision, samples: spec.samples,
                              headers: try headers(spec.headers, "\(kindPath).headers"))
            shown = "\(Redaction.url(url)) is \(expectText)"
        case .alarms(.cloudWatch(let names, let prefix, let region)):
            var expandedNames: [String] = []
            for (index, name) in names.enumerated() { expandedNames.append(try expand(name, "\(kindPath).cloudwatch.names[\(index)]")) }
            let expandedPrefix = try prefix.map { prefix throws(ConfigError) in try expand(prefix, "\(kindPath).cloudwatch.prefix") }
            let expandedRegion = try region.map { region throws(ConfigError) in try expand(region, "\(kindPath).cloudwatch.region") }
            target = .alarms(.cloudWatch(names: expandedNames, prefix: expandedPrefix, region: expandedRegion))
            shown = "CloudWatch alarms " + (expandedNames + (expandedPrefix.map { ["\($0)*"] } ?? [])).joined(separator: ", ")
                + (expandedRegion.map { " in \($0)" } ?? "")
        case .alarms(.alertmanager(let spec)):
            let sourcePath = "\(kindPath).alertmanager"
            let url = try expand(spec.url, "\(sourcePath).url")
            guard case .success = ProbeTarget.parse(url) else {
                throw ConfigError(file: file, location: "\(sourcePath).url", message: "'\(Redaction.url(url))' is not an http:// or https:// URL")
            }
            var matchers: [AlertMatcher] = []
            for (index, text) in spec.matchers.enumerated() {
                let matcherPath = "\(sourcePath).matchers[\(index)]"
                let expanded = try expand(text, matcherPath)
                do {
                    matchers.append(try AlertMatcher.parse(expanded))
                } catch {
                    throw ConfigError(file: file, location: matcherPath, message: error.description)
                }
            }
            target = .alarms(.alertmanager(url: url, matchers: matchers, headers: try headers(spec.headers, "\(sourcePath).headers"),
                                           includeSilenced: spec.includeSilenced, includeInhibited: spec.includeInhibited))
            shown = "Alertmanager \(Redaction.url(url)) {" + matchers.map(\.description).joined(separator: ", ") + "}"
        case .prometheus(let spec):
            let url = try expand(spec.url, "\(kindPath).url")
            guard case .success = ProbeTarget.parse(url) else {
                throw ConfigError(file: file, location: "\(kindPath).url", message: "'\(Redaction.url(url))' is not an http:// or https:// URL")
            }
            let query = try expand(spec.query, "\(kindPath).query")
            target = .prometheus(url: url, query: query, headers: try headers(spec.headers, "\(kindPath).headers"), emptyPasses: spec.emptyPasses)
            shown = "Prometheus \(Redaction.url(url)): \(query)"
        case .window(let window):
            target = .window(window)
            shown = window.summary
        case .approval(let spec):
            let approval = try planApproval(spec, check: check, channels: channels, file: file, scope: &scope)
            target = .approval(approval)
            shown = approval.description
        }
        return PlannedCheck(check: check, target: target, targetDescription: scope.redactor.redact(shown))
    }
}
