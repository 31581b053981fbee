import Foundation

/// A local CodeDeploy for `PutLifecycleEventHookExecutionStatus` that checks each request's SigV4
/// signature with botocore's own signer (`scripts/codedeploy_hook_server.py`, botocore installed
/// from PyPI when missing): moto's server does not implement the operation, and
/// ``CodeDeployStandIn`` does not check signatures. Point `AWS_ENDPOINT_URL_CODEDEPLOY` at
/// ``endpoint``; every request is recorded with its verdict. One server per test; it stops with
/// ``stop()`` or when the test process is gone.
public final class SignedCodeDeploy: Sendable {
    /// One request as the server saw it.
    public struct Record: Sendable {
        /// When it arrived.
        public var time: Date
        /// `CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus`.
        public var target: String
        public var deploymentID: String?
        public var executionID: String?
        /// `Succeeded` or `Failed` as asked.
        public var status: String?
        /// `valid`, or the error the signature earned (`InvalidSignatureException` …).
        public var signature: String
        /// The HTTP status answered.
        public var answered: Int
        /// The error code answered, nil for a success.
        public var error: String?

        /// A correctly signed request that CodeDeploy accepted.
        public var accepted: Bool { signature == "valid" && answered == 200 }
    }

    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    public let accessKeyID: String
    public let secretAccessKey: String
    public let region = "us-east-1"
    private let process: ChildProcess

    /// An answer given instead of the real one to the next signed request: `status` with the
    /// error `type` (`InternalFailure` with 500, `ThrottlingException` with 400).
    public struct ScriptedError: Sendable {
        public var status: Int
        public var type: String
        public init(_ status: Int, _ type: String) {
            self.status = status
            self.type = type
        }
    }

    /// - Parameters:
    ///   - script: errors answered to the first signed requests, in order.
    ///   - completed: execution ids already reported (LifecycleEventAlreadyCompletedException).
    public init(script: [ScriptedError] = [], completed: [String] = []) async throws {
        try await PythonPackages.ensure(modules: ["botocore"], packages: ["botocore"])
        accessKeyID = "AKIDHOOKTEST" + String(UUID().uuidString.prefix(8)).uppercased()
        secretAccessKey = "hook-secret-" + UUID().uuidString
        let config: [String: Any] = [
            "accessKey": accessKeyID, "secretKey": secretAccessKey, "region": region,
            "script": script.map { ["status": $0.status, "type": $0.type] }, "completed": completed,
        ]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        process = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["nice", "-n", "10", "python3", Self.script, text],
                               environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") })
        try process.start()
        let line = try await process.waitForLine(containing: "{", timeout: .seconds(60))
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
              let endpoint = object["endpoint"] else {
            throw TestFailure("codedeploy_hook_server.py printed '\(line)': \(process.output)")
        }
        self.endpoint = endpoint
    }

    /// `scripts/codedeploy_hook_server.py` of this repository.
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/codedeploy_hook_server.py").path

    /// The environment of a process that reports to this server: its key with its secret (or
    /// `secret` instead), its region, `AWS_ENDPOINT_URL_CODEDEPLOY`, and nothing else of AWS from
    /// this machine (no shared files, no instance metadata).
    public func environment(secret: String? = nil, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["AWS_ACCESS_KEY_ID"] = accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = secret ?? secretAccessKey
        environment["AWS_REGION"] = region
        environment["AWS_ENDPOINT_URL_CODEDEPLOY"] = endpoint
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/deployverify-tests/credentials"
        environment["AWS_CONFIG_FILE"] = "/nonexistent/deployverify-tests/config"
        return environment.merging(extra) { _, new in new }
    }

    /// Every request received so far, in order.
    public var records: [Record] {
        process.standardOutput.split(separator: "\n").compactMap { line -> Record? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let record = object["record"] as? [String: Any] else { return nil }
            let body = (record["body"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            return Record(time: Date(timeIntervalSince1970: (record["time"] as? Double) ?? 0),
                          target: record["target"] as? String ?? "",
                          deploymentID: body?["deploymentId"] as? String, executionID: body?["lifecycleEventHookExecutionId"] as? String,
                          status: body?["status"] as? String, signature: record["signature"] as? String ?? "",
                          answered: record["status"] as? Int ?? 0, error: record["error"] as? String)
        }
    }

    /// The records once there are at least `count` (the server prints each before it answers,
    /// but the pipe may not have been read yet).
    public func waitForRecords(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [Record] {
        try await withTimeout(timeout, "\(count) requests to the CodeDeploy stand-in") {
            while true {
                let records = self.records
                if records.count >= count { return records }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    public func stop() {
        process.send(signal: SIGTERM)
    }
}
