import Foundation
import Testing
@testable import DeployVerifyKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("ProcessRunner")
struct ProcessRunnerTests {
    /// A command gets standard input, output and error, and nothing else of the parent's: a
    /// socket left open in a child would keep a connection the parent closed alive.
    @Test func onlyTheStandardDescriptorsReachTheChild() async throws {
        #if os(Linux)
        let leaky = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) // no SOCK_CLOEXEC, on purpose
        defer { close(leaky) }
        #expect(leaky > 2)
        let result = try await ProcessRunner.run(["/bin/sh", "-c", "ls /proc/$$/fd"], environment: ProcessInfo.processInfo.environment,
                                                 timeout: .seconds(10))
        #expect(result.exitCode == 0, "\(result.stderr)")
        let open = Set(result.stdout.split(whereSeparator: \.isNewline).compactMap { Int($0) })
        #expect(!open.contains(Int(leaky)), "the parent's socket \(leaky) is open in the child: \(open.sorted())")
        #expect(open.isSuperset(of: [0, 1, 2]))
        #endif
    }
}
