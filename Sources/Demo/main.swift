// `swift run demo`: the whole toolkit on 127.0.0.1 in about ten seconds, with nothing else
// installed. Two versions of a service behind a router, a deployment checked before and after
// traffic moves, then a bad release rolled back and caught by the watcher, which alerts a
// webhook. The commands run are the real hookrunner and versioncheck, in this process; the
// demo exits 1 if any of them did not behave as it says.
import DeployVerifyKit
import Foundation
import HookRunner
import InfoEndpoint
import VersionCheck

let directory = NSTemporaryDirectory() + "deployverify-demo-\(ProcessInfo.processInfo.processIdentifier)"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let narrator = Narrator(directory: directory)
let environment = ProcessInfo.processInfo.environment

func service(_ version: String, revision: String, color: String) throws -> InfoServer {
    let info = ServiceInfo(name: "checkout", version: version, revision: revision, branch: "main", environment: "demo",
                           instance: "checkout-\(color)", extra: ["color": color], environmentVariables: [:], buildStamp: nil)
    let server = InfoServer(info: info, host: "127.0.0.1", port: 0)
    try server.start()
    return server
}

func versioncheck(_ arguments: [String]) async -> Int32 {
    await VersionCheckCommand.main(arguments, environment: environment)
}

func hookrunner(_ arguments: [String]) async -> Int32 {
    await HookRunnerCommand.main(arguments, environment: environment)
}

/// Paths in the temporary directory, shown short.
func short(_ path: String) -> String { path.replacingOccurrences(of: directory + "/", with: "") }

// MARK: The stage

narrator.say("""
DeployVerify demo: a blue/green deployment of `checkout` from 1.4.1 to 1.4.2, checked by hookrunner \
and versioncheck, then a bad release that a watcher catches. Everything runs on 127.0.0.1.
Files: \(directory)
""")

let blue = try service("1.4.1", revision: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", color: "blue")
let green = try service("1.4.2", revision: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", color: "green")
var acceptingBodies = InfoServer.Configuration(host: "127.0.0.1", port: 0)
acceptingBodies.maxBodyBytes = 1 << 20
let router = try DemoRouter(name: "blue", port: blue.port)
let routerServer = HTTPServer(configuration: acceptingBodies, handler: router)
try routerServer.start()
let inbox = AlertInbox()
let inboxServer = HTTPServer(configuration: acceptingBodies, handler: inbox)
try inboxServer.start()

let blueURL = "http://127.0.0.1:\(blue.port)", greenURL = "http://127.0.0.1:\(green.port)"
let liveURL = "http://127.0.0.1:\(routerServer.port)"
let hooks = "\(directory)/hooks.json", manifest = "\(directory)/fleet.json", state = "\(directory)/watch-state"

try """
{
  "vars": { "VERSION": "1.4.2" },
  "phases": {
    "pre-traffic": [
      { "name": "unit and smoke suites", "command": ["sh", "-c", "echo 'suite: 128 tests passed'"] },
      { "name": "green is healthy", "http": "${NEW}/health", "expect": ["status == 200", "json.status == pass"] },
      { "name": "green reports the release", "http": "${NEW}/info",
        "expect": ["status == 200", "json.version == ${VERSION}", "time < 500ms"] }
    ],
    "post-traffic": [
      { "name": "live traffic reaches the release", "version": { "url": "${LIVE}/info", "expect": "${VERSION}", "samples": 5 } },
      { "name": "live /health", "http": "${LIVE}/health", "expect": ["status == 200"] }
    ]
  }
}
""".write(toFile: hooks, atomically: true, encoding: .utf8)
try """
{
  "channels": { "deploys": { "type": "webhook", "url": "http://127.0.0.1:\(inboxServer.port)/hooks/deploys" } },
  "services": [ { "name": "checkout", "environment": "demo", "url": "\(liveURL)/info", "notify": ["deploys"] } ]
}
""".write(toFile: manifest, atomically: true, encoding: .utf8)

narrator.heading("The stage")
narrator.say("""
blue   checkout 1.4.1 (InfoEndpoint's InfoServer)   \(blueURL)/info
green  checkout 1.4.2 (InfoEndpoint's InfoServer)   \(greenURL)/info
router the load balancer, sending traffic to blue   \(liveURL)/info
inbox  a webhook receiver for versioncheck's alerts  http://127.0.0.1:\(inboxServer.port)/hooks/deploys
The checks are in \(short(hooks)), the watched fleet in \(short(manifest)).
""")

// MARK: Before the deployment

narrator.heading("A watcher takes its baseline: what is live now")
await narrator.run("versioncheck watch --once --manifest \(short(manifest)) --state \(short(state))", expectStatus: 0,
                   expecting: ["first-seen  checkout (demo)  at 1.4.1"]) {
    await versioncheck(["watch", "--once", "--manifest", manifest, "--state", state])
}

narrator.heading("Pre-traffic checks on green, before it gets any traffic (CodeDeploy's BeforeAllowTraffic)")
await narrator.run("hookrunner pre-traffic --config \(short(hooks)) --var NEW=\(greenURL)", expectStatus: 0,
                   expecting: ["green reports the release"]) {
    await hookrunner(["pre-traffic", "--config", hooks, "--var", "NEW=\(greenURL)", "--var", "LIVE=\(liveURL)", "--no-color"])
}

// MARK: The switch

narrator.heading("The router switches traffic to green; post-traffic checks and the pipeline's version check")
router.route(to: "green", port: green.port)
narrator.say("router: all traffic now goes to green")
await narrator.run("hookrunner post-traffic --config \(short(hooks)) --var LIVE=\(liveURL)", expectStatus: 0) {
    await hookrunner(["post-traffic", "--config", hooks, "--var", "NEW=\(greenURL)", "--var", "LIVE=\(liveURL)", "--no-color"])
}
await narrator.run("versioncheck --expect 1.4.2 --wait 30s \(liveURL)/info", expectStatus: 0, expecting: ["1/1 on 1.4.2"]) {
    await versioncheck(["--expect", "1.4.2", "--wait", "30s", "--no-color", "\(liveURL)/info"])
}
await narrator.run("versioncheck watch --once --manifest \(short(manifest)) --state \(short(state))", expectStatus: 0,
                   expecting: ["deployed  checkout (demo)  1.4.1 → 1.4.2"]) {
    await versioncheck(["watch", "--once", "--manifest", manifest, "--state", state])
}
narrator.check(inbox.alerts.last?["type"]?.stringValue == "deployed", "the inbox got the deployed alert")
if let alert = inbox.alerts.last, let summary = alert["summary"]?.stringValue {
    narrator.say("inbox: received \"\(summary)\"")
}

// MARK: A bad release

narrator.heading("A bad release: someone points the router back at blue")
router.route(to: "blue", port: blue.port)
narrator.say("router: all traffic now goes to blue (1.4.1) again")
await narrator.run("versioncheck watch --once --manifest \(short(manifest)) --state \(short(state))", expectStatus: 0,
                   expecting: ["rolled-back  checkout (demo)  1.4.2 → 1.4.1"]) {
    await versioncheck(["watch", "--once", "--manifest", manifest, "--state", state])
}
let rollback = inbox.alerts.last
narrator.check(rollback?["type"]?.stringValue == "rolled-back", "the inbox got the rolled-back alert")
if let rollback {
    narrator.say("inbox: received this alert (the webhook channel's JSON):")
    print("  " + rollback.serialized)
}
narrator.say("The checks a deployment system runs now fail, and their exit status is what makes it roll back or page:")
await narrator.run("versioncheck --expect 1.4.2 \(liveURL)/info", expectStatus: 1, expecting: ["reports 1.4.1, expected 1.4.2"]) {
    await versioncheck(["--expect", "1.4.2", "--no-color", "\(liveURL)/info"])
}
await narrator.run("hookrunner post-traffic --config \(short(hooks)) --var LIVE=\(liveURL)", expectStatus: 1,
                   expecting: ["live traffic reaches the release"]) {
    await hookrunner(["post-traffic", "--config", hooks, "--var", "NEW=\(greenURL)", "--var", "LIVE=\(liveURL)", "--no-color"])
}
narrator.heading("The audit trail")
await narrator.run("versioncheck history checkout --state \(short(state))", expectStatus: 0, expecting: ["rolled-back"]) {
    await versioncheck(["history", "checkout", "--state", state])
}

// MARK: The end

await routerServer.stop(gracePeriod: .milliseconds(200))
await inboxServer.stop(gracePeriod: .milliseconds(200))
await blue.stop(gracePeriod: .milliseconds(200))
await green.stop(gracePeriod: .milliseconds(200))

print("")
if narrator.surprises.isEmpty {
    print("Every step behaved as told. Next: README.md (InfoEndpoint, hookrunner, versioncheck watch) and recipes/ for your deployment system.")
    exit(0)
}
print("These steps did not behave as told:")
for surprise in narrator.surprises { print("  - \(surprise)") }
exit(1)
