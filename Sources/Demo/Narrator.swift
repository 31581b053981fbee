import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tells the story step by step, runs the real commands in this process with their output
/// shown as they printed it, and keeps count of what did not go as told.
final class Narrator {
    private let directory: String
    private let color: Bool
    private var step = 0
    private(set) var surprises: [String] = []
    private var runs = 0

    init(directory: String) {
        self.directory = directory
        color = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    func say(_ text: String) {
        print(text)
    }

    func heading(_ text: String) {
        step += 1
        print("\n" + paint("\(step). \(text)", "1"))
    }

    /// Runs a command's code in this process; shows `$ command` and its output; checks its exit
    /// status and that its output contains each of `expecting`.
    @discardableResult
    func run(_ shown: String, expectStatus: Int32, expecting: [String] = [], _ body: () async -> Int32) async -> String {
        print(paint("$ \(shown)", "36"))
        runs += 1
        let (status, output) = await captured(body)
        for line in output.split(separator: "\n", omittingEmptySubsequences: false).dropLast(output.hasSuffix("\n") ? 1 : 0) {
            print(paint("  │ ", "2") + line)
        }
        let verdict = status == expectStatus
        print(paint("  └ exit \(status)", verdict ? "32" : "31") + (verdict ? "" : "  (expected \(expectStatus))"))
        if !verdict { surprises.append("`\(shown)` exited \(status), not \(expectStatus)") }
        for needle in expecting where !output.contains(needle) {
            surprises.append("`\(shown)` did not print \"\(needle)\"")
            print(paint("  ✘ expected to see \"\(needle)\"", "31"))
        }
        return output
    }

    /// A check of the demo's own: recorded when false.
    func check(_ condition: Bool, _ what: String) {
        if !condition {
            surprises.append(what)
            print(paint("  ✘ \(what)", "31"))
        }
    }

    /// Standard output and error of `body`, written to a file while it runs (the commands
    /// print through file descriptors 1 and 2).
    private func captured(_ body: () async -> Int32) async -> (Int32, String) {
        fflush(nil)
        let path = "\(directory)/output-\(runs).txt"
        let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        let savedOut = dup(STDOUT_FILENO), savedError = dup(STDERR_FILENO)
        dup2(file, STDOUT_FILENO)
        dup2(file, STDERR_FILENO)
        let status = await body()
        fflush(nil)
        dup2(savedOut, STDOUT_FILENO)
        dup2(savedError, STDERR_FILENO)
        close(savedOut)
        close(savedError)
        close(file)
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (status, output)
    }
}
