import DeployVerifyKit
import Foundation

/// A problem with the checks file or the command line: names the file, the JSON path
/// (`phases.pre-traffic[1].expect[0]`) and what is wrong. hookrunner exits 2 with it.
package typealias ConfigError = JSONFileError

/// The checks file: variables, secrets, CodeDeploy event mapping and the phases' steps.
package struct HooksFile: Sendable {
    package var path: String
    /// `vars`, in file order; values may use `${NAME}`.
    package var variables: [(name: String, value: String)] = []
    /// Names of variables whose values never appear in output.
    package var secrets: [String] = []
    /// CodeDeploy `LIFECYCLE_EVENT` to phase, defaults merged with the file's `lifecycleEvents`.
    package var lifecycleEvents = HooksFile.defaultLifecycleEvents
    package var phaseNames: [String] = []
    package var phases: [String: [Step]] = [:]
    /// `channels`: where `approval` steps post, in file order; read (with `${NAME}`) when a
    /// phase is planned, by versioncheck's channel reader.
    package var channels: [(name: String, value: JSONValue)] = []

    package static let defaultLifecycleEvents = [
        "BeforeAllowTraffic": "pre-traffic", "AfterAllowTestTraffic": "pre-traffic",
        "AfterAllowTraffic": "post-traffic", "ValidateService": "post-traffic",
    ]

    package static func load(path: String) throws(ConfigError) -> HooksFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConfigError(file: path, location: nil, message: exists ? "cannot read the file"
                : "no such file (give the checks file with --config PATH; the default is hooks.json)")
        }
        return try parse(Array(data), path: path)
    }

    package static func parse(_ bytes: [UInt8], path: String) throws(ConfigError) -> HooksFile {
        let document = try JSONFileError.parse(bytes, file: path)
        var reader = ConfigReader(file: path)
        return try reader.file(document)
    }
}

/// A step of a phase: one check, a `parallel` group of checks run together, or a `bake` that
/// runs its checks in rounds for a while.
package struct Step: Sendable {
    package var path: String
    package var name: String
    /// Runs even after an earlier step failed (cleanup).
    package var always: Bool
    package var checks: [Check]
    package var isParallel: Bool
    /// Runs before every other step of the phase; when it fails it holds the deployment
    /// (exit 4) instead of failing it. Default: true for `alarms` and `window` checks (and groups
    /// of only those), false otherwise; `"blocker"` in the file decides.
    package var blocker = false
    /// For a `bake` step: how long and how often its checks run.
    package var bake: Bake?
}

/// `bake`: the step's checks run every `every` for `duration`; the first failure ends it.
package struct Bake: Sendable {
    package var duration: Duration
    package var every: Duration
}

package struct Check: Sendable {
    package var path: String
    package var name: String
    package var kind: CheckKind
    package var conditions: [Condition]
    /// Per attempt.
    package var timeout: Duration
    package var retry: Retry?
    package var repetition: Repetition?
}

/// `retry`: try again every `every` until the check passes or `within` has passed.
package struct Retry: Sendable {
    package var within: Duration
    package var every: Duration
}

/// `repeat`: run the check `count` times (`concurrency` at once); it passes when the share that
/// passed reaches `minSuccess`.
package struct Repetition: Sendable {
    package var count: Int
    package var minSuccess: Double
    package var concurrency: Int
}

package enum CheckKind: Sendable {
    case http(HTTPSpec)
    case command(CommandSpec)
    case tcp(TCPSpec)
    case version(VersionSpec)
    case alarms(AlarmsSpec)
    case prometheus(PrometheusSpec)
    case window(DeployWindow)
    case approval(ApprovalSpec)

    package var name: String {
        switch self {
        case .http: "http"
        case .command: "command"
        case .tcp: "tcp"
        case .version: "version"
        case .alarms: "alarms"
        case .prometheus: "prometheus"
        case .window: "window"
        case .approval: "approval"
        }
    }

    /// Kinds that are blockers unless the step says `"blocker": false`.
    package var isBlockerByDefault: Bool {
        switch self {
        case .alarms, .window: true
        default: false
        }
    }

    /// Subjects a condition may use with this kind; empty when the kind takes no conditions.
    var subjects: String {
        switch self {
        case .http: "status, time, body, header.NAME, json.PATH"
        case .command: "exit, stdout, stderr, time, json.PATH (of stdout)"
        case .tcp: "time"
        case .version: "version, revision, status, time, body, header.NAME, json.PATH"
        case .prometheus: "value, time"
        case .alarms, .window, .approval: ""
        }
    }

    func allows(_ subject: Condition.Subject) -> Bool {
        switch (self, subject) {
        case (.http, .status), (.http, .time), (.http, .body), (.http, .header), (.http, .json): true
        case (.command, .exit), (.command, .stdout), (.command, .stderr), (.command, .time), (.command, .json): true
        case (.tcp, .time): true
        case (.version, .version), (.version, .revision), (.version, .status), (.version, .time), (.version, .body),
             (.version, .header), (.version, .json): true
        case (.prometheus, .value), (.prometheus, .time): true
        default: false
        }
    }
}

/// Values below may contain `${NAME}`; they are expanded when the phase runs.
package struct HTTPSpec: Sendable {
    package var url: String
    package var method = "GET"
    package var headers: [(name: String, value: String)] = []
    package var body: String?
    package var followRedirects = false
    package var maxBodyBytes = 1 << 20
}

package struct CommandSpec: Sendable {
    /// The program and its arguments; for a shell string, `["/bin/sh", "-c", string]`.
    package var arguments: [String]
    package var environment: [(name: String, value: String)] = []
    package var directory: String?
}

package struct TCPSpec: Sendable {
    package var host: String
    package var port: String
}

package struct VersionSpec: Sendable {
    package var url: String
    package var expect: String
    package var field: JSONPath?
    package var revision: String?
    package var samples = 1
    package var headers: [(name: String, value: String)] = []
}

/// Walks the JSON document, keeping the path for messages.
struct ConfigReader: JSONFileReading {
    let file: String
    /// The names the file's `channels` define (read before the phases, which refer to them).
    var channelNames: [String] = []

    init(file: String) {
        self.file = file
    }

    mutating func file(_ document: JSONValue) throws(ConfigError) -> HooksFile {
        let root = try object(document, "", allowed: ["$schema", "description", "vars", "secrets", "channels", "lifecycleEvents", "phases"])
        var hooks = HooksFile(path: file)
        if let channels = root["channels"] {
            hooks.channels = try channelDefinitions(channels)
            channelNames = hooks.channels.map(\.name)
        }
        if let vars = root["vars"] {
            hooks.variables = try stringMap(vars, "vars")
            for (name, _) in hooks.variables where !Self.isVariableName(name) {
                throw error("vars.\(name)", "'\(name)' is not a variable name (letters, digits and _, not starting with a digit)")
            }
        }
        if let secrets = root["secrets"] {
            guard case .array(let names) = secrets else { throw error("secrets", "expected an array of variable names") }
            for (index, name) in names.enumerated() {
                let text = try string(name, "secrets[\(index)]")
                guard Self.isVariableName(text) else { throw error("secrets[\(index)]", "'\(text)' is not a variable name") }
                hooks.secrets.append(text)
            }
        }
        guard let phases = root["phases"] else { throw error("phases", "missing: the file needs a phases object, e.g. {\"pre-traffic\": [...]}") }
        guard case .object(let phaseObject) = phases else { throw error("phases", "expected an object of phases") }
        guard !phaseObject.isEmpty else { throw error("phases", "no phase defined") }
        for (name, steps) in phaseObject.members {
            let path = "phases.\(name)"
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw error(path, "'\(name)' is not a phase name (letters, digits, - and _)")
            }
            guard case .array(let list) = steps else { throw error(path, "expected an array of steps, found \(article(steps))") }
            hooks.phaseNames.append(name)
            var parsed: [Step] = []
            for (index, step) in list.enumerated() {
                parsed.append(try self.step(step, "\(path)[\(index)]"))
            }
            hooks.phases[name] = parsed
        }
        if let events = root["lifecycleEvents"] {
            for (event, phase) in try stringMap(events, "lifecycleEvents") {
                guard hooks.phases[phase] != nil else {
                    throw error("lifecycleEvents.\(event)", "'\(phase)' is not a phase of this file (\(hooks.phaseNames.joined(separator: ", ")))")
                }
                hooks.lifecycleEvents[event] = phase
            }
        }
        return hooks
    }

    static let kindKeys = ["http", "command", "tcp", "version", "alarms", "prometheus", "window", "approval"]
    static let checkKeys = ["name", "description"] + kindKeys + ["expect", "timeout", "retry", "repeat", "always", "blocker"]
    /// Keys a check inside a `parallel` group or a `bake` may not have: the step decides them.
    static let stepOnlyKeys = ["always", "blocker"]

    func step(_ value: JSONValue, _ path: String) throws(ConfigError) -> Step {
        if case .object(let probe) = value, probe["bake"] != nil {
            return try bakeStep(value, path)
        }
        if case .object(let probe) = value, let group = probe["parallel"] {
            let object = try self.object(value, path, allowed: ["name", "description", "parallel", "always", "blocker"])
            guard case .array(let members) = group, !members.isEmpty else {
                throw error(join(path, "parallel"), "expected a non-empty array of checks")
            }
            var checks: [Check] = []
            for (index, member) in members.enumerated() {
                checks.append(try check(member, "\(path).parallel[\(index)]", allowedExtra: false))
            }
            let name = try object["name"].map { value throws(ConfigError) in try string(value, join(path, "name")) }
                ?? "parallel: " + checks.map(\.name).joined(separator: ", ")
            let always = try object["always"].map { value throws(ConfigError) in try bool(value, join(path, "always")) } ?? false
            let blocker = try object["blocker"].map { value throws(ConfigError) in try bool(value, join(path, "blocker")) }
                ?? checks.allSatisfy(\.kind.isBlockerByDefault)
            return Step(path: path, name: name, always: always, checks: checks, isParallel: true, blocker: blocker)
        }
        let check = try check(value, path, allowedExtra: true)
        var always = false
        var blocker = check.kind.isBlockerByDefault
        if case .object(let object) = value {
            if let flag = object["always"] { always = try bool(flag, join(path, "always")) }
            if let flag = object["blocker"] { blocker = try bool(flag, join(path, "blocker")) }
        }
        return Step(path: path, name: check.name, always: always, checks: [check], isParallel: false, blocker: blocker)
    }

    func check(_ value: JSONValue, _ path: String, allowedExtra: Bool) throws(ConfigError) -> Check {
        let object = try self.object(value, path, allowed: allowedExtra ? Self.checkKeys : Self.checkKeys.filter { !Self.stepOnlyKeys.contains($0) })
        let kinds = Self.kindKeys.filter { object[$0] != nil }
        guard kinds.count == 1 else {
            throw error(path, kinds.isEmpty ? "a check needs one of \(Self.kindKeys.joined(separator: ", ")) (or parallel or bake for a group)"
                : "a check has one kind, found \(kinds.joined(separator: " and "))")
        }
        let kindPath = join(path, kinds[0])
        let kind: CheckKind
        var timeout: Duration
        switch kinds[0] {
        case "http":
            kind = .http(try http(object["http"]!, kindPath))
            timeout = .seconds(10)
        case "command":
            kind = .command(try command(object["command"]!, kindPath))
            timeout = .seconds(600)
        case "tcp":
            kind = .tcp(try tcp(object["tcp"]!, kindPath))
            timeout = .seconds(5)
        case "alarms":
            kind = .alarms(try alarms(object["alarms"]!, kindPath))
            timeout = .seconds(20)
        case "prometheus":
            kind = .prometheus(try prometheus(object["prometheus"]!, kindPath))
            timeout = .seconds(10)
        case "window":
            kind = .window(try window(object["window"]!, kindPath))
            timeout = .seconds(5)
        case "approval":
            guard allowedExtra else {
                throw error(kindPath, "an approval is a step of its own, not part of a parallel group or a bake")
            }
            for key in ["retry", "repeat"] where object[key] != nil {
                throw error(join(path, key), "an approval takes no \(key): it waits for one decision until its timeout")
            }
            kind = .approval(try approval(object["approval"]!, kindPath))
            timeout = ApprovalSpec.defaultTimeout
        default:
            kind = .version(try version(object["version"]!, kindPath))
            timeout = .seconds(10)
        }
        if case .object(let inner) = object[kinds[0]], let innerTimeout = inner["timeout"] {
            timeout = try duration(innerTimeout, join(kindPath, "timeout"))
        }
        if let stepTimeout = object["timeout"] { timeout = try duration(stepTimeout, join(path, "timeout")) }

        var conditions: [Condition] = []
        if let expect = object["expect"] {
            if kind.subjects.isEmpty {
                let passes = switch kind {
                case .window: "it passes inside the window"
                case .approval: "it passes when someone approves"
                default: "it passes when no alarm is firing"
                }
                throw error(join(path, "expect"), "a \(kind.name) check takes no expect: \(passes)")
            }
            let list: [JSONValue]
            switch expect {
            case .array(let items): list = items
            case .string: list = [expect]
            default: throw error(join(path, "expect"), "expected an array of conditions such as \"status == 200\"")
            }
            for (index, item) in list.enumerated() {
                let conditionPath = "\(path).expect[\(index)]"
                let text = try string(item, conditionPath)
                let condition: Condition
                do {
                    condition = try Condition.parse(text)
                } catch {
                    throw self.error(conditionPath, error.description)
                }
                guard kind.allows(condition.subject) else {
                    throw self.error(conditionPath, "'\(condition.subject.name)' does not apply to a \(kind.name) check (use \(kind.subjects))")
                }
                conditions.append(condition)
            }
        }
        if conditions.isEmpty {
            switch kind {
            case .http: conditions = [try! Condition.parse("status < 300")]
            case .command: conditions = [try! Condition.parse("exit == 0")]
            case .tcp, .version, .alarms, .window, .approval: break // connecting, the version, the alarms, the clock or a person is the check
            case .prometheus: throw error(path, "a prometheus check needs expect: the condition its value must meet, e.g. \"value < 0.01\"")
            }
        }

        var retry: Retry?
        if let value = object["retry"] {
            let retryPath = join(path, "retry")
            let retryObject = try self.object(value, retryPath, allowed: ["within", "every"])
            guard let within = retryObject["within"] else { throw error(retryPath, "needs within: how long to keep trying, e.g. \"60s\"") }
            let every = try retryObject["every"].map { value throws(ConfigError) in try duration(value, join(retryPath, "every")) } ?? .seconds(2)
            retry = Retry(within: try duration(within, join(retryPath, "within")), every: every)
        }
        var repetition: Repetition?
        if let value = object["repeat"] {
            let repeatPath = join(path, "repeat")
            let repeatObject = try self.object(value, repeatPath, allowed: ["count", "minSuccess", "concurrency"])
            guard let count = repeatObject["count"] else { throw error(repeatPath, "needs count: how many times to run the check") }
            var minSuccess = 1.0
            if let value = repeatObject["minSuccess"] {
                guard case .number(let literal) = value, let ratio = Double(literal), (0...1).contains(ratio) else {
                    throw error(join(repeatPath, "minSuccess"), "expected a share from 0 to 1 (0.95 for 95%), found \(article(value))")
                }
                minSuccess = ratio
            }
            let concurrency = try repeatObject["concurrency"].map { value throws(ConfigError) in
                try integer(value, join(repeatPath, "concurrency"), 1...256)
            } ?? 1
            repetition = Repetition(count: try integer(count, join(repeatPath, "count"), 1...100_000),
                                    minSuccess: minSuccess, concurrency: concurrency)
        }

        let name = try object["name"].map { value throws(ConfigError) in try string(value, join(path, "name")) } ?? Self.defaultName(kind)
        return Check(path: path, name: name, kind: kind, conditions: conditions, timeout: timeout, retry: retry, repetition: repetition)
    }

    func http(_ value: JSONValue, _ path: String) throws(ConfigError) -> HTTPSpec {
        if case .string(let url) = value { return HTTPSpec(url: url) }
        let object = try self.object(value, path, allowed: ["url", "method", "headers", "body", "timeout", "followRedirects", "maxBody"])
        guard let url = object["url"] else { throw error(path, "needs url") }
        var spec = HTTPSpec(url: try string(url, join(path, "url")))
        if let method = object["method"] {
            let text = try string(method, join(path, "method")).uppercased()
            guard !text.isEmpty, text.allSatisfy({ $0.isLetter || $0 == "-" }) else { throw error(join(path, "method"), "'\(text)' is not an HTTP method") }
            spec.method = text
        }
        if let headers = object["headers"] { spec.headers = try stringMap(headers, join(path, "headers")) }
        if let body = object["body"] {
            switch body {
            case .string(let text):
                spec.body = text
            case .object, .array:
                spec.body = body.serialized
                if !spec.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    spec.headers.append(("Content-Type", "application/json"))
                }
            default:
                throw error(join(path, "body"), "expected a string, or a JSON object or array sent as JSON")
            }
        }
        if let follow = object["followRedirects"] { spec.followRedirects = try bool(follow, join(path, "followRedirects")) }
        if let size = object["maxBody"] {
            let text = try string(size, join(path, "maxBody"))
            guard let bytes = ByteCount.parse(text), bytes > 0 else { throw error(join(path, "maxBody"), "'\(text)' is not a size (1MiB, 512KiB)") }
            spec.maxBodyBytes = bytes
        }
        return spec
    }

    func command(_ value: JSONValue, _ path: String) throws(ConfigError) -> CommandSpec {
        func run(_ value: JSONValue, _ path: String) throws(ConfigError) -> [String] {
            switch value {
            case .string(let script):
                guard !script.trimmed.isEmpty else { throw error(path, "the command is empty") }
                return ["/bin/sh", "-c", script]
            case .array(let items):
                guard !items.isEmpty else { throw error(path, "the command is empty") }
                var arguments: [String] = []
                for (index, item) in items.enumerated() { arguments.append(try string(item, "\(path)[\(index)]")) }
                guard !arguments[0].isEmpty else { throw error("\(path)[0]", "the program is empty") }
                return arguments
            default:
                throw error(path, "expected an array of arguments ([\"./smoke.sh\", \"--fast\"]) or a shell string")
            }
        }
        guard case .object = value else { return CommandSpec(arguments: try run(value, path)) }
        let object = try self.object(value, path, allowed: ["run", "env", "cwd", "timeout"])
        guard let command = object["run"] else { throw error(path, "needs run: an array of arguments or a shell string") }
        var spec = CommandSpec(arguments: try run(command, join(path, "run")))
        if let environment = object["env"] { spec.environment = try stringMap(environment, join(path, "env")) }
        if let directory = object["cwd"] { spec.directory = try string(directory, join(path, "cwd")) }
        return spec
    }

    func tcp(_ value: JSONValue, _ path: String) throws(ConfigError) -> TCPSpec {
        if case .string(let address) = value {
            guard let colon = address.lastIndex(of: ":"), colon != address.startIndex else {
                throw error(path, "expected host:port, found '\(address)'")
            }
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return TCPSpec(host: host, port: String(address[address.index(after: colon)...]))
        }
        let object = try self.object(value, path, allowed: ["host", "port", "timeout"])
        guard let host = object["host"], let port = object["port"] else { throw error(path, "needs host and port") }
        return TCPSpec(host: try string(host, join(path, "host")), port: try string(port, join(path, "port")))
    }

    func version(_ value: JSONValue, _ path: String) throws(ConfigError) -> VersionSpec {
        let object = try self.object(value, path, allowed: ["url", "expect", "field", "revision", "samples", "headers", "timeout"])
        guard let url = object["url"] else { throw error(path, "needs url") }
        guard let expect = object["expect"] else { throw error(path, "needs expect: the version that should be live") }
        var spec = VersionSpec(url: try string(url, join(path, "url")), expect: try string(expect, join(path, "expect")))
        if !spec.expect.contains("${") {
            do { _ = try VersionExpectation(spec.expect) } catch { throw self.error(join(path, "expect"), error.description) }
        }
        if let field = object["field"] {
            let text = try string(field, join(path, "field"))
            do { spec.field = try JSONPath(text) } catch { throw self.error(join(path, "field"), error.description) }
        }
        if let revision = object["revision"] { spec.revision = try string(revision, join(path, "revision")) }
        if let samples = object["samples"] { spec.samples = try integer(samples, join(path, "samples"), 1...1000) }
        if let headers = object["headers"] { spec.headers = try stringMap(headers, join(path, "headers")) }
        return spec
    }

    static func defaultName(_ kind: CheckKind) -> String {
        switch kind {
        case .http(let spec): "\(spec.method) \(spec.url)"
        case .command(let spec): spec.arguments.first == "/bin/sh" && spec.arguments.count == 3 ? spec.arguments[2]
            : spec.arguments.joined(separator: " ")
        case .tcp(let spec): "tcp \(spec.host):\(spec.port)"
        case .version(let spec): "version of \(spec.url) is \(spec.expect)"
        case .alarms(let spec): spec.defaultName
        case .prometheus(let spec): "prometheus: \(spec.query)"
        case .window(let window): "deployment window (\(window.summary))"
        case .approval(let spec): "approval" + ([spec.service, spec.version].compactMap { $0 }.isEmpty ? ""
            : " of " + [spec.service, spec.version].compactMap { $0 }.joined(separator: " "))
        }
    }

    static func isVariableName(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

}
