import Foundation
import Testing
import TestSupport
@testable import VersionCheck

/// The repository's `recipes/`: parsed, linted, their command lines held to the real binaries,
/// their scripts run end to end against real services.
@Suite("recipes/", .serialized)
struct RecipesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let recipes = root.appendingPathComponent("recipes").path

    struct Lint: Decodable {
        struct Command: Decodable {
            var file: String
            var argv: [String]
        }

        struct Embedded: Decodable {
            var file: String
            var name: String
            var kind: String
            var text: String
        }

        var problems: [String]
        var commands: [Command]
        var embedded: [Embedded]
    }

    /// recipes_lint.py's findings (PyYAML installed first when missing).
    static func lint() async throws -> Lint? {
        try await PythonPackages.ensure(modules: ["yaml"], packages: ["PyYAML"])
        let script = root.appendingPathComponent("Tests/RecipesTests/recipes_lint.py").path
        let python = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["nice", "-n", "19", "python3", script, recipes])
        guard (try? await python.run()) != nil else { return nil }
        if python.standardError.contains("No module named 'yaml'") { return nil }
        return try JSONDecoder().decode(Lint.self, from: Data(python.standardOutput.utf8))
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "recipes-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = Products.directory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment.removeValue(forKey: "GITHUB_ACTIONS")
        environment.removeValue(forKey: "GITHUB_STEP_SUMMARY")
        return environment.merging(extra) { _, new in new }
    }

    @Test func everyFileParsesAndEveryCommandLineIsAccepted() async throws {
        guard let lint = try await Self.lint() else {
            print("recipes: python3 with PyYAML is not installed here; the YAML is not checked")
            return
        }
        #expect(lint.problems.isEmpty, "\(lint.problems)")
        #expect(lint.commands.count >= 12, "\(lint.commands.map(\.file))")
        for tool in ["hookrunner", "versioncheck"] {
            #expect(lint.commands.contains { $0.argv.first == tool })
        }
        for command in lint.commands {
            // --help after everything: an unknown flag, or an option without its value, is
            // still an error (exit 2); otherwise the help is printed and nothing runs.
            let result = try await runProduct(command.argv[0], Array(command.argv.dropFirst()) + ["--help"])
            #expect(result.status == 0, "\(command.file): \(command.argv.joined(separator: " ")): \(result.stderr)")
        }
    }

    @Test func embeddedChecksFilesValidateAndManifestsLoad() async throws {
        guard let lint = try await Self.lint() else { return }
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(lint.embedded.contains { $0.kind == "manifest" } && lint.embedded.contains { $0.kind == "hooks" })
        for (index, file) in lint.embedded.enumerated() {
            let path = "\(directory)/\(index).json"
            try file.text.write(toFile: path, atomically: true, encoding: .utf8)
            switch file.kind {
            case "hooks":
                var arguments = ["validate", "--config", path]
                for variable in ["VERSION", "BASE", "LIVE", "INSTANCE", "TEST_URL", "LIVE_URL", "CANARY"] {
                    arguments += ["--var", "\(variable)=\(variable == "VERSION" ? "1.4.2" : "http://127.0.0.1:8080")"]
                }
                let result = try await runProduct("hookrunner", arguments)
                #expect(result.status == 0, "\(file.file) \(file.name): \(result.output)")
            default:
                let environment = ["SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x", "PAGERDUTY_ROUTING_KEY": "R0UTING"]
                do {
                    _ = try Manifest.load(path: path, environment: environment)
                } catch {
                    Issue.record("\(file.file) \(file.name): \(error)")
                }
            }
        }
    }

    @Test func codeDeployEC2HookScriptPassesAtTheReleaseAndFailsAtAnother() async throws {
        let recipe = "\(Self.recipes)/codedeploy-ec2"
        let version = try String(contentsOfFile: "\(recipe)/deploy/VERSION", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let reports = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: reports) }
        let (release, releasePort) = try await ExampleService.launch(version: version)
        defer { release.send(signal: SIGKILL) }
        let url = "http://127.0.0.1:\(releasePort)"
        for event in ["BeforeAllowTraffic", "AfterAllowTraffic", "ValidateService"] {
            let script = ChildProcess(URL(fileURLWithPath: "\(recipe)/scripts/verify.sh"), [], environment: Self.environment([
                "LIFECYCLE_EVENT": event, "DEPLOYMENT_ID": "d-AB1CDEF23", "INSTANCE": url, "LIVE": url, "REPORT_DIR": reports,
            ]))
            let status = try await script.run(timeout: .seconds(60))
            #expect(status == 0, "\(event): \(script.output)")
            let junit = try String(contentsOfFile: "\(reports)/hookrunner-\(event).xml", encoding: .utf8)
            #expect(junit.contains("d-AB1CDEF23"), "the report names the deployment")
        }
        let (old, oldPort) = try await ExampleService.launch(version: "1.0.0")
        defer { old.send(signal: SIGKILL) }
        let failing = ChildProcess(URL(fileURLWithPath: "\(recipe)/scripts/verify.sh"), [], environment: Self.environment([
            "LIFECYCLE_EVENT": "AfterAllowTraffic", "INSTANCE": "http://127.0.0.1:\(oldPort)", "LIVE": url, "REPORT_DIR": reports,
        ]))
        #expect(try await failing.run(timeout: .seconds(60)) == 1, "\(failing.output)")
        #expect(failing.standardOutput.contains("reports 1.0.0, expected \(version)"))
    }

    @Test func gitHubActionsStepAnnotatesAndSummarizes() async throws {
        let recipe = "\(Self.recipes)/github-actions"
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (service, port) = try await ExampleService.launch(version: "1.4.1")
        defer { service.send(signal: SIGKILL) }
        let summary = "\(directory)/summary.md"
        // The workflow's step, from the repository root as Actions runs it (here: the recipe folder).
        let step = ChildProcess(try Products.executable("hookrunner"), [
            "post-traffic", "--config", "deploy/hooks.json", "--var", "VERSION=1.4.2", "--var", "LIVE=http://127.0.0.1:\(port)",
            "--report", "junit=\(directory)/reports/post-traffic.xml", "--report", "json=\(directory)/reports/post-traffic.json",
        ], environment: Self.environment(["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary]),
           currentDirectory: URL(fileURLWithPath: recipe))
        #expect(try await step.run(timeout: .seconds(60)) == 1)
        #expect(step.standardOutput.contains("::error title=hookrunner post-traffic%3A production reports the release::reports 1.4.1, expected 1.4.2"))
        let markdown = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(markdown.contains("### hookrunner post-traffic: ❌ failed"))
        #expect(markdown.contains("| ❌ | production reports the release |"))
        #expect(FileManager.default.fileExists(atPath: "\(directory)/reports/post-traffic.xml"), "the reports directory is created")
    }
}
