import Foundation

/// moto's server (PyPI `moto[server]`) on 127.0.0.1 as the tests' AWS, with signature checking on:
/// a test IAM user with an allow-all inline policy and an access key are created first, then
/// moto is told to check every later request (`/moto-api/reset-auth` with 0, the runtime form of
/// `INITIAL_NO_AUTH_ACTION_COUNT=0`), so a request signed wrongly, or with any other key, fails.
///
/// One server serves the whole test process (tests use names of their own); it stops by itself
/// when the test process is gone.
public final class MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    public let accessKeyID: String
    public let secretAccessKey: String
    public let region = "us-east-1"
    private let process: ChildProcess

    private init(endpoint: String, accessKeyID: String, secretAccessKey: String, process: ChildProcess) {
        self.endpoint = endpoint
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.process = process
    }

    private static let starting = Starting()

    /// Starts the server once, whoever asks first.
    private actor Starting {
        var task: Task<MotoServer, any Error>?
        func server() async throws -> MotoServer {
            if task == nil { task = Task { try await MotoServer.start() } }
            return try await task!.value
        }
    }

    /// The process's server, started on first use. Fails the calling test with a clear message
    /// when moto is not installed.
    public static func shared() async throws -> MotoServer {
        try await starting.server()
    }

    /// The environment for a process (or an `AWSClient`) that talks to this server: its keys and
    /// region, `AWS_ENDPOINT_URL`, and nothing from this machine (no shared files, no instance
    /// metadata, no profile).
    public func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["AWS_ACCESS_KEY_ID"] = accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = secretAccessKey
        environment["AWS_REGION"] = region
        environment["AWS_ENDPOINT_URL"] = endpoint
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/deployverify-tests/credentials"
        environment["AWS_CONFIG_FILE"] = "/nonexistent/deployverify-tests/config"
        return environment.merging(extra) { _, new in new }
    }

    /// `scripts/moto_server.py` of this repository.
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/moto_server.py").path

    private static func start() async throws -> MotoServer {
        try await PythonPackages.ensure(modules: ["moto", "flask", "flask_cors", "boto3"], packages: ["moto[server]", "boto3"])
        let process = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["nice", "-n", "5", "python3", script],
                                   environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") })
        try process.start()
        let line: String
        do {
            line = try await process.waitForLine(containing: "{", timeout: .seconds(60))
        } catch {
            if process.standardOutput.contains("MISSING") {
                throw TestFailure("moto's server is not installed: pip install 'moto[server]' boto3 (\(process.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
            throw TestFailure("moto did not start: \(process.output)")
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
              let endpoint = object["endpoint"], let key = object["key"], let secret = object["secret"] else {
            throw TestFailure("moto's set-up printed '\(line)'")
        }
        return MotoServer(endpoint: endpoint, accessKeyID: key, secretAccessKey: secret, process: process)
    }
}
