import DeployVerifyKit
#if os(macOS)
import DeployVerifyURLSession // https through URLSession on macOS; Linux drives libcurl directly
#endif
import Foundation

/// Everything one `versioncheck` run was asked to do, parsed and validated.
package struct VersionCheckOptions: Sendable {
    package enum Format: String, Sendable {
        case table, json
    }

    package var urls: [String] = []
    /// Nil: report the versions without judging them.
    package var expectation: VersionExpectation?
    package var field: JSONPath?
    /// Required revision prefix (7 or more characters).
    package var revision: String?
    package var wait: Duration?
    package var interval: Duration = .seconds(2)
    package var samples = 1
    package var format = Format.table
    package var quiet = false
    package var noColor = false
    /// Overall deadline for a run without `--wait`.
    package var deadline: Duration?
    package var probe = ProbeOptions()
    /// Secrets from headers and the variables expanded into them, masked in all output.
    package var redactor = Redactor()
    /// Channels of `manifest` to send the result to.
    package var notify: [String] = []
    package var manifest: String?

    package init() {}

    /// What the command line asks for.
    package enum Action: Sendable {
        case help
        case version
        case run(VersionCheckOptions)
    }

    package static let argumentSpec: ArgumentList.Spec = {
        var spec = ArgumentList.Spec()
        spec.flag("--help", "-h")
        spec.flag("--version")
        spec.flag("--quiet", "-q")
        spec.flag("--no-color")
        spec.option("--expect", "-e", hint: "a version, range, prefix: or regex:")
        spec.option("--field", "-f", hint: "a JSON path such as build.version")
        spec.option("--revision", hint: "a commit hash of 7 or more characters")
        spec.option("--wait", "-w", hint: "a duration: 500ms, 5s, 2m")
        spec.option("--interval", hint: "a duration: 500ms, 5s, 2m")
        spec.option("--samples", "-n", hint: "a whole number from 1 to 1000")
        spec.option("--header", "-H", hint: "'Name: value'", repeatable: true)
        spec.option("--format", hint: "table or json")
        spec.option("--timeout", "-t", hint: "a duration: 500ms, 5s, 2m")
        spec.option("--connect-timeout", hint: "a duration: 500ms, 5s, 2m")
        spec.option("--deadline", hint: "a duration: 500ms, 5s, 2m")
        spec.option("--concurrency", "-c", hint: "a whole number from 1 to 4096")
        spec.option("--max-body", hint: "a size such as 1MiB")
        spec.option("--max-redirects", hint: "a whole number from 0 to 50")
        spec.option("--cacert", hint: "a PEM file of trusted certificate authorities")
        spec.option("--from-file", hint: "a file with one URL per line, or - for standard input", repeatable: true)
        spec.option("--notify", hint: "a channel name of the manifest", repeatable: true)
        spec.option("--manifest", "-m", hint: "a path to a watch manifest")
        return spec
    }()

    /// Parses the arguments after the program name. `environment` feeds `${NAME}` in headers;
    /// `readText` reads `--from-file` files (`-` is standard input).
    package static func parse(_ arguments: [String], environment: [String: String],
                              readText: (String) throws -> String) throws(UsageError) -> Action {
        let list = try ArgumentList(arguments, spec: argumentSpec)
        if list.has("--help") { return .help }
        if list.has("--version") { return .version }
        var options = VersionCheckOptions()
        options.quiet = list.has("--quiet")
        options.noColor = list.has("--no-color")

        options.urls = list.positional
        for file in list.values("--from-file") {
            let text: String
            do {
                text = try readText(file)
            } catch {
                throw UsageError("--from-file: cannot read \(file == "-" ? "standard input" : file): \(error.localizedDescription)")
            }
            options.urls += text.split(whereSeparator: \.isNewline)
                .map { $0.trimmed }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        guard !options.urls.isEmpty else {
            throw UsageError("no URL given: name one or more URLs (each instance, or a load-balanced address)")
        }
        for url in options.urls {
            if case .failure(let failure) = ProbeTarget.parse(url) {
                throw UsageError(failure.message)
            }
        }

        options.expectation = try list.value("--expect") { text in
            do { return try VersionExpectation(text) } catch { throw ValueError("\(error)") }
        }
        options.field = try list.value("--field") { text in
            do { return try JSONPath(text) } catch { throw ValueError("\(error)") }
        }
        options.revision = try list.value("--revision") { text in
            let trimmed = text.trimmed.lowercased()
            guard trimmed.count >= 7, trimmed.allSatisfy(\.isHexDigit) else {
                throw ValueError("'\(text)' is not a commit hash of 7 or more hexadecimal characters")
            }
            return trimmed
        }
        options.wait = try list.value("--wait", duration)
        options.interval = try list.value("--interval", duration) ?? options.interval
        if list.value("--interval") != nil, options.wait == nil {
            throw UsageError("--interval applies to --wait; add --wait DURATION")
        }
        options.deadline = try list.value("--deadline", duration)
        options.samples = try list.value("--samples") { try integer($0, 1...1000) } ?? 1
        if let format = list.value("--format") {
            guard let parsed = Format(rawValue: format) else { throw UsageError("--format: '\(format)' is not table or json") }
            options.format = parsed
        }

        options.probe.userAgent = "versioncheck/\(DeployVerifyVersion.current)"
        #if os(macOS)
        options.probe.secureTransport = URLSessionTransport(maxConnectionsPerHost: 64, userAgent: options.probe.userAgent)
        #endif
        options.probe.headers = [("Accept", "application/json")]
        var redactor = Redactor()
        for header in list.values("--header") {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                throw UsageError("--header: '\(Redaction.isSensitiveHeader(header) ? Redaction.mask : header)' is not 'Name: value'")
            }
            let name = header[..<colon].trimmed
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "!#$%&'*+-.^_`|~".contains($0)) }) else {
                throw UsageError("--header: '\(name)' is not a valid header name")
            }
            let rawValue = header[header.index(after: colon)...].trimmed
            let expanded: (text: String, names: [String])
            do {
                expanded = try EnvironmentExpansion.expand(rawValue) { environment[$0] }
            } catch {
                throw UsageError("--header \(name): \(error.description) in the environment")
            }
            if Redaction.isSensitiveHeader(name) {
                redactor.add(expanded.text)
            }
            options.probe.headers.removeAll { $0.name.lowercased() == name.lowercased() }
            options.probe.headers.append((name, expanded.text))
        }
        options.redactor = redactor
        options.notify = list.values("--notify")
        options.manifest = list.value("--manifest")
        if !options.notify.isEmpty, options.manifest == nil {
            throw UsageError("--notify needs --manifest FILE, the manifest that defines the channel")
        }
        if options.manifest != nil, options.notify.isEmpty {
            throw UsageError("--manifest applies to --notify here (or use versioncheck watch/status --manifest)")
        }
        options.probe.timeout = try list.value("--timeout", duration) ?? .seconds(5)
        options.probe.connectTimeout = min(try list.value("--connect-timeout", duration) ?? .seconds(2), options.probe.timeout)
        options.probe.concurrency = try list.value("--concurrency") { try integer($0, 1...4096) } ?? 64
        options.probe.maxRedirects = try list.value("--max-redirects") { try integer($0, 0...50) } ?? 5
        options.probe.maxBodyBytes = try list.value("--max-body") { text in
            guard let bytes = ByteCount.parse(text), bytes > 0 else { throw ValueError("'\(text)' is not a size (use 512KiB, 1MiB, 10MB)") }
            return bytes
        } ?? 1 << 20
        if let path = list.value("--cacert") {
            guard FileManager.default.isReadableFile(atPath: path) else { throw UsageError("--cacert: cannot read \(path)") }
            options.probe.caCertificateFile = path
        }
        return .run(options)
    }

    private static func duration(_ text: String) throws -> Duration {
        let value = try DurationText.parse(text)
        guard value > .zero else { throw ValueError("the duration must be more than zero") }
        return value
    }

    private static func integer(_ text: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ValueError("'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
