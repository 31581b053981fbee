import DeployVerifyKit
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HookRunner
import InfoEndpoint
import Testing
import TestSupport

/// A scratch directory with a checks file, an approval key and a trail.
private struct Desk {
    let directory: URL
    /// Unique per test, so that finding it anywhere in output means it leaked.
    let key = "approval-key-\(UUID().uuidString)"

    init(_ config: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("approvals-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try config.write(to: directory.appendingPathComponent("hooks.json"), atomically: true, encoding: .utf8)
        try (key + "\n").write(to: directory.appendingPathComponent("key"), atomically: true, encoding: .utf8)
        // hookrunner serve's working directory: no hooks.json there, so it serves approval links alone.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("serve"), withIntermediateDirectories: true)
    }

    var config: String { path("hooks.json") }
    var keyFile: String { path("key") }
    var trail: String { path("approvals.jsonl") }
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    func read(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// `--report` for every format, into this directory.
    var reports: [String] {
        ["--report", "json=\(path("r.json"))", "--report", "junit=\(path("r.xml"))", "--report", "tap=\(path("r.tap"))"]
    }

    /// The trail's records, oldest first.
    var records: [[String: Any]] {
        read("approvals.jsonl").split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func events(_ request: String? = nil) -> [String] {
        records.filter { request == nil || $0["request"] as? String == request }.compactMap { $0["event"] as? String }
    }

    func report() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(read("r.json").utf8)) as? [String: Any], "\(read("r.json"))")
    }

    /// Every file a person or CI could read afterwards.
    var writtenFiles: String {
        ["approvals.jsonl", "r.json", "r.xml", "r.tap", "summary.md"].map(read).joined(separator: "\n")
    }

    /// A `hookrunner` process for the phase, on this directory's file, key and trail.
    func run(_ phase: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        let base = ProcessInfo.processInfo.environment.filter {
            !["LIFECYCLE_EVENT", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "HOOKRUNNER_APPROVAL_KEY", "PRE_APPROVE"].contains($0.key)
        }
        let process = ChildProcess(try Products.executable("hookrunner"),
                                   [phase, "--config", config, "--approvals", trail] + arguments,
                                   environment: base.merging(environment) { _, new in new })
        try process.start()
        return process
    }

    /// `hookrunner serve` of approval links alone, on this directory's trail and key; returns once it listens.
    func serve(_ arguments: [String] = []) async throws -> (ChildProcess, Int) {
        let server = ChildProcess(try Products.executable("hookrunner"),
                                  ["serve", "--port", "0", "--host", "127.0.0.1", "--approvals", trail, "--approval-key-file", keyFile]
                                      + arguments, currentDirectory: directory.appendingPathComponent("serve"))
        try server.start()
        let line = try await server.waitForLine(containing: "serving approval links")
        let port = try #require(line.split(separator: ":").compactMap { Int($0.prefix { $0.isNumber }) }.last)
        return (server, port)
    }
}

/// An approval link taken from a posted request.
private struct Link {
    let url: String
    let port: Int
    let path: String
    let token: String

    init(_ url: String?) throws {
        let url = try #require(url, "no link in the request")
        let components = try #require(URLComponents(string: url))
        self.url = url
        port = try #require(components.port)
        path = components.percentEncodedPath
        token = try #require(components.queryItems?.first { $0.name == "token" }?.value)
    }

    /// The same link on another server, or another path with this token.
    func with(port: Int? = nil, path: String? = nil) throws -> Link {
        try Link("http://127.0.0.1:\(port ?? self.port)\(path ?? self.path)?token=\(token)")
    }

    var id: String { path.split(separator: "/").dropLast().last.map(String.init) ?? "" }
}

private func formEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

/// The confirmation page, as a browser (or a chat tool's preview) fetches it.
private func open(_ link: Link, method: String = "GET", headers: [String] = []) async throws -> RawResponse {
    let client = try RawClient(port: link.port, receiveTimeout: 20)
    return try await client.get("\(link.path)?token=\(link.token)", method: method, headers: headers)
}

/// The page's form submitted: what the button does.
private func click(_ link: Link, name: String? = nil, token: String? = nil, headers: [String] = []) async throws -> RawResponse {
    let client = try RawClient(port: link.port, receiveTimeout: 20)
    try client.send(clickRequest(link, name: name, token: token, headers: headers))
    return try await client.response()
}

private func clickRequest(_ link: Link, name: String?, token: String? = nil, headers: [String] = []) -> String {
    let body = "token=\(formEncode(token ?? link.token))" + (name.map { "&name=\(formEncode($0))" } ?? "")
    return "POST \(link.path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + "Content-Length: \(body.utf8.count)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n" + body
}

/// The webhook payloads the receiver got on `path`, in order.
private func payloads(_ receiver: WebhookReceiver, _ path: String) -> [[String: Any]] {
    receiver.requests.filter { $0.path == path }.compactMap(\.json)
}

/// Waits for `count` requests on the receiver.
private func arrivals(_ receiver: WebhookReceiver, _ count: Int, _ runner: ChildProcess) async throws {
    do {
        try await withTimeout(.seconds(30), "\(count) request(s) at the chat endpoint") { await receiver.waitForRequests(count) }
    } catch {
        throw TestFailure("\(error); hookrunner said: \(runner.output)")
    }
}

/// Problems of a Slack incoming-webhook payload with link buttons (integration contracts §5:
/// `text`, `blocks` of a mrkdwn `section`; Block Kit `actions` with `button` elements carrying `url`).
private func slackProblems(_ payload: [String: Any], links: [String]) -> [String] {
    var problems: [String] = []
    if (payload["text"] as? String)?.isEmpty != false { problems.append("no text") }
    let blocks = payload["blocks"] as? [[String: Any]] ?? []
    let section = blocks.first { $0["type"] as? String == "section" }
    if (section?["text"] as? [String: Any])?["type"] as? String != "mrkdwn" { problems.append("no mrkdwn section") }
    guard let actions = blocks.first(where: { $0["type"] as? String == "actions" }) else { return problems + ["no actions block"] }
    let elements = actions["elements"] as? [[String: Any]] ?? []
    if elements.isEmpty || elements.count > 25 { problems.append("actions must have 1 to 25 elements") }
    for element in elements {
        if element["type"] as? String != "button" { problems.append("element \(element) is not a button") }
        let text = element["text"] as? [String: Any]
        if text?["type"] as? String != "plain_text" || ((text?["text"] as? String)?.count ?? 0) > 75 { problems.append("bad button text") }
        if let style = element["style"] as? String, !["primary", "danger"].contains(style) { problems.append("bad style \(style)") }
        if (element["url"] as? String).map({ $0.count > 3000 }) ?? true { problems.append("button without url") }
    }
    let urls = elements.compactMap { $0["url"] as? String }
    for link in links where !urls.contains(link) { problems.append("no button for \(link)") }
    return problems
}

/// Problems of a Teams Workflows message: an Adaptive Card 1.2 or later whose actions are
/// `Action.OpenUrl` (webhooks do not take `Action.Submit`).
private func teamsProblems(_ payload: [String: Any], links: [String]) -> [String] {
    var problems: [String] = []
    if payload["type"] as? String != "message" { problems.append("type is not message") }
    guard let attachment = (payload["attachments"] as? [[String: Any]])?.first,
          attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive",
          let card = attachment["content"] as? [String: Any] else { return ["no adaptive card attachment"] }
    if card["type"] as? String != "AdaptiveCard" { problems.append("not an AdaptiveCard") }
    let version = (card["version"] as? String ?? "").split(separator: ".").compactMap { Int($0) }
    if version.count != 2 || version[0] != 1 || version[1] < 2 { problems.append("version \(card["version"] ?? "none") is not 1.2 or later") }
    if (card["body"] as? [[String: Any]])?.first?["type"] as? String != "TextBlock" { problems.append("no TextBlock") }
    let actions = card["actions"] as? [[String: Any]] ?? []
    if actions.isEmpty { problems.append("no actions") }
    for action in actions where action["type"] as? String != "Action.OpenUrl" || action["url"] == nil || action["title"] == nil {
        problems.append("action \(action) is not an Action.OpenUrl with title and url")
    }
    let urls = actions.compactMap { $0["url"] as? String }
    for link in links where !urls.contains(link) { problems.append("no action for \(link)") }
    return problems
}

@Suite("hookrunner approvals: links, tokens, the trail")
struct ApprovalTests {
    /// The chat endpoints of one receiver: Slack, Teams, Discord and a webhook, with secret paths.
    private static func channels(_ receiver: WebhookReceiver) -> String {
        """
        "channels": {
          "team-slack": {"type": "slack", "url": "\(receiver.url("/services/T0AB12/B0CD34/slackSECRETtoken99"))"},
          "team-teams": {"type": "teams", "url": "\(receiver.url("/workflows/teamsSECRET0123456789abcdef/triggers/manual"))"},
          "team-discord": {"type": "discord", "url": "\(receiver.url("/api/webhooks/1234/discordSECRETtoken"))"},
          "deploy-bot": {"type": "webhook", "url": "\(receiver.url("/hooks/approvals"))", "headers": {"Authorization": "Bearer bot-s3cret"}}
        }
        """
    }

    @Test func approveThroughTheLinkWithEveryChannelAndReport() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {\(Self.channels(receiver)),
         "phases": {"canary": [
           {"name": "release manager approves", "approval": {
             "message": "checkout ${VERSION} is on 5% of traffic", "channels": ["team-slack", "team-teams", "team-discord", "deploy-bot"],
             "service": "checkout", "version": "${VERSION}", "build": "${BUILD}", "timeout": "2m",
             "links": {"Dashboard": "https://grafana.example/d/checkout?var-version=${VERSION}"}}},
           {"name": "after", "command": "true"}
         ]}}
        """)
        defer { desk.remove() }
        let runner = try desk.run("canary", ["--var", "VERSION=1.4.2", "--var", "BUILD=4711", "--approval-key-file", desk.keyFile,
                                             "--approval-listen", "127.0.0.1:0"] + desk.reports,
                                  environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": desk.path("summary.md")])
        defer { runner.send(signal: SIGKILL) }
        try await arrivals(receiver, 4, runner)

        let webhook = try #require(payloads(receiver, "/hooks/approvals").first)
        #expect(webhook["type"] as? String == "approval-requested")
        #expect(webhook["service"] as? String == "checkout")
        #expect(webhook["build"] as? String == "4711")
        #expect(webhook["preApproved"] as? Bool == false)
        let approve = try Link(webhook["approveUrl"] as? String)
        let rollback = try Link(webhook["rollbackUrl"] as? String)
        #expect(approve.id == rollback.id && approve.id.hasPrefix("apr-"))
        #expect(approve.token != rollback.token)
        let links = [approve.url, rollback.url, "https://grafana.example/d/checkout?var-version=1.4.2"]
        let slack = try #require(payloads(receiver, "/services/T0AB12/B0CD34/slackSECRETtoken99").first)
        #expect(slackProblems(slack, links: links).isEmpty, "\(slackProblems(slack, links: links)): \(slack)")
        let teams = try #require(payloads(receiver, "/workflows/teamsSECRET0123456789abcdef/triggers/manual").first)
        #expect(teamsProblems(teams, links: links).isEmpty, "\(teamsProblems(teams, links: links)): \(teams)")
        let discord = try #require(payloads(receiver, "/api/webhooks/1234/discordSECRETtoken").first)
        let embed = try #require((discord["embeds"] as? [[String: Any]])?.first)
        let description = try #require(embed["description"] as? String)
        #expect(description.contains("[Approve](\(approve.url))") && description.contains("[Roll back](\(rollback.url))"))
        #expect((discord["content"] as? String)?.contains("checkout 1.4.2 is on 5% of traffic") == true)
        #expect(receiver.requests.first { $0.path == "/hooks/approvals" }?.header("Authorization") == "Bearer bot-s3cret")

        // A GET (a person opening the link, or a chat tool previewing it) shows the page and decides nothing.
        let page = try await open(approve)
        #expect(page.status == 200)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(page.header("Cache-Control") == "no-store")
        #expect(page.text.contains("<form method=\"post\" action=\"approve\">"))
        #expect(page.text.contains("checkout 1.4.2 is on 5% of traffic"))
        #expect(page.text.contains("<td>4711</td>"))
        #expect(!page.text.contains("<script") && !page.text.contains("src="), "no scripts, no external resources")
        #expect(try await open(approve, method: "HEAD").status == 200)
        #expect(try await open(rollback).status == 200)
        try await Task.sleep(for: .milliseconds(600)) // more than two polls of the trail
        #expect(desk.events() == ["requested"], "a GET records nothing")
        #expect(runner.isRunning, "a GET decides nothing")

        // The page's button: a POST with the typed name. Markup in the name is escaped on the page.
        let clicked = try await click(approve, name: "Alice <b>Ops</b>")
        #expect(clicked.status == 200, "\(clicked.text)")
        #expect(clicked.text.contains("approved by Alice &lt;b&gt;Ops&lt;/b&gt; (typed name) from 127.0.0.1"))
        #expect(try await runner.waitForExit() == 0, "\(runner.output)")
        #expect(runner.standardOutput.contains("✔ release manager approves: approved by Alice <b>Ops</b> (typed name) from 127.0.0.1"))

        // The trail: who, when, which build.
        #expect(desk.events() == ["requested", "approved"])
        let decision = try #require(desk.records.last)
        #expect(decision["by"] as? String == "Alice <b>Ops</b>")
        #expect(decision["via"] as? String == "typed name")
        #expect(decision["address"] as? String == "127.0.0.1")
        #expect(decision["build"] as? String == "4711" && decision["version"] as? String == "1.4.2")
        #expect(decision["request"] as? String == approve.id)

        // Every report format names the decision.
        let check = try #require((try desk.report()["checks"] as? [[String: Any]])?.first)
        let approval = try #require(check["approval"] as? [String: Any])
        #expect(approval["decision"] as? String == "approved")
        #expect(approval["by"] as? String == "Alice <b>Ops</b>")
        #expect(approval["build"] as? String == "4711")
        #expect(check["kind"] as? String == "approval")
        let junit = desk.read("r.xml")
        #expect(junit.contains(#"<property name="approval.by" value="Alice &lt;b&gt;Ops&lt;/b&gt;"/>"#), "\(junit)")
        #expect(junit.contains(#"<property name="approval.decision" value="approved"/>"#))
        #expect(junit.contains(#"<property name="approval.build" value="4711"/>"#))
        #expect(XMLParser(data: Data(junit.utf8)).parse(), "the JUnit report is well-formed XML")
        #expect(desk.read("r.tap").contains("# approval \(approve.id): approved by Alice <b>Ops</b>"))
        #expect(desk.read("summary.md").contains("approved by Alice <b>Ops</b>"))

        // The key and the tokens appear nowhere but in the links sent to the chat.
        for secret in [desk.key, approve.token, rollback.token, "slackSECRETtoken99", "bot-s3cret"] {
            #expect(!runner.output.contains(secret), "\(secret) in the output")
            #expect(!desk.writtenFiles.contains(secret), "\(secret) in a report or the trail")
        }
        await receiver.stop()
    }

    @Test func rollBackThroughTheLinkFailsTheStep() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [
           {"name": "look at the canary", "approval": {"channels": ["bot"], "service": "checkout", "version": "1.4.2", "timeout": "2m"}},
           {"name": "shift the rest", "command": "true"}
         ]}}
        """)
        defer { desk.remove() }
        let runner = try desk.run("canary", ["--approval-key-file", desk.keyFile, "--approval-listen", "127.0.0.1:0", "--report",
                                             "json=\(desk.path("r.json"))"])
        defer { runner.send(signal: SIGKILL) }
        try await arrivals(receiver, 1, runner)
        let rollback = try Link(try #require(payloads(receiver, "/bot").first)["rollbackUrl"] as? String)
        let page = try await open(rollback)
        #expect(page.text.contains("<button type=\"submit\" class=\"rollback\">Roll back</button>"))
        let clicked = try await click(rollback, name: "bob")
        #expect(clicked.status == 200)
        #expect(clicked.text.contains("the deployment rolls back"))
        #expect(try await runner.waitForExit() == 1, "\(runner.output)")
        #expect(runner.standardOutput.contains("✘ look at the canary: rolled back by bob (typed name) from 127.0.0.1"))
        #expect(runner.standardOutput.contains("- shift the rest: skipped after 'look at the canary' failed"))
        #expect(desk.events() == ["requested", "rolled-back"])
        let check = try #require((try desk.report()["checks"] as? [[String: Any]])?.first)
        #expect(check["result"] as? String == "failed")
        #expect((check["approval"] as? [String: Any])?["decision"] as? String == "rolled-back")
        await receiver.stop()
    }

    @Test func aStoppedRunCancelsItsRequest() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [{"name": "look", "approval": {"channels": ["bot"], "timeout": "2m"}}]}}
        """)
        defer { desk.remove() }
        let runner = try desk.run("canary", ["--approval-key-file", desk.keyFile, "--approval-listen", "127.0.0.1:0"])
        defer { runner.send(signal: SIGKILL) }
        try await arrivals(receiver, 1, runner)
        let approve = try Link(try #require(payloads(receiver, "/bot").first)["approveUrl"] as? String)
        runner.send(signal: SIGTERM)
        #expect(try await runner.waitForExit() == 3, "\(runner.output)")
        #expect(runner.standardOutput.contains("! look: interrupted"), "\(runner.output)")
        #expect(desk.events() == ["requested", "cancelled"])
        #expect(desk.records.last?["reason"] as? String == "the run was stopped before a decision")
        // Its links are gone with it.
        #expect(throws: (any Error).self) { try RawClient(port: approve.port) }
        await receiver.stop()
    }

    @Test func aSeparateServeServesTheLinksAndTheDecisionCrossesThroughTheTrail() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [
           {"name": "first look", "approval": {"channels": ["bot"], "service": "checkout", "version": "1.4.2", "build": "b-7",
                                               "approvers": ["alice", "carol"], "timeout": "2m"}},
           {"name": "second look", "approval": {"channels": ["bot"], "service": "checkout", "version": "1.4.2", "build": "b-7",
                                                "timeout": "2m"}}
         ]}}
        """)
        defer { desk.remove() }
        let (server, port) = try await desk.serve(["--trusted-user-header", "X-Forwarded-User"])
        defer { server.send(signal: SIGKILL) }
        let runner = try desk.run("canary", ["--approval-key-file", desk.keyFile, "--public-url", "http://127.0.0.1:\(port)/",
                                             "--report", "json=\(desk.path("r.json"))"])
        defer { runner.send(signal: SIGKILL) }
        try await arrivals(receiver, 1, runner)
        let first = try #require(payloads(receiver, "/bot").first)
        let approve = try Link(first["approveUrl"] as? String)
        let rollback = try Link(first["rollbackUrl"] as? String)
        #expect(approve.port == port, "the links point at hookrunner serve")

        // Behind the proxy: without its header nobody is signed in.
        let page = try await open(approve)
        #expect(page.status == 200)
        #expect(page.text.contains("You are not signed in"))
        #expect(try await open(approve, headers: ["X-Forwarded-User: alice"]).text.contains("signed in as <strong>alice</strong>"))
        #expect(try await click(approve).status == 403)
        // Not an approver of this step.
        let mallory = try await click(approve, headers: ["X-Forwarded-User: mallory", "X-Forwarded-For: 203.0.113.9"])
        #expect(mallory.status == 403)
        #expect(mallory.text.contains("mallory is not an approver of this deployment"))
        // Forged, and meant for the other decision.
        let forged = "v1." + approve.token.split(separator: ".")[1] + "." + String(repeating: "A", count: 43)
        #expect(try await click(approve, token: forged, headers: ["X-Forwarded-User: alice"]).status == 403)
        #expect(try await click(rollback, token: approve.token, headers: ["X-Forwarded-User: alice"]).status == 403)
        // No such request.
        let unknown = try await click(try approve.with(path: "/approvals/apr-00000000deadbeef/approve"), headers: ["X-Forwarded-User: alice"])
        #expect(unknown.status == 403)
        #expect(runner.isRunning)
        #expect(desk.events(approve.id) == ["requested", "refused", "refused", "refused", "refused"])

        // The approver, through the proxy: the step, in its own process, learns it from the trail.
        let alice = try await click(approve, headers: ["X-Forwarded-User: alice", "X-Forwarded-For: 198.51.100.4"])
        #expect(alice.status == 200, "\(alice.text)")
        // Replayed: the link is single-use.
        let replay = try await click(approve, headers: ["X-Forwarded-User: alice"])
        #expect(replay.status == 403)
        #expect(replay.text.contains("already decided: approved by alice"))

        // The second step's request; the first request's token does not open it.
        try await arrivals(receiver, 2, runner)
        let second = try #require(payloads(receiver, "/bot").last)
        let secondRollback = try Link(second["rollbackUrl"] as? String)
        #expect(secondRollback.id != approve.id)
        let crossed = try await click(try approve.with(path: "/approvals/\(secondRollback.id)/approve"), headers: ["X-Forwarded-User: alice"])
        #expect(crossed.status == 403)
        #expect(crossed.text.contains("not valid for this deployment"))
        #expect(try await click(secondRollback, headers: ["X-Forwarded-User: bob"]).status == 200)
        #expect(try await runner.waitForExit() == 1, "\(runner.output)")

        let records = desk.records
        let refused = records.filter { $0["event"] as? String == "refused" }
        #expect(refused.count == 7)
        #expect(refused.contains { $0["reason"] as? String == "no X-Forwarded-User header: open the link through the sign-in proxy" })
        #expect(refused.contains { $0["by"] as? String == "mallory" && $0["forwardedFor"] as? String == "203.0.113.9" })
        #expect(refused.contains { $0["request"] as? String == "apr-00000000deadbeef" })
        let approved = try #require(records.first { $0["event"] as? String == "approved" })
        #expect(approved["by"] as? String == "alice" && approved["via"] as? String == "header X-Forwarded-User")
        #expect(approved["forwardedFor"] as? String == "198.51.100.4" && approved["build"] as? String == "b-7")
        #expect(records.filter { ($0["event"] as? String).map { ["approved", "rolled-back"].contains($0) } ?? false }.count == 2)
        #expect(runner.standardOutput.contains("✔ first look: approved by alice (header X-Forwarded-User)"))
        #expect(runner.standardOutput.contains("✘ second look: rolled back by bob"))
        #expect(runner.standardOutput.contains("approval 'first look': refused approve by mallory"), "refusals are noted while waiting")

        // hookrunner approvals lists the trail.
        let table = try await runProduct("hookrunner", ["approvals", "--approvals", desk.trail])
        #expect(table.status == 0, "\(table.output)")
        let rows = table.stdout.split(separator: "\n")
        #expect(rows.first?.hasPrefix("TIME") == true)
        #expect(rows.count == 1 + records.count)
        #expect(rows.contains { $0.contains("approved") && $0.contains("alice") && $0.contains("b-7") })
        #expect(rows.contains { $0.contains("refused") && $0.contains("mallory") })
        let json = try await runProduct("hookrunner", ["approvals", "--approvals", desk.trail, "--format", "json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(listed.count == records.count)
        let future = try await runProduct("hookrunner", ["approvals", "--approvals", desk.trail, "--since", "2999-01-01"])
        #expect(future.stdout.contains("(no approvals since then)"))

        for secret in [desk.key, approve.token, rollback.token, secondRollback.token] {
            #expect(!runner.output.contains(secret) && !server.output.contains(secret) && !table.output.contains(secret))
            #expect(!desk.writtenFiles.contains(secret))
        }
        server.send(signal: SIGTERM)
        #expect(try await server.waitForExit() == 0)
        #expect(server.standardOutput.contains("approved by alice"))
        await receiver.stop()
    }

    @Test func twoConcurrentClicksRecordExactlyOneDecision() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [{"name": "look", "approval": {"channels": ["bot"], "service": "checkout", "timeout": "2m"}}]}}
        """)
        defer { desk.remove() }
        // Two servers on one trail: the flock serializes them as it does one server's requests.
        let (one, onePort) = try await desk.serve()
        defer { one.send(signal: SIGKILL) }
        let (two, twoPort) = try await desk.serve()
        defer { two.send(signal: SIGKILL) }
        let runner = try desk.run("canary", ["--approval-key-file", desk.keyFile, "--public-url", "http://127.0.0.1:\(onePort)"])
        defer { runner.send(signal: SIGKILL) }
        try await arrivals(receiver, 1, runner)
        let payload = try #require(payloads(receiver, "/bot").first)
        let approve = try Link(payload["approveUrl"] as? String)
        let rollback = try Link(payload["rollbackUrl"] as? String)
        let clicks = [(approve, "ann"), (rollback, "rob"), (try approve.with(port: twoPort), "amy"), (try rollback.with(port: twoPort), "ray")]
        // The trail's lock held here, as another process would: no click can decide meanwhile.
        let lock = open(desk.trail, O_RDWR)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        // Every request on the wire before any answer is read.
        let clients = try clicks.map { link, _ in try RawClient(port: link.port, receiveTimeout: 20) }
        for (client, (link, name)) in zip(clients, clicks) { try client.send(clickRequest(link, name: name)) }
        try await Task.sleep(for: .milliseconds(500))
        #expect(desk.events() == ["requested"], "the servers wait for the lock")
        close(lock)
        var statuses: [Int] = []
        for client in clients { statuses.append(try await client.response().status) }
        #expect(statuses.sorted() == [200, 403, 403, 403], "\(statuses)")
        let decisions = desk.records.filter { ["approved", "rolled-back"].contains($0["event"] as? String ?? "") }
        #expect(decisions.count == 1, "\(desk.records)")
        #expect(desk.events().filter { $0 == "refused" }.count == 3)
        let winner = try #require(decisions.first?["event"] as? String)
        #expect(try await runner.waitForExit() == (winner == "approved" ? 0 : 1), "\(runner.output)")
        await receiver.stop()
    }

    @Test func noDecisionInTimeRollsBack() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [{"name": "look", "approval": {"channels": ["bot"], "service": "checkout", "timeout": "1s"}}]}}
        """)
        defer { desk.remove() }
        let started = ContinuousClock.now
        let result = try await runProduct("hookrunner", ["canary", "--config", desk.config, "--approvals", desk.trail, "--approval-key-file",
                                                         desk.keyFile, "--approval-listen", "127.0.0.1:0", "--report", "json=\(desk.path("r.json"))"])
        #expect(result.status == 1, "\(result.output)")
        #expect(ContinuousClock.now - started >= .seconds(1))
        #expect(result.stdout.contains("✘ look: no decision in time: rolled back (onTimeout: rollback)"))
        #expect(desk.events() == ["requested", "timed-out"])
        #expect(desk.records.last?["outcome"] as? String == "rollback")
        let check = try #require((try desk.report()["checks"] as? [[String: Any]])?.first)
        #expect((check["approval"] as? [String: Any])?["decision"] as? String == "timed-out")
        #expect((check["approval"] as? [String: Any])?["outcome"] as? String == "rollback")
        await receiver.stop()
    }

    @Test func onTimeoutApprovePassesAndTheExpiredLinkIsRefused() async throws {
        let receiver = try WebhookReceiver()
        let desk = try Desk("""
        {"channels": {"bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [{"name": "look", "approval": {"channels": ["bot"], "service": "checkout", "timeout": "2s",
                                                              "onTimeout": "approve"}}]}}
        """)
        defer { desk.remove() }
        let (server, port) = try await desk.serve()
        defer { server.send(signal: SIGKILL) }
        let runner = try desk.run("canary", ["--approval-key-file", desk.keyFile, "--public-url", "http://127.0.0.1:\(port)"])
        defer { runner.send(signal: SIGKILL) }
        #expect(try await runner.waitForExit() == 0, "\(runner.output)")
        #expect(runner.standardOutput.contains("✔ look: no decision in time: approved (onTimeout: approve)"))
        let approve = try Link(try #require(payloads(receiver, "/bot").first)["approveUrl"] as? String)
        #expect(try await open(approve).status == 403)
        let late = try await click(approve, name: "late larry")
        #expect(late.status == 403)
        #expect(late.text.contains("the link expired at"))
        #expect(desk.events() == ["requested", "timed-out", "refused"])
        #expect(desk.records.last?["reason"] as? String == "the link expired at \(desk.records[0]["expires"] as? String ?? "?")")
        await receiver.stop()
    }

    @Test func preApprovalPostsRecordsAndPassesWithoutWaiting() async throws {
        let receiver = try WebhookReceiver()
        let config = """
        {"channels": {"slack": {"type": "slack", "url": "\(receiver.url("/services/T1/B2/preSECRET"))"},
                      "bot": {"type": "webhook", "url": "\(receiver.url("/bot"))"}},
         "phases": {"canary": [{"name": "look", "approval": {"channels": ["slack", "bot"], "service": "checkout", "version": "1.4.2",
                                                              "preApprove": "${PRE_APPROVE}", "links": {"Logs": "https://logs.example/checkout"}}}]}}
        """
        let desk = try Desk(config)
        defer { desk.remove() }
        let hookrunner = { (arguments: [String], environment: [String: String]) async throws -> CommandResult in
            let base = ProcessInfo.processInfo.environment.filter { !["PRE_APPROVE", "HOOKRUNNER_APPROVAL_KEY"].contains($0.key) }
            return try await runProduct("hookrunner", ["canary", "--config", desk.config, "--approvals", desk.trail] + arguments,
                                        environment: base.merging(environment) { _, new in new })
        }

        // --pre-approve: no key or listener needed; posted, recorded, passed.
        let flag = try await hookrunner(["--pre-approve", "--report", "json=\(desk.path("r.json"))"], [:])
        #expect(flag.status == 0, "\(flag.output)")
        #expect(flag.stdout.contains("✔ look: pre-approved (--pre-approve)"))
        #expect(desk.events() == ["requested", "pre-approved"])
        #expect(desk.records.last?["via"] as? String == "--pre-approve")
        let check = try #require((try desk.report()["checks"] as? [[String: Any]])?.first)
        #expect((check["approval"] as? [String: Any])?["decision"] as? String == "pre-approved")
        let posted = try #require(payloads(receiver, "/bot").first)
        #expect(posted["type"] as? String == "approval-pre-approved" && posted["preApproved"] as? Bool == true)
        #expect(posted["approveUrl"] is NSNull && posted["rollbackUrl"] is NSNull)
        let slack = try #require(payloads(receiver, "/services/T1/B2/preSECRET").first)
        #expect((slack["text"] as? String)?.contains("Pre-approved (--pre-approve)") == true)
        #expect(slackProblems(slack, links: ["https://logs.example/checkout"]).isEmpty, "\(slack)")

        // PRE_APPROVE=true through the file's preApprove: the same path.
        let variable = try await hookrunner([], ["PRE_APPROVE": "true"])
        #expect(variable.status == 0, "\(variable.output)")
        #expect(desk.events() == ["requested", "pre-approved", "requested", "pre-approved"])
        #expect(desk.records.last?["via"] as? String == "preApprove")
        #expect(payloads(receiver, "/bot").count == 2)

        // Production leaves PRE_APPROVE unset: the step would wait, so it needs its key and links.
        let unset = try await hookrunner([], [:])
        #expect(unset.status == 2)
        #expect(unset.stderr.contains("phases.canary[0]: an approval step needs a key to sign its links"), "\(unset.output)")
        let odd = try await hookrunner([], ["PRE_APPROVE": "maybe"])
        #expect(odd.status == 2)
        #expect(odd.stderr.contains("phases.canary[0].approval.preApprove: 'maybe' is not true or false"), "\(odd.output)")
        // Pre-approved or not, a request no channel takes fails the step: the path is exercised for real.
        await receiver.stop()
        let unreachable = try await hookrunner(["--pre-approve"], [:])
        #expect(unreachable.status == 1, "\(unreachable.output)")
        #expect(unreachable.stdout.contains("no channel took the approval request"))
        #expect(!unreachable.output.contains("preSECRET"), "channel URLs stay secret")
        #expect(desk.events().suffix(2) == ["requested", "cancelled"])
    }

    @Test func theFileIsCheckedBeforeAnythingRuns() async throws {
        func problem(_ config: String) -> String? {
            do {
                _ = try HooksFile.parse(Array(config.utf8), path: "hooks.json")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(problem(#"{"phases": {"x": [{"approval": {"channels": ["nope"]}}]}}"#)?
            .contains("phases.x[0].approval.channels[0]: no channel 'nope' (the file defines no channels)") == true)
        #expect(problem(#"{"channels": {"c": {"type": "webhook", "url": "http://h/"}}, "phases": {"x": [{"approval": {}}]}}"#)?
            .contains("needs channels") == true)
        #expect(problem(#"{"channels": {"c": {"type": "webhook", "url": "http://h/"}}, "phases": {"x": [{"parallel": [{"approval": {"channels": ["c"]}}]}]}}"#)?
            .contains("an approval is a step of its own") == true)
        #expect(problem(#"{"channels": {"c": {"type": "webhook", "url": "http://h/"}}, "phases": {"x": [{"approval": {"channels": ["c"]}, "retry": {"within": "1m"}}]}}"#)?
            .contains("an approval takes no retry") == true)
        #expect(problem(#"{"channels": {"c": {"type": "webhook", "url": "http://h/"}}, "phases": {"x": [{"approval": {"channels": ["c"], "onTimeout": "wait"}}]}}"#)?
            .contains("'wait' is neither rollback nor approve") == true)
        #expect(problem(#"{"channels": {"c": {"type": "webhook", "url": "http://h/"}}, "phases": {"x": [{"approval": {"channels": ["c"], "preApprove": "sometimes"}}]}}"#)?
            .contains("'sometimes' is not true or false") == true)
        #expect(problem(#"{"channels": {"c": "http://h/"}, "phases": {"x": []}}"#)?.contains("channels.c: expected a channel") == true)

        // Channels are read by versioncheck's reader when the file is validated (their variables too).
        let desk = try Desk("""
        {"channels": {"pd": {"type": "pagerduty", "routingKey": "0123456789abcdef0123456789abcdef"},
                      "slack": {"type": "slack", "url": "${SLACK_URL}"}},
         "phases": {"x": [{"approval": {"channels": ["slack"]}}]}}
        """)
        defer { desk.remove() }
        let pagerDuty = try await runProduct("hookrunner", ["validate", "--config", desk.config, "--var", "SLACK_URL=https://hooks.slack.com/services/T/B/x"])
        #expect(pagerDuty.status == 2)
        #expect(pagerDuty.stderr.contains("channels.pd.type: a pagerduty channel cannot be used here"), "\(pagerDuty.output)")
        try #"{"channels": {"slack": {"type": "slack", "url": "${SLACK_URL}"}}, "phases": {"x": [{"approval": {"channels": ["slack"]}}]}}"#
            .write(toFile: desk.config, atomically: true, encoding: .utf8)
        let undefined = try await runProduct("hookrunner", ["validate", "--config", desk.config])
        #expect(undefined.status == 2)
        #expect(undefined.stderr.contains("channels.slack.url: ${SLACK_URL} is not defined"), "\(undefined.output)")
        let valid = try await runProduct("hookrunner", ["validate", "--config", desk.config, "--var", "SLACK_URL=https://hooks.slack.com/services/T/B/x"])
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.stdout.contains("x: 1 check (1 approval)"))

        // The flags, each where it applies.
        let listenOnServe = try await runProduct("hookrunner", ["serve", "--port", "0", "--approval-listen", "127.0.0.1:0"])
        #expect(listenOnServe.status == 2 && listenOnServe.stderr.contains("--approval-listen applies to a phase run"))
        let shortKey = try await runProduct("hookrunner", ["validate", "--config", desk.config], environment: ["HOOKRUNNER_APPROVAL_KEY": "tiny-k3y"])
        #expect(shortKey.status == 2 && shortKey.stderr.contains("the approval key must be at least 16 characters"))
        #expect(!shortKey.output.contains("tiny-k3y"))
    }

    // MARK: In-process: tokens and the page

    @Test func tokensAreBoundToRequestDecisionAndExpiry() throws {
        let key = Array("0123456789abcdef-key".utf8)
        var request = ApprovalRecord(time: Date(timeIntervalSince1970: 1_700_000_000), event: .requested, request: "apr-1")
        request.service = "checkout"
        request.version = "1.4.2"
        request.build = "7"
        request.expires = Date(timeIntervalSince1970: 1_700_000_600)
        let now = Date(timeIntervalSince1970: 1_700_000_100)
        let token = ApprovalToken.make(key: key, request: request, decision: .approve)
        #expect(token.hasPrefix("v1.1700000600."))
        #expect(ApprovalToken.check(token, key: key, request: request, decision: .approve, now: now) == nil)
        #expect(ApprovalToken.check(token, key: key, request: request, decision: .rollback, now: now) == .invalid)
        #expect(ApprovalToken.check(token, key: Array("another-key-0123456".utf8), request: request, decision: .approve, now: now) == .invalid)
        var other = request
        other.request = "apr-2"
        #expect(ApprovalToken.check(token, key: key, request: other, decision: .approve, now: now) == .invalid)
        other = request
        other.build = "8"
        #expect(ApprovalToken.check(token, key: key, request: other, decision: .approve, now: now) == .invalid)
        other = request
        other.expires = Date(timeIntervalSince1970: 1_700_009_999)
        #expect(ApprovalToken.check(token, key: key, request: other, decision: .approve, now: now) == .invalid, "a later expiry is no extension")
        #expect(ApprovalToken.check(token, key: key, request: request, decision: .approve, now: Date(timeIntervalSince1970: 1_700_000_600))
            == .expired(Date(timeIntervalSince1970: 1_700_000_600)))
        for garbage in ["", "v1", "v1..", "v2.1700000600.x", "v1.1700000600.!!!", "v1.1700000600." + String(repeating: "A", count: 500)] {
            #expect(ApprovalToken.check(garbage, key: key, request: request, decision: .approve, now: now) == .invalid)
        }
    }

    @Test func aTornLastRecordIsCutOffBeforeTheNextIsAppended() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("approvals.jsonl").path
        var requested = ApprovalRecord(time: Date(timeIntervalSince1970: 1_700_000_000), event: .requested, request: "apr-1")
        requested.build = "7"
        // A crash mid-write left half a record after a whole one.
        try (requested.jsonLine + "\n" + #"{"time":"2023-11-14T22:13:21.000Z","event":"appro"#)
            .write(toFile: path, atomically: true, encoding: .utf8)
        let trail = ApprovalTrail(path: path)
        var approved = requested.follow(.approved, at: Date(timeIntervalSince1970: 1_700_000_060))
        approved.by = "alice"
        let offset = try trail.append([approved])
        #expect(offset == UInt64(requested.jsonLine.utf8.count + 1), "appended where the torn record began")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { ApprovalRecord(jsonLine: Array($0.utf8)) != nil })
        let records = try ApprovalTrail.records(path: path, request: "apr-1")
        #expect(records.map(\.event) == [.requested, .approved])
        #expect(records.last?.by == "alice" && records.last?.build == "7")
        #expect(try ApprovalTrail.records(path: path, request: "apr-1", from: offset).map(\.event) == [.approved])
        #expect(try ApprovalTrail.all(path: path, since: Date(timeIntervalSince1970: 1_700_000_030)).map(\.event) == [.approved])
    }

    @Test func formsNamesAndPagesAreReadAndWrittenSafely() {
        #expect(ApprovalDesk.formValues("token=v1.2.a-b_c&name=Ann+O%27Neil&name=second") == ["token": "v1.2.a-b_c", "name": "Ann O'Neil"])
        #expect(ApprovalDesk.formValues("=x&&flag") == ["": "x", "flag": ""])
        #expect(ApprovalDesk.cleanName("  Ann\u{0}\n  O'Neil\t") == "Ann O'Neil")
        #expect(ApprovalDesk.cleanName(String(repeating: "x", count: 500)).count == 100)
        #expect(ApprovalDesk.isRequestID("apr-0123abcd") && !ApprovalDesk.isRequestID("../etc") && !ApprovalDesk.isRequestID(""))
        var request = ApprovalRecord(time: Date(), event: .requested, request: "apr-1")
        request.message = "<script>alert(1)</script> & \"quotes\""
        request.links = [("Logs", "https://logs.example/?a=1&b=\"2\""), ("Evil", "javascript:alert(1)")]
        let html = ApprovalPage.details(request)
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"))
        #expect(html.contains("href=\"https://logs.example/?a=1&amp;b=&quot;2&quot;\""))
        #expect(!html.contains("javascript:"), "only http(s) links")
    }
}
