import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A headless Chromium driven through chromedriver with plain W3C WebDriver calls (JSON over
/// HTTP on 127.0.0.1), for tests that look at a page as a person's browser shows it. Chromium
/// and chromedriver come from Debian's packages, installed when missing; both run niced, so a
/// browser test leaves the other suites their share of two cores.
public final class WebDriver: @unchecked Sendable {
    private let driver: ChildProcess
    private let port: Int
    private let session: String
    private let profile: String

    /// Starts chromedriver and a browser session (a window of `width` × `height`).
    public static func start(width: Int = 1280, height: Int = 1000) async throws -> WebDriver {
        _ = try await DebianPackages.ensure("chromium", packages: ["chromium", "chromium-driver"])
        let chromedriver = try await DebianPackages.ensure("chromedriver", packages: ["chromium", "chromium-driver"])
        let chromium = DebianPackages.find("chromium") ?? "/usr/bin/chromium"
        // A free port: the kernel's choice, released for chromedriver to take.
        let (fd, port) = try listenOnLoopback()
        close(fd)
        let driver = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                  ["nice", "-n", "10", chromedriver, "--port=\(port)", "--allowed-ips=127.0.0.1"])
        try driver.start()
        do {
            // Ready when /status says so (a few hundred milliseconds; far longer on a loaded machine).
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                if let status = try? await Self.call(port: port, "GET", "/status", body: nil, timeout: 5),
                   (status["value"] as? [String: Any])?["ready"] as? Bool == true { break }
                guard ContinuousClock.now < deadline, driver.isRunning else {
                    throw TestFailure("chromedriver did not get ready: \(driver.output.suffix(1500))")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let profile = NSTemporaryDirectory() + "chromium-\(UUID().uuidString.prefix(8))"
            let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": [
                    "binary": chromium,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", "--allow-file-access-from-files", "--window-size=\(width),\(height)",
                             "--user-data-dir=\(profile)"],
                ],
            ]]]
            let created = try await Self.call(port: port, "POST", "/session", body: capabilities, timeout: 90)
            guard let value = created["value"] as? [String: Any], let session = value["sessionId"] as? String else {
                throw TestFailure("chromedriver did not open a session: \(created)")
            }
            return WebDriver(driver: driver, port: port, session: session, profile: profile)
        } catch {
            driver.send(signal: SIGTERM)
            _ = try? await driver.waitForExit(timeout: .seconds(10))
            throw error
        }
    }

    private init(driver: ChildProcess, port: Int, session: String, profile: String) {
        self.driver = driver
        self.port = port
        self.session = session
        self.profile = profile
    }

    /// Ends the session (the browser exits) and chromedriver.
    public func quit() async {
        _ = try? await Self.call(port: port, "DELETE", "/session/\(session)", body: nil, timeout: 30)
        driver.send(signal: SIGTERM)
        _ = try? await driver.waitForExit(timeout: .seconds(10))
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Loads a page and waits for it to load.
    public func navigate(_ url: String) async throws {
        _ = try await command("POST", "/url", ["url": url], timeout: 60)
    }

    /// Runs `script` (a function body: `return …`) in the page and returns its result as JSON
    /// values (String, NSNumber, arrays, dictionaries, NSNull).
    @discardableResult
    public func execute(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        let answer = try await command("POST", "/execute/sync", ["script": script, "args": arguments], timeout: 30)
        return answer["value"]
    }

    /// The result of `script` as text (empty when it is not a string).
    public func text(_ script: String) async throws -> String {
        try await execute(script) as? String ?? ""
    }

    /// Waits until `script` returns true, polling; throws with `what` on timeout.
    public func wait(until script: String, _ what: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await execute(script) as? Bool == true { return }
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out after \(timeout) waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The text of the open alert, nil when none is open.
    public func alertText() async throws -> String? {
        let answer = try await Self.call(port: port, "GET", "/session/\(session)/alert/text", body: nil, timeout: 30)
        if let value = answer["value"] as? String { return value }
        return nil
    }

    /// A PNG of the window.
    public func screenshot() async throws -> Data {
        let answer = try await command("GET", "/screenshot", nil, timeout: 60)
        guard let text = answer["value"] as? String, let png = Data(base64Encoded: text) else {
            throw TestFailure("no screenshot: \(String(describing: answer).prefix(300))")
        }
        return png
    }

    /// Saves a screenshot as NAME.png in `directory` and returns its path.
    @discardableResult
    public func saveScreenshot(_ name: String, in directory: String) async throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(name).png"
        try await screenshot().write(to: URL(fileURLWithPath: path))
        return path
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]?, timeout: Double) async throws -> [String: Any] {
        let answer = try await Self.call(port: port, method, "/session/\(session)\(path)", body: body ?? (method == "POST" ? [:] : nil),
                                         timeout: timeout)
        if let value = answer["value"] as? [String: Any], let error = value["error"] as? String {
            throw TestFailure("WebDriver \(method) \(path): \(error): \(String(describing: value["message"] ?? "").prefix(500))")
        }
        return answer
    }

    /// One request on a connection of its own; the answer's JSON object.
    private static func call(port: Int, _ method: String, _ path: String, body: Any?, timeout: Double) async throws -> [String: Any] {
        let client = try RawClient(port: port, receiveTimeout: timeout)
        defer { client.close() }
        // chromedriver answers only requests addressed to the loopback host by name or address.
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body {
            let data = try JSONSerialization.data(withJSONObject: body)
            request += "Content-Type: application/json\r\nContent-Length: \(data.count)\r\n\r\n" + String(decoding: data, as: UTF8.self)
        } else {
            request += "\r\n"
        }
        try client.send(request)
        let response = try await client.response()
        guard let object = response.json else {
            throw TestFailure("WebDriver \(method) \(path): answer \(response.status) is not JSON: \(response.text.prefix(300))")
        }
        return object
    }
}
