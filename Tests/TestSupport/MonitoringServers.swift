import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prometheus or Alertmanager from Debian's packages (`prometheus`, `prometheus-alertmanager`,
/// installed when missing), started by a test on 127.0.0.1 on a free port, with its own
/// configuration and data in a temporary directory. `stop()` ends it and removes the directory.
public final class MonitoringServer: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let url: String
    public let port: Int
    public let directory: URL
    private let process: ChildProcess

    private init(port: Int, directory: URL, process: ChildProcess) {
        self.port = port
        self.url = "http://127.0.0.1:\(port)"
        self.directory = directory
        self.process = process
    }

    /// Alertmanager with one receiver that sends nothing, clustering off.
    public static func alertmanager() async throws -> MonitoringServer {
        let program = try await DebianPackages.ensure("prometheus-alertmanager", packages: ["prometheus-alertmanager"])
        let directory = try scratchDirectory("alertmanager")
        try """
        route:
          receiver: nowhere
          group_wait: 1s
          group_interval: 1s
        receivers:
          - name: nowhere
        """.write(to: directory.appendingPathComponent("alertmanager.yml"), atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        // Niced: the test process's own timers and servers come first on two cores.
        let process = ChildProcess(URL(fileURLWithPath: "/usr/bin/nice"), ["-n", "10", program,
            "--config.file=\(directory.path)/alertmanager.yml", "--storage.path=\(directory.path)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn",
        ])
        return try await start(process, port: port, directory: directory, name: "Alertmanager")
    }

    /// Prometheus scraping `targets` (job name → `host:port`) every second, evaluating `rules`
    /// (a rule file's YAML) every second and sending alerts to `alertmanager` (`host:port`).
    public static func prometheus(targets: [(job: String, address: String)], rules: String,
                                  alertmanager: String?) async throws -> MonitoringServer {
        let program = try await DebianPackages.ensure("prometheus", packages: ["prometheus"])
        let directory = try scratchDirectory("prometheus")
        try rules.write(to: directory.appendingPathComponent("rules.yml"), atomically: true, encoding: .utf8)
        var config = """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - \(directory.path)/rules.yml
        scrape_configs:

        """
        for target in targets {
            config += "  - job_name: \(target.job)\n    static_configs:\n      - targets: ['\(target.address)']\n"
        }
        if let alertmanager {
            config += "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['\(alertmanager)']\n"
        }
        try config.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let process = ChildProcess(URL(fileURLWithPath: "/usr/bin/nice"), ["-n", "10", program,
            "--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--rules.alert.resend-delay=1s", "--log.level=warn",
        ])
        return try await start(process, port: port, directory: directory, name: "Prometheus")
    }

    private static func start(_ process: ChildProcess, port: Int, directory: URL, name: String) async throws -> MonitoringServer {
        try process.start()
        let server = MonitoringServer(port: port, directory: directory, process: process)
        do {
            try await withTimeout(.seconds(60), "\(name) to be ready") {
                while true {
                    if !process.isRunning { throw TestFailure("\(name) exited: \(process.output.suffix(2000))") }
                    if let answer = try? await plainGET(port: port, path: "/-/ready"), answer.status == 200 { return }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        } catch {
            await server.stop()
            throw TestFailure("\(name) did not start: \(error); its output: \(process.output.suffix(2000))")
        }
        return server
    }

    /// Ends the server (SIGTERM, SIGKILL after 10 s) and removes its directory.
    public func stop() async {
        process.send(signal: SIGTERM)
        if (try? await process.waitForExit(timeout: .seconds(10))) == nil {
            process.send(signal: SIGKILL)
            _ = try? await process.waitForExit(timeout: .seconds(5))
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// What it printed (both log to standard error).
    public var output: String { process.output }

    private static func scratchDirectory(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// A port on 127.0.0.1 that was free a moment ago (for servers that cannot report the port they
/// chose themselves).
public func freeLoopbackPort() throws -> Int {
    let (fd, port) = try listenOnLoopback()
    close(fd)
    return port
}

/// `GET path` over HTTP/1.0 to 127.0.0.1:`port` (the server closes the connection, nothing is
/// chunked): the status and the body.
public func plainGET(port: Int, path: String) async throws -> (status: Int, body: String) {
    let client = try RawClient(port: port, receiveTimeout: 10)
    defer { client.close() }
    try client.send("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nAccept: application/json\r\n\r\n")
    let text = String(decoding: try await client.readUntilClose(), as: UTF8.self)
    guard let statusLine = text.split(separator: "\r\n").first, let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
        throw TestFailure("no HTTP answer from 127.0.0.1:\(port)\(path): \(text.prefix(200))")
    }
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}
