import CShims
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `swift build` put this package's executables (next to the test bundle).
public enum Products {
    public static var directory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        #endif
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public static func executable(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestFailure("\(url.path) is missing: run `swift build` (or `swift test`, which builds it) first")
        }
        return url
    }
}

/// A real child process whose output a test can wait on line by line, without sleeping.
///
/// Started with the package's own `posix_spawn` wrapper, not Foundation's `Process`:
/// `Process.run()` in swift-corelibs-foundation 6.3.1 crashes intermittently on Linux when many
/// descriptors are open (an over-read in findMaximumOpenFromProcSelfFD, swift-corelibs-foundation#5472),
/// which is exactly the situation of these tests.
public final class ChildProcess: @unchecked Sendable {
    private struct State {
        var stdout = ""
        var stderr = ""
        var status: Int32?
        var openPipes = 2
        var lineWaiters: [(needle: String, standardError: Bool, continuation: CheckedContinuation<String?, Never>)] = []
        var exitWaiters: [CheckedContinuation<Int32, Never>] = []
    }

    public let executable: URL
    public let arguments: [String]
    private let environment: [String: String]?
    private let currentDirectory: URL?
    private let input: Data?
    private let state = Locked(State())
    private let pidLock = Locked<pid_t>(0)

    public init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                currentDirectory: URL? = nil, stdin: Data? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.input = stdin
    }

    deinit {
        let pid = pidLock.current
        if pid > 0, state.current.status == nil { kill(pid, SIGKILL) }
    }

    /// The process id (0 before `start()`).
    public var processIdentifier: pid_t { pidLock.current }

    public func start() throws {
        // A child that exits before reading all of its standard input must not take the test
        // process down with SIGPIPE: the write fails with EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], inp: [Int32] = [-1, -1]
        guard cshims_pipe(&out) == 0, cshims_pipe(&err) == 0, cshims_pipe(&inp) == 0 else {
            throw TestFailure("pipe: \(String(cString: strerror(errno)))")
        }
        let environment = (self.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let code = argv.withUnsafeBufferPointer { argv in
            envp.withUnsafeBufferPointer { envp in
                cshims_spawn(argv.baseAddress, envp.baseAddress, currentDirectory?.path, inp[0], out[1], err[1], &pid)
            }
        }
        close(out[1])
        close(err[1])
        close(inp[0])
        guard code == 0 else {
            close(out[0])
            close(err[0])
            close(inp[1])
            throw TestFailure("cannot start \(executable.path): \(String(cString: strerror(code)))")
        }
        pidLock.withLock { $0 = pid }
        let child = pid
        let data = input ?? Data()
        let writer = inp[1]
        Thread.detachNewThread {
            _ = data.withUnsafeBytes { cshims_write_all(writer, $0.baseAddress, $0.count) }
            close(writer)
        }
        for (fd, isStandardOutput) in [(out[0], true), (err[0], false)] {
            Thread.detachNewThread { [self] in
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = read(fd, &chunk, chunk.count)
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    receive(Array(chunk[0..<count]), isStandardOutput: isStandardOutput)
                }
                close(fd)
                state.withLock { $0.openPipes -= 1 }
                settle()
            }
        }
        Thread.detachNewThread { [self] in
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) < 0 && errno == EINTR {}
            // The exit status, or 128 + the signal, as shells report it.
            finish(status: raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F))
        }
    }

    /// Runs to completion and returns the exit status.
    public func run(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try start()
        return try await waitForExit(timeout: timeout)
    }

    /// Whether the process has not exited yet.
    public var isRunning: Bool { state.withLock { $0.status == nil } }

    public var standardOutput: String { state.withLock { $0.stdout } }
    public var standardError: String { state.withLock { $0.stderr } }
    public var output: String { standardOutput + standardError }

    /// The first line of standard output (or error) containing `needle`, waiting for it to be printed.
    public func waitForLine(containing needle: String, inStandardError: Bool = false,
                            timeout: Duration = .seconds(30)) async throws -> String {
        let line = try await withTimeout(timeout, "a line containing '\(needle)' from \(executable.lastPathComponent)") {
            await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
                let found = self.state.withLock { state -> String?? in
                    if let line = Self.line(containing: needle, in: inStandardError ? state.stderr : state.stdout) { return .some(line) }
                    if state.status != nil, state.openPipes == 0 { return .some(nil) }
                    state.lineWaiters.append((needle, inStandardError, continuation))
                    return .none
                }
                if let found { continuation.resume(returning: found) }
            }
        }
        guard let line else {
            throw TestFailure("exited before printing '\(needle)'; stdout: \(standardOutput) stderr: \(standardError)")
        }
        return line
    }

    /// Waits for exit and for both output pipes to close; returns the exit status.
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await withTimeout(timeout, "\(executable.lastPathComponent) to exit") {
            await withCheckedContinuation { continuation in
                let status = self.state.withLock { state -> Int32? in
                    if let status = state.status, state.openPipes == 0 { return status }
                    state.exitWaiters.append(continuation)
                    return nil
                }
                if let status { continuation.resume(returning: status) }
            }
        }
    }

    public func send(signal: Int32) {
        let pid = processIdentifier
        if pid > 0 { kill(pid, signal) }
    }

    private func receive(_ bytes: [UInt8], isStandardOutput: Bool) {
        let text = String(decoding: bytes, as: UTF8.self)
        state.withLock { state in
            if isStandardOutput { state.stdout += text } else { state.stderr += text }
        }
        settle()
    }

    private func finish(status: Int32) {
        state.withLock { $0.status = status }
        settle()
    }

    /// Resumes the waiters whose condition now holds.
    private func settle() {
        var ready: [(CheckedContinuation<String?, Never>, String?)] = []
        var exited: [(CheckedContinuation<Int32, Never>, Int32)] = []
        state.withLock { state in
            let done = state.status != nil && state.openPipes == 0
            state.lineWaiters.removeAll { waiter in
                if let line = Self.line(containing: waiter.needle, in: waiter.standardError ? state.stderr : state.stdout) {
                    ready.append((waiter.continuation, line))
                    return true
                }
                if done {
                    ready.append((waiter.continuation, nil))
                    return true
                }
                return false
            }
            if done, let status = state.status {
                exited = state.exitWaiters.map { ($0, status) }
                state.exitWaiters = []
            }
        }
        for (continuation, line) in ready { continuation.resume(returning: line) }
        for (continuation, status) in exited { continuation.resume(returning: status) }
    }

    private static func line(containing needle: String, in text: String) -> String? {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .first { $0.contains(needle) }.map(String.init)
    }
}

/// `example-service` processes, as the later tools' tests use them: a real deployed version.
public enum ExampleService {
    /// Starts one on 127.0.0.1 with a kernel-chosen port; returns once it listens.
    public static func launch(name: String = "checkout", version: String, extra: [String] = []) async throws -> (ChildProcess, Int) {
        let process = ChildProcess(try Products.executable("example-service"),
                                   ["--host", "127.0.0.1", "--port", "0", "--name", name, "--version", version] + extra)
        try process.start()
        let line = try await process.waitForLine(containing: "listening on")
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.prefix { $0.isNumber }) }) else {
            throw TestFailure("no port in '\(line)'")
        }
        return (process, port)
    }
}

/// The result of running a command to completion.
public struct CommandResult: Sendable {
    public init(status: Int32, stdout: String, stderr: String, elapsed: Duration) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
    }

    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let elapsed: Duration
    public var output: String { stdout + stderr }
}

/// Runs one of this package's executables to completion.
public func runProduct(_ name: String, _ arguments: [String], environment: [String: String]? = nil,
                       stdin: Data? = nil, timeout: Duration = .seconds(60)) async throws -> CommandResult {
    let process = ChildProcess(try Products.executable(name), arguments, environment: environment, stdin: stdin)
    let started = ContinuousClock.now
    let status = try await process.run(timeout: timeout)
    return CommandResult(status: status, stdout: process.standardOutput, stderr: process.standardError,
                         elapsed: ContinuousClock.now - started)
}
