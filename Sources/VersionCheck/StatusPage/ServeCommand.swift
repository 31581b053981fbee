import DeployVerifyKit
import Foundation
import InfoEndpoint

extension WatchCommand {
    /// `versioncheck serve`: the status page and its API, from the watchers' state, until
    /// SIGTERM or SIGINT. Reads the state without locking it and watches nothing itself.
    static func serve(_ list: ArgumentList, environment: [String: String]) async throws -> Int32 {
        guard list.positional.isEmpty else { throw UsageError("unexpected argument '\(list.positional[0])'") }
        guard let manifestText = list.value("--manifest") else { throw UsageError("--manifest FILE is required") }
        let source = try ManifestSource(manifestText)
        let location = try StoreLocation(list.value("--state") ?? "versioncheck-state")
        let port = try list.value("--port") { text -> Int in
            guard let port = Int(text), (0...65535).contains(port) else { throw ValueError("'\(text)' is not a port from 0 to 65535") }
            return port
        } ?? 8080
        var token: String?
        if let path = list.value("--token-file") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.trimmed.isEmpty else {
                throw UsageError("--token-file: cannot read a token from \(path)")
            }
            token = text.trimmed
        }
        let proxyHeader = try list.value("--trusted-proxy-header") { text -> String in
            guard !text.isEmpty, text.count <= 100, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw ValueError("'\(text)' is not a header name")
            }
            return text
        }
        // Behind a proxy the port should not be reachable from elsewhere: loopback unless told otherwise.
        let host = list.value("--host") ?? (proxyHeader != nil ? "127.0.0.1" : "0.0.0.0")
        let refresh = try duration(list, "--refresh") ?? .seconds(10)
        guard refresh >= .seconds(1) else { throw UsageError("--refresh: at least 1s") }

        var needsAWS = source.needsAWS
        if case .dynamoDB = location { needsAWS = true }
        let aws = needsAWS ? try AWSClient(environment: environment) : nil
        let manifest = try await source.load(environment: environment, aws: aws)
        var interval = Duration.seconds(1)
        if case .dynamoDB = location { interval = max(.seconds(15), refresh) } // each read is two Queries and a Scan
        let statusSource = StatusSource(manifest: manifest, location: location, aws: aws, minimumInterval: interval,
                                        approvals: list.value("--approvals"))
        _ = try await statusSource.current() // a state that cannot be read is an error now, not on the first visit

        let access = StatusAccess(token: token, proxyHeader: proxyHeader)
        let handler = StatusServer(source: statusSource, access: access, refresh: max(1, Int(refresh.seconds.rounded())),
                                   redactor: manifest.redactor)
        var configuration = InfoServer.Configuration(host: host, port: port)
        configuration.maxBodyBytes = 8 << 10 // the login form
        let server = HTTPServer(configuration: configuration, handler: handler)
        let console = Console()
        do {
            try server.start()
        } catch {
            console.error("versioncheck serve: --port \(port): \(error)")
            return 3
        }
        let signals = StopSignals()
        let protection = token != nil ? " (bearer token required)" : proxyHeader.map { " (requests must carry \($0))" } ?? ""
        console.line("versioncheck serve: status page on " + server.addresses.map { "http://\($0)/" }.joined(separator: " ")
            + " from \(location)\(protection)")
        let number = await signals.wait()
        if !list.has("--quiet") { console.error("versioncheck serve: received \(number == SIGINT ? "SIGINT" : "SIGTERM"), stopping") }
        await server.stop(gracePeriod: .seconds(2))
        return 0
    }
}
