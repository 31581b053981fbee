import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Each example, started as its executable on 127.0.0.1, checked with the toolkit's own
/// versioncheck and hookrunner (from the root package's build: DEPLOYVERIFY_BIN, or ../.build/debug).
@Suite("examples checked with versioncheck and hookrunner", .serialized)
struct ExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Where this package's executables are: next to the test bundle.
    static let products: URL = {
        var url = Bundle.main.bundleURL
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("checkout-vapor").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()
    static let toolkit = URL(fileURLWithPath: ProcessInfo.processInfo.environment["DEPLOYVERIFY_BIN"]
        ?? examples.appendingPathComponent("../.build/debug").standardized.path)

    @Test(arguments: [("checkout-hummingbird", "post-traffic"), ("checkout-vapor", "post-traffic"), ("worker", "worker")])
    func exampleServesInfoEndpoint(executable: String, phase: String) async throws {
        for tool in ["versioncheck", "hookrunner"] {
            try #require(FileManager.default.isExecutableFile(atPath: Self.toolkit.appendingPathComponent(tool).path),
                         "build the root package first (swift build), or set DEPLOYVERIFY_BIN to where \(tool) is")
        }
        let version = executable == "worker" ? "2.0.1" : "1.4.2"
        let portFlag = executable == "worker" ? "--admin-port" : "--port"
        let service = try Spawned(Self.products.appendingPathComponent(executable).path, [portFlag, "0", "--version", version])
        defer { service.kill(SIGKILL) }
        let line = try await service.waitForOutput(containing: "http://127.0.0.1:")
        let base = try #require(line.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+/)).output
        let url = String(base)

        let versioncheck = Self.toolkit.appendingPathComponent("versioncheck").path
        let match = try await Spawned.run(versioncheck, ["--expect", version, "\(url)/info"])
        #expect(match.status == 0, "\(match.output)")
        let mismatch = try await Spawned.run(versioncheck, ["--expect", "9.9.9", "\(url)/info"])
        #expect(mismatch.status == 1, "\(mismatch.output)")
        #expect(mismatch.output.contains("reports \(version), expected 9.9.9"))

        let hooks = Self.examples.appendingPathComponent("hooks.json").path
        let checks = try await Spawned.run(Self.toolkit.appendingPathComponent("hookrunner").path,
                                           [phase, "--config", hooks, "--var", "BASE=\(url)", "--var", "VERSION=\(version)", "--no-color"])
        #expect(checks.status == 0, "\(checks.output)")
        #expect(checks.output.contains("passed"))

        service.kill(SIGTERM)
        #expect(try await service.exitStatus(within: .seconds(10)) == 0, "stops cleanly on SIGTERM: \(service.output)")
    }
}

/// A child process with its output in a file (posix_spawn: no Foundation Process).
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    let outputPath: String
    private var status: Int32?

    init(_ path: String, _ arguments: [String]) throws {
        outputPath = NSTemporaryDirectory() + "example-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        self.pid = pid
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    func kill(_ signal: Int32) {
        if status == nil { _ = Glibc_or_Darwin_kill(pid, signal) }
    }

    /// The first line of output containing `needle`, waiting up to a minute for it.
    func waitForOutput(containing needle: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.contains(needle) }) { return String(line) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw POSIXError(.ETIMEDOUT)
    }

    /// The exit status (128 + N for a signal), waiting for it.
    func exitStatus(within limit: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                status = code
                return code
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw POSIXError(.ETIMEDOUT)
    }

    static func run(_ path: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try Spawned(path, arguments)
        let status = try await process.exitStatus(within: .seconds(60))
        return (status, process.output)
    }

    deinit {
        if status == nil { _ = Glibc_or_Darwin_kill(pid, SIGKILL); var raw: Int32 = 0; waitpid(pid, &raw, 0) }
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}

private func Glibc_or_Darwin_kill(_ pid: pid_t, _ signal: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.kill(pid, signal)
    #else
    Darwin.kill(pid, signal)
    #endif
}
