import CShims
import Foundation
import InfoEndpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a command ended.
package struct ProcessResult: Sendable {
    /// The exit status, or nil when a signal ended it.
    package var exitCode: Int32?
    package var signal: Int32?
    /// The last `outputLimit` bytes of each stream, as UTF-8 text.
    package var stdout: String
    package var stderr: String
    package var stdoutTruncated = false
    package var stderrTruncated = false
    package var duration: Duration
    /// Ended by the timeout (its process group was terminated).
    package var timedOut = false
    /// Ended because the caller's task was cancelled.
    package var cancelled = false

    /// `exit 0`, `exit 3`, `killed by SIGTERM`.
    package var statusDescription: String {
        if let exitCode { return "exit \(exitCode)" }
        return "killed by \(signal.map(ProcessRunner.signalName) ?? "a signal")"
    }
}

/// Why a command could not be started.
package struct ProcessLaunchError: Error, CustomStringConvertible, Sendable {
    package let description: String
}

/// Runs a command in a process group of its own, so that a timeout, a cancellation, or the
/// command's end takes down everything it started: no orphan outlives its check.
package enum ProcessRunner {
    /// - Parameters:
    ///   - arguments: `arguments[0]` is searched in PATH when it has no slash.
    ///   - environment: the complete environment of the command.
    ///   - killGrace: after SIGTERM, how long the group has before SIGKILL.
    package static func run(
        _ arguments: [String],
        environment: [String: String],
        directory: String? = nil,
        input: [UInt8] = [],
        timeout: Duration? = nil,
        killGrace: Duration = .seconds(2),
        outputLimit: Int = 1 << 20
    ) async throws(ProcessLaunchError) -> ProcessResult {
        guard !arguments.isEmpty, !arguments[0].isEmpty else { throw ProcessLaunchError(description: "the command is empty") }
        if let directory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ProcessLaunchError(description: "the working directory \(directory) does not exist")
            }
        }
        let process = try RunningProcess(arguments: arguments, environment: environment, directory: directory,
                                         input: input, outputLimit: outputLimit)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                process.start(continuation, timeout: timeout, killGrace: killGrace)
            }
        } onCancel: {
            process.terminate(reason: .cancelled, killGrace: killGrace)
        }
        return result
    }

    static func signalName(_ number: Int32) -> String {
        switch number {
        case SIGTERM: "SIGTERM"
        case SIGKILL: "SIGKILL"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGPIPE: "SIGPIPE"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        default: "signal \(number)"
        }
    }
}

/// One spawned command: its pipes, the threads that drain them, and the waiter.
private final class RunningProcess: @unchecked Sendable {
    enum Reason { case timeout, cancelled }

    private let lock = NSLock()
    private let pid: pid_t
    private let started = ContinuousClock.now
    private let outputLimit: Int
    private var stdout = OutputTail()
    private var stderr = OutputTail()
    private var openStreams = 2
    private var status: Int32?
    private var terminatedFor: Reason?
    private var continuation: CheckedContinuation<ProcessResult, Never>?
    private var timer: Task<Void, Never>?
    private let stdoutRead: Int32
    private let stderrRead: Int32

    init(arguments: [String], environment: [String: String], directory: String?, input: [UInt8], outputLimit: Int) throws(ProcessLaunchError) {
        self.outputLimit = outputLimit
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], inp: [Int32] = [-1, -1]
        guard Self.makePipe(&out), Self.makePipe(&err), Self.makePipe(&inp) else {
            for fd in out + err + inp where fd >= 0 { close(fd) }
            throw ProcessLaunchError(description: "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        var spawned: pid_t = 0
        let code = Self.withCStrings(arguments) { argv in
            Self.withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in
                cshims_spawn(argv, envp, directory, inp[0], out[1], err[1], &spawned)
            }
        }
        close(out[1])
        close(err[1])
        close(inp[0])
        guard code == 0 else {
            close(out[0])
            close(err[0])
            close(inp[1])
            let reason = code == ENOENT ? "not found" : code == EACCES ? "permission denied" : String(cString: strerror(code))
            throw ProcessLaunchError(description: "cannot run \(arguments[0]): \(reason)")
        }
        pid = spawned
        stdoutRead = out[0]
        stderrRead = err[0]
        // Standard input: what was given, then end of file.
        let writer = inp[1]
        Thread.detachNewThread {
            _ = input.withUnsafeBytes { cshims_write_all(writer, $0.baseAddress, $0.count) }
            close(writer)
        }
    }

    func start(_ continuation: CheckedContinuation<ProcessResult, Never>, timeout: Duration?, killGrace: Duration) {
        lock.withLock { self.continuation = continuation }
        for (fd, isStdout) in [(stdoutRead, true), (stderrRead, false)] {
            Thread.detachNewThread { [self] in drain(fd, isStdout: isStdout) }
        }
        Thread.detachNewThread { [self] in waitForExit(killGrace: killGrace) }
        if let timeout {
            let timer = Task { [self] in
                do { try await CancellableSleep.sleep(for: timeout) } catch { return }
                terminate(reason: .timeout, killGrace: killGrace)
            }
            lock.withLock { self.timer = timer }
        }
    }

    /// SIGTERM to the whole group now, SIGKILL after the grace if anything is left.
    func terminate(reason: Reason, killGrace: Duration) {
        let first = lock.withLock { () -> Bool in
            guard status == nil || openStreams > 0, terminatedFor == nil else { return false }
            terminatedFor = reason
            return true
        }
        guard first else { return }
        kill(-pid, SIGTERM)
        let group = pid
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: killGrace.seconds)
            kill(-group, SIGKILL)
        }
    }

    private func waitForExit(killGrace: Duration) {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        lock.withLock { status = raw }
        // Whatever the command left running in its group goes with it.
        kill(-pid, SIGTERM)
        let group = pid
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: min(killGrace.seconds, 0.5))
            kill(-group, SIGKILL)
        }
        finishIfDone()
    }

    private func drain(_ fd: Int32, isStdout: Bool) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            lock.withLock {
                if isStdout { stdout.append(chunk[0..<count], limit: outputLimit) } else { stderr.append(chunk[0..<count], limit: outputLimit) }
            }
        }
        close(fd)
        lock.withLock { openStreams -= 1 }
        finishIfDone()
    }

    private func finishIfDone() {
        let result = lock.withLock { () -> (CheckedContinuation<ProcessResult, Never>, ProcessResult)? in
            guard let status, openStreams == 0, let continuation else { return nil }
            self.continuation = nil
            timer?.cancel()
            var result = ProcessResult(stdout: stdout.text, stderr: stderr.text, duration: ContinuousClock.now - started)
            result.stdoutTruncated = stdout.truncated
            result.stderrTruncated = stderr.truncated
            if status & 0x7F == 0 {
                result.exitCode = (status >> 8) & 0xFF
            } else {
                result.signal = status & 0x7F
            }
            result.timedOut = terminatedFor == .timeout
            result.cancelled = terminatedFor == .cancelled
            return (continuation, result)
        }
        if let (continuation, result) = result { continuation.resume(returning: result) }
    }

    /// Close-on-exec from the start, so that commands spawned at the same moment by other
    /// checks cannot inherit a write end and hold the stream open.
    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        cshims_pipe(&fds) == 0
    }

    /// A NULL-terminated `char *[]` for the duration of `body`.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// The last bytes of an output stream.
private struct OutputTail {
    private var bytes: [UInt8] = []
    private(set) var truncated = false

    mutating func append(_ chunk: ArraySlice<UInt8>, limit: Int) {
        bytes.append(contentsOf: chunk)
        if bytes.count > limit {
            bytes.removeFirst(bytes.count - limit)
            truncated = true
        }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}
