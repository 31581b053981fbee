// example-service: a service that serves InfoEndpoint's /info, /health and /metrics and
// nothing else. The demo, the CLIs' tests and the benchmarks start it as "a deployed version".
import Dispatch
import Foundation
import InfoEndpoint

let usage = """
usage: example-service --name NAME --version VERSION [--port PORT] [--host HOST] [options]

Serves GET /info, /health, /health/live, /health/ready and /metrics for one service version.

options:
  --name NAME           service name (default: SERVICE_NAME, OTEL_SERVICE_NAME, or unknown_service)
  --version VERSION     version to report (default: SERVICE_VERSION or the build's git tag)
  --revision SHA        revision to report (default: GIT_COMMIT or the build's git commit)
  --branch NAME         branch to report (default: GIT_BRANCH or the build's git branch)
  --environment NAME    deployment environment (default: SERVICE_ENVIRONMENT)
  --instance NAME       instance name (default: SERVICE_INSTANCE or the host name)
  --extra KEY=VALUE     an extra /info field; repeatable
  --host HOST           address to listen on (default: 0.0.0.0; 127.0.0.1 for loopback only; :: for IPv6)
  --port PORT           port to listen on (default: 8080; 0 picks a free port, printed when listening)
  --token-file PATH     require "Authorization: Bearer <token>", the token read from PATH
  --unhealthy           report /health and /health/ready as failing (503), to rehearse a bad release
  -h, --help            show this help

It prints one line when listening and stops cleanly on SIGINT or SIGTERM.
Exit status: 0 stopped by a signal; 1 could not listen (port in use, bad host); 2 bad arguments.
"""

/// One line on standard output, written at once (no stdio buffering: tests and the demo read it live).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("example-service: \(message)\n".utf8))
    if status == 2 { FileHandle.standardError.write(Data("run 'example-service --help' for usage\n".utf8)) }
    exit(status)
}

var options: [String: String] = [:]
var extra: [String: String] = [:]
var unhealthy = false
var arguments = CommandLine.arguments.dropFirst()
let valued: Set<String> = [
    "--name", "--version", "--revision", "--branch", "--environment", "--instance", "--host", "--port", "--token-file",
]
while let argument = arguments.popFirst() {
    var flag = argument
    var inlineValue: String?
    if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        flag = String(argument[..<equals])
        inlineValue = String(argument[argument.index(after: equals)...])
    }
    switch flag {
    case "-h", "--help":
        say(usage)
        exit(0)
    case "--unhealthy":
        unhealthy = true
    case "--extra":
        guard let pair = inlineValue ?? arguments.popFirst(), let equals = pair.firstIndex(of: "="),
              equals != pair.startIndex else { fail("--extra needs KEY=VALUE") }
        extra[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    case _ where valued.contains(flag):
        guard let value = inlineValue ?? arguments.popFirst(), inlineValue != nil || !value.hasPrefix("--") else {
            fail("\(flag) needs a value")
        }
        options[flag] = value
    default:
        fail(argument.hasPrefix("-") ? "unknown option \(argument)" : "unexpected argument '\(argument)'")
    }
}

let portText = options["--port"] ?? "8080"
guard let port = Int(portText), (0...65535).contains(port) else { fail("--port must be a number from 0 to 65535, got '\(portText)'") }
var token: String?
if let path = options["--token-file"] {
    guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { fail("--token-file: cannot read \(path)") }
    token = contents.trimmingCharacters(in: .whitespacesAndNewlines)
    if token!.isEmpty { fail("--token-file: \(path) is empty") }
}

let info = ServiceInfo(name: options["--name"], version: options["--version"], revision: options["--revision"],
                       branch: options["--branch"], environment: options["--environment"],
                       instance: options["--instance"], extra: extra)
for warning in info.warnings {
    FileHandle.standardError.write(Data("example-service: warning: \(warning)\n".utf8))
}
let responder = InfoResponder(info: info, bearerToken: token)
if unhealthy {
    responder.addHealthCheck("release", probes: .readiness) { .fail("started with --unhealthy") }
}
let server = InfoServer(responder: responder, configuration: .init(host: options["--host"] ?? "0.0.0.0", port: port))
do {
    try server.start()
} catch {
    fail("\(error)", status: 1)
}

let url = server.addresses.map { "http://\($0)" }.joined(separator: " ")
let describedRevision = info.revision.map { " revision \($0.prefix(12))" } ?? ""
let describedEnvironment = info.environment.map { " in \($0)" } ?? ""
let stopSignals = StopSignals()
say("example-service: \(info.name) \(info.version ?? "(no version)")\(describedRevision)\(describedEnvironment) "
    + "listening on \(url) (GET /info /health /metrics)")
let signalNumber = await stopSignals.wait()
await server.stop(gracePeriod: .seconds(5))
say("example-service: received \(signalNumber == SIGINT ? "SIGINT" : "SIGTERM"), stopped")
exit(0)
