#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Who this process is and what it was built from: the content of `/info`.
///
/// Each field is resolved once, at initialisation, in this order (first found wins):
/// 1. the value passed in code;
/// 2. the environment (only the variables in ``environmentVariableNames``, nothing else is read);
/// 3. the build stamp compiled in by the `BuildStamp` plugin (revision, branch, build time, and a
///    version from the git tag);
/// 4. a default: `unknown_service:<executable>` for the name, the host name for the instance,
///    the process start time for the start time; nil otherwise.
public struct ServiceInfo: Sendable, Hashable {
    /// Service name (`checkout`). OpenTelemetry's `service.name`.
    public var name: String
    /// Version being served (`1.4.2`).
    public var version: String?
    /// Source revision, normally the full git commit hash.
    public var revision: String?
    /// Branch the build came from.
    public var branch: String?
    /// When the binary was built.
    public var buildTime: Date?
    /// Deployment environment (`production`, `staging`).
    public var environment: String?
    /// This instance: the host name (a pod name on Kubernetes) unless set.
    public var instance: String
    /// When the process started.
    public var startTime: Date
    /// Extra string fields the service adds, served under `extra` in `/info`.
    public var extra: [String: String]
    /// Environment values that were present but could not be used (for example an unparsable
    /// `BUILD_TIME`), described for a startup log line. Empty when all is well.
    public var warnings: [String]

    /// The environment variables `ServiceInfo` reads, and no others.
    public static let environmentVariableNames = [
        "SERVICE_NAME", "OTEL_SERVICE_NAME", "SERVICE_VERSION", "GIT_COMMIT", "GIT_BRANCH", "BUILD_TIME",
        "SERVICE_ENVIRONMENT", "SERVICE_INSTANCE", "OTEL_RESOURCE_ATTRIBUTES",
    ]

    /// - Parameters:
    ///   - environmentVariables: the variables to resolve from; nil (the default) reads the
    ///     process environment, one documented name at a time.
    ///   - buildStamp: the git/build facts; defaults to what the `BuildStamp` plugin compiled in.
    public init(
        name: String? = nil,
        version: String? = nil,
        revision: String? = nil,
        branch: String? = nil,
        buildTime: Date? = nil,
        environment: String? = nil,
        instance: String? = nil,
        startTime: Date? = nil,
        extra: [String: String] = [:],
        environmentVariables: [String: String]? = nil,
        buildStamp: BuildStamp? = BuildStamp.current
    ) {
        func variable(_ key: String) -> String? {
            let value: String?
            if let environmentVariables {
                value = environmentVariables[key]
            } else {
                value = getenv(key).map { String(cString: $0) }
            }
            guard let trimmed = value?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else { return nil }
            return trimmed
        }
        let otel = Self.parseResourceAttributes(variable("OTEL_RESOURCE_ATTRIBUTES") ?? "")
        var warnings: [String] = []

        self.name = name ?? variable("SERVICE_NAME") ?? variable("OTEL_SERVICE_NAME") ?? otel["service.name"]
            ?? "unknown_service:\(Self.executableName)"
        self.version = version ?? variable("SERVICE_VERSION") ?? otel["service.version"] ?? buildStamp?.impliedVersion
        self.revision = revision ?? variable("GIT_COMMIT") ?? buildStamp?.revision
        self.branch = branch ?? variable("GIT_BRANCH") ?? buildStamp?.branch
        var environmentBuildTime: Date?
        if buildTime == nil, let text = variable("BUILD_TIME") {
            environmentBuildTime = Timestamps.parse(text)
            if environmentBuildTime == nil {
                warnings.append("BUILD_TIME=\(text) is neither RFC 3339 (2026-11-21T10:00:00Z) nor Unix seconds; ignored")
            }
        }
        self.buildTime = buildTime ?? environmentBuildTime ?? buildStamp?.buildTime
        self.environment = environment ?? variable("SERVICE_ENVIRONMENT")
            ?? otel["deployment.environment.name"] ?? otel["deployment.environment"]
        self.instance = instance ?? variable("SERVICE_INSTANCE") ?? otel["service.instance.id"] ?? Self.hostName
        self.startTime = startTime ?? Self.processStartTime
        self.extra = extra
        self.warnings = warnings
    }

    /// Seconds since ``startTime``.
    public func uptime(at now: Date = Date()) -> TimeInterval {
        max(0, now.timeIntervalSince(startTime))
    }

    /// Parses `OTEL_RESOURCE_ATTRIBUTES` (`key=value,key2=value2`, values percent-encoded) and
    /// keeps only the keys `ServiceInfo` uses.
    static func parseResourceAttributes(_ text: String) -> [String: String] {
        let wanted: Set<String> = [
            "service.name", "service.version", "service.instance.id", "deployment.environment.name",
            "deployment.environment",
        ]
        var result: [String: String] = [:]
        for pair in text.split(separator: ",") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<equals].trimmingCharacters(in: .whitespaces)
            guard wanted.contains(key) else { continue }
            let raw = pair[pair.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            let value = raw.removingPercentEncoding ?? raw
            if !value.isEmpty { result[key] = value }
        }
        return result
    }

    static var executableName: String {
        let path = CommandLine.arguments.first ?? "swift"
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    /// When this process started: from the kernel where it says (`/proc` on Linux, `sysctl` on
    /// Darwin), otherwise the first time anything asked.
    public static let processStartTime: Date = kernelProcessStartTime() ?? Date()

    private static func kernelProcessStartTime() -> Date? {
        #if os(Linux)
        // Field 22 of /proc/self/stat is the start in clock ticks after boot, on the same clock as
        // /proc/uptime: their difference is the process age, exact even where the boot time in
        // /proc/stat has drifted from the wall clock (seen on VMs: seconds off).
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let closing = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: closing)...].split(separator: " ")
        // After the command name, fields start at number 3 (state), so field 22 is index 19.
        guard fields.count > 19, let ticks = Double(fields[19]),
              let uptimeText = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let uptime = uptimeText.split(separator: " ").first.flatMap({ Double($0) }) else { return nil }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard hertz > 0 else { return nil }
        let age = max(0, uptime - ticks / hertz)
        return Date().addingTimeInterval(-age)
        #elseif canImport(Darwin)
        var mib: [Int32] = [CTL_KERN, KERN_PROC, KERN_PROC_PID, getpid()]
        var process = kinfo_proc()
        var size = MemoryLayout<kinfo_proc>.stride
        guard sysctl(&mib, u_int(mib.count), &process, &size, nil, 0) == 0 else { return nil }
        let start = process.kp_proc.p_starttime
        return Date(timeIntervalSince1970: Double(start.tv_sec) + Double(start.tv_usec) / 1_000_000)
        #else
        return nil
        #endif
    }
}
