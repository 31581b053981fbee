import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A fleet of real services on 127.0.0.1 (checkout in production with one instance left
/// behind, checkout in staging, and a service with a hostile name and version), a manifest, and
/// a state the watcher writes with `versioncheck watch --once`.
private final class StatusFixture: @unchecked Sendable {
    static let hostile = "<script>alert(1)</script>"
    static let hostileVersion = "<img src=x onerror=window.__xss=1>"
    let directory: String
    let a: VersionedService, b: VersionedService, staging: VersionedService, odd: VersionedService

    init() throws {
        directory = NSTemporaryDirectory() + "statuspage-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        a = try VersionedService(version: "1.4.1")
        b = try VersionedService(version: "1.4.1")
        staging = try VersionedService(version: "1.5.0")
        odd = try VersionedService(version: Self.hostileVersion)
        try """
        {"services": [
          {"name": "checkout", "environment": "production", "urls": ["\(a.url)", "\(b.url)"], "expect": "1.4.2",
           "headers": {"Authorization": "Bearer ${INFO_TOKEN}"}},
          {"name": "checkout", "environment": "staging", "url": "\(staging.url)"},
          {"name": "\(Self.hostile)", "environment": "production", "url": "\(odd.url)"}
        ]}
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var manifest: String { "\(directory)/fleet.json" }
    var state: String { "\(directory)/state" }
    /// Where screenshots go: printed, kept after the test.
    static let output = NSTemporaryDirectory() + "statuspage-screenshots"
    var environment: [String: String] { ProcessInfo.processInfo.environment.merging(["INFO_TOKEN": "INFO-TOKEN-SECRET-5"]) { $1 } }

    /// One watch cycle.
    func cycle() async throws {
        let result = try await runProduct("versioncheck", ["watch", "--once", "--quiet", "--manifest", manifest, "--state", state],
                                          environment: environment)
        #expect(result.status == 0 || result.status == 1, "\(result.output)")
    }

    /// Two cycles: everything first seen (checkout drifting from 1.4.2), then a deployed to 1.4.2
    /// (deployed, drift recovered on a; b still drifts).
    func history() async throws {
        try await cycle()
        a.version = "1.4.2"
        try await cycle()
    }

    /// `versioncheck serve` on a free port; returns the process and its URL.
    func serve(_ extra: [String] = []) async throws -> (ChildProcess, String) {
        let process = ChildProcess(try Products.executable("versioncheck"),
                                   ["serve", "--manifest", manifest, "--state", state, "--host", "127.0.0.1", "--port", "0"] + extra,
                                   environment: environment)
        try process.start()
        let line = try await process.waitForLine(containing: "status page on")
        let url = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init))
        return (process, url)
    }

    func stop() async {
        for service in [a, b, staging, odd] { await service.stop() }
    }
}

/// JavaScript that reads a grid cell: `class|text`, or null.
private let cellScript = """
const tr = Array.from(document.querySelectorAll('#grid-table tbody tr')).find(t => t.getAttribute('data-service') === arguments[0]);
if (!tr) return null;
const td = Array.from(tr.querySelectorAll('td')).find(t => t.getAttribute('data-env') === arguments[1]);
return td ? td.className + '|' + td.textContent : null;
"""
private let rowsScript = "return Array.from(document.querySelectorAll('#grid-table tbody tr')).filter(t => !t.hidden).map(t => t.getAttribute('data-service'))"

@Suite("status page and versioncheck serve, end to end (a real browser, real services)", .serialized)
struct StatusPageBrowserTests {
    @Test func theServedPageShowsTheFleetAndFollowsItLive() async throws {
        let fixture = try StatusFixture()
        try await fixture.history()
        let (server, url) = try await fixture.serve(["--refresh", "1s"])
        let browser = try await WebDriver.start()
        do {
            try await browser.navigate(url)
            // The grid: live versions, the expected version, drift and the mixed fleet by word and icon.
            let production = try await browser.execute(cellScript, ["checkout", "production"]) as? String ?? ""
            #expect(production.hasPrefix("c drift|"), "\(production)")
            #expect(production.contains("⚠ drift") && production.contains("◐ mixed") && production.contains("1× 1.4.1, 1× 1.4.2"))
            #expect(production.contains("expected 1.4.2"))
            #expect(try await browser.execute(cellScript, ["checkout", "staging"]) as? String == "c ok|1.5.0")
            #expect(try await browser.text("return document.querySelector('#grid-table tbody tr td.n').textContent") == "⇄ staging ≠ production")
            // The hostile name and version are text; nothing of theirs ran.
            let odd = try await browser.execute(cellScript, [StatusFixture.hostile, "production"]) as? String
            #expect(odd == "c ok|\(StatusFixture.hostileVersion)")
            #expect(try await browser.execute("return window.__xss === undefined && document.querySelectorAll('img').length === 0") as? Bool == true)
            #expect(try await browser.alertText() == nil)
            // The timeline: a lane per service, the events as marks, the latest events listed.
            let lanes = try await browser.execute("return Array.from(document.querySelectorAll('#timeline-svg g.row')).map(g => g.getAttribute('data-service')).sort()") as? [String]
            #expect(lanes == [StatusFixture.hostile, "checkout"].sorted())
            let kinds = try await browser.execute("return Array.from(document.querySelectorAll('table.events tbody tr')).map(t => t.getAttribute('data-kind'))") as? [String] ?? []
            #expect(kinds.sorted() == ["deployed", "drift", "drift", "first-seen", "first-seen", "first-seen", "first-seen", "recovered"], "\(kinds)")
            let markTitles = try await browser.text("return Array.from(document.querySelectorAll('#timeline-svg g.row title')).map(t => t.textContent).join('\\n')")
            #expect(markTitles.contains("first seen") && markTitles.contains("deployed") && markTitles.contains("drift"), "\(markTitles)")
            #expect(try await browser.execute("return Array.from(document.querySelectorAll('#timeline-svg .fleet rect')).reduce((n, r) => n + Number(r.getAttribute('data-count')), 0)") as? Int == 8)
            let first = try await browser.saveScreenshot("served", in: StatusFixture.output)
            print("status page screenshot: \(first)")

            // A mark links to its events' details: follow the checkout lane's first mark.
            let href = try await browser.text("""
                const g = Array.from(document.querySelectorAll('#timeline-svg g.row')).find(g => g.getAttribute('data-service') === 'checkout');
                return g.querySelector('a').getAttribute('href');
                """)
            #expect(href.contains("service=checkout") || href.hasPrefix("#e-evt-"), "\(href)")
            try await browser.navigate(href.hasPrefix("#") ? url + href : url + href.replacingOccurrences(of: "&amp;", with: "&"))
            let listed = try await browser.execute("return Array.from(document.querySelectorAll('table.events tbody tr')).map(t => t.getAttribute('data-service'))") as? [String] ?? []
            #expect(!listed.isEmpty && listed.allSatisfy { $0 == "checkout" }, "\(listed)")

            // Filters without JavaScript: query parameters the server applies.
            try await browser.navigate(url + "?env=staging")
            #expect(try await browser.execute("return Array.from(document.querySelectorAll('#grid-table thead th[data-env]')).map(t => t.textContent)") as? [String] == ["staging"])
            #expect(try await browser.execute(rowsScript) as? [String] == ["checkout"])
            #expect(try await browser.execute("return Array.from(document.querySelectorAll('table.events tbody tr')).every(t => t.getAttribute('data-env') === 'staging')") as? Bool == true)

            // With JavaScript: typed filters apply at once, without a reload.
            try await browser.navigate(url)
            try await browser.execute("window.__sameDocument = 1")
            try await browser.execute("const input = document.querySelector('input[name=service]'); input.value = 'SCRIPT'; input.dispatchEvent(new Event('input', {bubbles: true}))")
            try await browser.wait(until: "return JSON.stringify(\(rowsScript.dropFirst(7))) === JSON.stringify([\(jsString(StatusFixture.hostile))])",
                                   "the grid to narrow to the service typed")
            try await browser.wait(until: "return Array.from(document.querySelectorAll('#timeline-svg g.row')).map(g => g.getAttribute('data-service')).join() === \(jsString(StatusFixture.hostile))",
                                   "the timeline to narrow too")
            #expect(try await browser.execute("return window.__sameDocument === 1 && location.search.startsWith('?service=SCRIPT')") as? Bool == true)

            // Live: a deployment to staging, seen by a watch cycle, shows up without a reload.
            try await browser.navigate(url)
            try await browser.execute("window.__sameDocument = 2")
            fixture.staging.version = "1.6.0"
            try await fixture.cycle()
            try await browser.wait(until: "return (\(jsFunction(cellScript)))('checkout', 'staging') === 'c ok|1.6.0'", "the staging cell to show 1.6.0")
            try await browser.wait(until: "return Array.from(document.querySelectorAll('table.events tbody tr')).some(t => t.getAttribute('data-kind') === 'deployed' && t.getAttribute('data-env') === 'staging')",
                                   "the deployment to be listed")
            #expect(try await browser.execute("return window.__sameDocument") as? Int == 2, "no reload")
            #expect(try await browser.text("return document.getElementById('events-meta').textContent") == "all 9")
            #expect(try await browser.text("return document.getElementById('live').textContent").hasPrefix("live · updated"))
            #expect(try await browser.execute("return window.__xss === undefined") as? Bool == true)
            let page = try await browser.text("return document.documentElement.outerHTML")
            #expect(!page.contains("INFO-TOKEN-SECRET-5"))
            let last = try await browser.saveScreenshot("served-live", in: StatusFixture.output)
            print("status page screenshot after the live update: \(last)")
        } catch {
            await browser.quit()
            server.send(signal: SIGTERM)
            throw error
        }
        await browser.quit()
        server.send(signal: SIGTERM)
        #expect(try await server.waitForExit() == 0)
        await fixture.stop()
    }

    @Test func theFileIsSelfContainedAndFiltersItself() async throws {
        let fixture = try StatusFixture()
        try await fixture.history()
        let result = try await runProduct("versioncheck", ["status", "--manifest", fixture.manifest, "--state", fixture.state, "--format", "html"],
                                          environment: fixture.environment)
        #expect(result.status == 1, "checkout drifts: \(result.stderr)")
        let html = result.stdout
        // Self-contained: nothing loaded from anywhere.
        #expect(!html.contains("src=\"http") && !html.contains("<link") && !html.contains("@import") && !html.contains("url("))
        #expect(html.components(separatedBy: "<script").count == 2 && !html.contains("INFO-TOKEN-SECRET-5"))
        let path = "\(fixture.directory)/status.html"
        try html.write(toFile: path, atomically: true, encoding: .utf8)

        let browser = try await WebDriver.start()
        do {
            try await browser.navigate("file://" + path)
            #expect((try await browser.execute(cellScript, ["checkout", "production"]) as? String ?? "").hasPrefix("c drift|⚠ drift"))
            #expect(try await browser.execute(cellScript, ["checkout", "staging"]) as? String == "c ok|1.5.0")
            #expect(try await browser.execute(cellScript, [StatusFixture.hostile, "production"]) as? String == "c ok|\(StatusFixture.hostileVersion)")
            #expect(try await browser.execute("return window.__xss === undefined") as? Bool == true)
            #expect(try await browser.alertText() == nil)
            #expect(try await browser.execute("return document.querySelectorAll('#timeline-svg g.row').length") as? Int == 2)
            #expect(try await browser.execute("return document.querySelectorAll('table.events tbody tr').length") as? Int == 8)
            let shot = try await browser.saveScreenshot("file", in: StatusFixture.output)
            print("status file screenshot: \(shot)")
            // The filter form, submitted, comes back as query parameters the page applies to itself.
            try await browser.navigate("file://" + path + "?service=check&env=staging")
            #expect(try await browser.execute(rowsScript) as? [String] == ["checkout"])
            #expect(try await browser.execute("return Array.from(document.querySelectorAll('#grid-table thead th[data-env]')).filter(t => !t.hidden).map(t => t.textContent)") as? [String] == ["staging"])
            #expect(try await browser.execute("return Array.from(document.querySelectorAll('table.events tbody tr')).filter(t => !t.hidden).every(t => t.getAttribute('data-env') === 'staging')") as? Bool == true)
            #expect(try await browser.execute("return document.querySelector('input[name=service]').value") as? String == "check")
            // Without JavaScript the page still reads: everything is in the markup.
            #expect(html.contains("<td class=\"c ok\" data-env=\"staging\">1.5.0</td>"))
        } catch {
            await browser.quit()
            throw error
        }
        await browser.quit()
        await fixture.stop()
    }

    @Test func theAPIAnswersJSONAndKeepsStrangersOut() async throws {
        let fixture = try StatusFixture()
        try await fixture.history()
        try "s3cret-token-77\n".write(toFile: "\(fixture.directory)/token", atomically: true, encoding: .utf8)
        let (server, url) = try await fixture.serve(["--token-file", "\(fixture.directory)/token", "--trusted-proxy-header", "X-Forwarded-User"])
        let port = try #require(URLComponents(string: url)?.port)
        func get(_ path: String, _ headers: [String] = []) async throws -> RawResponse {
            let client = try RawClient(port: port)
            defer { client.close() }
            return try await client.get(path, headers: headers)
        }
        // Strangers: the API says how to authenticate, the page offers the login form.
        let api = try await get("/api/status")
        #expect(api.status == 401 && api.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        let login = try await get("/")
        #expect(login.status == 401 && login.text.contains("<form method=\"post\" action=\"login\">") && !login.text.contains("checkout"))
        #expect(try await get("/metrics").status == 401)
        #expect(try await get("/api/status", ["Authorization: Bearer wrong"]).status == 401)

        // The token, the cookie the login form sets, or the proxy's header let in.
        let status = try await get("/api/status", ["Authorization: Bearer s3cret-token-77"])
        #expect(status.status == 200 && status.header("Content-Type") == "application/json")
        let document = try #require(status.json)
        #expect(document["environments"] as? [String] == ["staging", "production"])
        let cells = try #require(document["services"] as? [[String: Any]])
        #expect(cells.count == 3)
        let production = try #require(cells.first { $0["service"] as? String == "checkout" && $0["environment"] as? String == "production" })
        #expect(production["drift"] as? Bool == true && production["mixed"] as? Bool == true && production["expected"] as? String == "1.4.2")
        #expect(production["instances"] as? Int == 2 && production["unreachable"] as? Int == 0)
        #expect((production["versions"] as? [[String: Any]])?.compactMap { $0["version"] as? String } == ["1.4.1", "1.4.2"])
        #expect(document["problems"] as? Bool == true)
        let etag = try #require(status.header("ETag"))
        #expect(try await get("/api/status", ["Authorization: Bearer s3cret-token-77", "If-None-Match: \(etag)"]).status == 304)

        let client = try RawClient(port: port)
        let signedIn = try await client.request("POST", "/login", body: "token=s3cret-token-77",
                                                headers: ["Content-Type: application/x-www-form-urlencoded"])
        client.close()
        #expect(signedIn.status == 303)
        let cookie = try #require(signedIn.header("Set-Cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let page = try await get("/", ["Cookie: \(cookie.split(separator: ";")[0])"])
        #expect(page.status == 200 && page.header("Content-Security-Policy")?.contains("script-src 'sha256-") == true)
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.text.contains("s3cret-token-77"))
        #expect(try await get("/api/status", ["X-Forwarded-User: alice@example.com"]).status == 200)

        // History: events and the timeline, filtered.
        let history = try await get("/api/history?service=checkout&env=production&since=1h&limit=3", ["X-Forwarded-User: alice"])
        #expect(history.status == 200)
        let body = try #require(history.json)
        #expect(body["total"] as? Int == 6 && body["service"] as? String == "checkout" && body["environment"] as? String == "production")
        let events = try #require(body["events"] as? [[String: Any]])
        #expect(events.count == 3 && events.allSatisfy { $0["environment"] as? String == "production" })
        #expect(events.first?["kind"] as? String == "recovered" || events.first?["kind"] as? String == "deployed")
        #expect((events.first?["stored"] as? [String: Any])?["seq"] != nil)
        let timeline = try #require(body["timeline"] as? [String: Any])
        #expect(timeline["bucketSeconds"] as? Int == 60 && timeline["pages"] as? Int == 1)
        let rows = try #require(timeline["rows"] as? [[String: Any]])
        #expect(rows.count == 1 && rows[0]["service"] as? String == "checkout" && rows[0]["count"] as? Int == 6)
        let bad = try await get("/api/history?since=yesterday-ish", ["X-Forwarded-User: alice"])
        #expect(bad.status == 400 && bad.text.contains("since"))
        let metrics = try await get("/metrics", ["X-Forwarded-User: alice"])
        #expect(metrics.text.contains("versioncheck_drift{service=\"checkout\",environment=\"production\"} 1"))
        #expect(metrics.text.contains("versioncheck_history_events 8"))
        #expect(try await get("/info", ["X-Forwarded-User: alice"]).json?["name"] as? String == "versioncheck-serve")
        // serve never locked the state: a watcher runs beside it.
        try await fixture.cycle()

        server.send(signal: SIGTERM)
        #expect(try await server.waitForExit() == 0)
        await fixture.stop()
    }

    @Test func aDynamoDBStateServesTheSamePage() async throws {
        let fixture = try StatusFixture()
        let moto = try await MotoServer.shared()
        let table = "statuspage-\(UUID().uuidString.prefix(8).lowercased())"
        let environment = moto.environment(["INFO_TOKEN": "INFO-TOKEN-SECRET-5"])
        func run(_ arguments: [String]) async throws -> CommandResult {
            try await runProduct("versioncheck", arguments, environment: environment)
        }
        #expect(try await run(["state", "init", "dynamodb://\(table)"]).status == 0)
        for version in ["1.4.1", "1.4.2"] {
            fixture.a.version = version
            let cycle = try await run(["watch", "--once", "--quiet", "--manifest", fixture.manifest, "--state", "dynamodb://\(table)"])
            #expect(cycle.status == 1, "b drifts: \(cycle.output)")
        }
        let file = try await run(["status", "--manifest", fixture.manifest, "--state", "dynamodb://\(table)", "--format", "html"])
        #expect(file.status == 1, "\(file.stderr)")
        #expect(file.stdout.contains("<td class=\"c drift\" data-env=\"production\"><span class=\"b drift\">⚠ drift</span>"))
        #expect(file.stdout.contains("8 events from") && !file.stdout.contains("not shown with a DynamoDB state"))
        #expect(file.stdout.components(separatedBy: "data-kind=\"first-seen\"").count == 5)

        let process = ChildProcess(try Products.executable("versioncheck"),
                                   ["serve", "--manifest", fixture.manifest, "--state", "dynamodb://\(table)", "--host", "127.0.0.1", "--port", "0"],
                                   environment: environment)
        try process.start()
        let line = try await process.waitForLine(containing: "status page on")
        let port = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }.flatMap { URLComponents(string: String($0))?.port })
        let client = try RawClient(port: port, receiveTimeout: 30)
        let history = try await client.get("/api/history?env=production")
        client.close()
        #expect(history.status == 200)
        #expect(history.json?["total"] as? Int == 7, "\(history.text.prefix(300))")
        let ids = (history.json?["events"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids.count == 7 && ids.allSatisfy { $0.contains("@production#") }, "\(ids)")
        process.send(signal: SIGTERM)
        #expect(try await process.waitForExit() == 0)
        await fixture.stop()
    }

    @Test func badUsageExits2AndAMissingStateExits3() async throws {
        let fixture = try StatusFixture()
        for (arguments, message) in [
            (["status", "--manifest", fixture.manifest, "--format", "xml"], "--format"),
            (["status", "--manifest", fixture.manifest, "--since", "1d"], "--since applies to --format html"),
            (["serve", "--manifest", fixture.manifest, "--once"], "--once does not apply to versioncheck serve"),
            (["serve", "--manifest", fixture.manifest, "--port", "99999"], "--port"),
            (["serve", "--manifest", fixture.manifest, "--refresh", "soon"], "--refresh"),
            (["serve", "--manifest", fixture.manifest, "--trusted-proxy-header", "X Forwarded"], "--trusted-proxy-header"),
            (["serve", "--manifest", fixture.manifest, "--token-file", "\(fixture.directory)/none"], "--token-file"),
            (["watch", "--manifest", fixture.manifest, "--port", "1"], "--port does not apply to versioncheck watch"),
        ] {
            let result = try await runProduct("versioncheck", arguments, environment: fixture.environment)
            #expect(result.status == 2, "\(arguments): \(result.output)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let missing = try await runProduct("versioncheck", ["serve", "--manifest", fixture.manifest, "--state", "\(fixture.directory)/nope",
                                                            "--port", "0"], environment: fixture.environment)
        #expect(missing.status == 3 && missing.stderr.contains("no state directory"), "\(missing.output)")
        await fixture.stop()
    }
}

/// A JavaScript string literal.
private func jsString(_ text: String) -> String {
    let data = try? JSONSerialization.data(withJSONObject: [text])
    return String(String(decoding: data ?? Data("[\"\"]".utf8), as: UTF8.self).dropFirst().dropLast())
}

/// A script body that uses `arguments` as a function expression.
private func jsFunction(_ body: String) -> String {
    "function () { \(body) }"
}
