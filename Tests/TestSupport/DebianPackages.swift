import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Programs some tests run as users would (Prometheus, Alertmanager), installed from Debian's
/// packages with apt-get by the tests that need them when they are missing, so that `swift test`
/// sets itself up on a fresh Debian machine (or container) where it runs as root.
public enum DebianPackages {
    private static let installer = Installer()

    /// The path of `program`, installing `packages` (apt-get update, then apt-get install -y) first
    /// when it is not found. Each set of packages is installed at most once per test process,
    /// one apt-get at a time, each step bounded in time; a failure says what to run by hand.
    public static func ensure(_ program: String, packages: [String]) async throws -> String {
        try await installer.ensure(program, packages: packages)
    }

    /// Where `program` is on PATH (and the sbin directories), nil when nowhere.
    public static func find(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        for directory in directories {
            let candidate = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    private actor Installer {
        var attempted: [[String]: String] = [:] // packages → why the install failed

        func ensure(_ program: String, packages: [String]) async throws -> String {
            if let found = DebianPackages.find(program) { return found }
            let manual = "apt-get update && apt-get install -y --no-install-recommends \(packages.joined(separator: " "))"
            if let failure = attempted[packages] { throw TestFailure(failure) }
            guard let aptGet = DebianPackages.find("apt-get") else {
                throw remember(packages, "\(program) is not installed, and there is no apt-get here to install it: install \(packages.joined(separator: ", "))")
            }
            guard getuid() == 0 else {
                throw remember(packages, "\(program) is not installed, and the tests do not run as root to install it: run \(manual)")
            }
            var environment = ProcessInfo.processInfo.environment
            environment["DEBIAN_FRONTEND"] = "noninteractive"
            let lock = ["-o", "DPkg::Lock::Timeout=120"]
            let update = ChildProcess(URL(fileURLWithPath: aptGet), lock + ["update"], environment: environment)
            let updated = (try? await update.run(timeout: .seconds(300))) ?? -1
            guard updated == 0 else {
                throw remember(packages, "apt-get update failed (\(updated == -1 ? "no exit within 300s" : "exit \(updated)")) "
                    + "while installing \(program); run \(manual): \(update.output.suffix(1500))")
            }
            let install = ChildProcess(URL(fileURLWithPath: aptGet), lock + ["install", "-y", "--no-install-recommends"] + packages,
                                       environment: environment)
            let installed = (try? await install.run(timeout: .seconds(600))) ?? -1
            guard installed == 0, let found = DebianPackages.find(program) else {
                throw remember(packages, "apt-get install \(packages.joined(separator: " ")) failed "
                    + "(\(installed == -1 ? "no exit within 600s" : "exit \(installed)")); run \(manual): \(install.output.suffix(1500))")
            }
            return found
        }

        private func remember(_ packages: [String], _ message: String) -> TestFailure {
            attempted[packages] = message
            return TestFailure(message)
        }
    }
}
