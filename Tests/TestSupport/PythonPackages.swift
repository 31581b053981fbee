import Foundation

/// The Python tools some tests hold DeployVerify to (moto's server, botocore's signer, PyYAML,
/// cfn-lint, jsonschema): installed from PyPI by the tests that need them when `python3` cannot
/// import them, so that `swift test` sets itself up on a fresh machine.
public enum PythonPackages {
    private static let installer = Installer()

    /// Returns once `python3` imports every module, installing `packages` with pip first when
    /// one does not; throws with pip's complaint when that fails.
    public static func ensure(modules: [String], packages: [String]) async throws {
        try await installer.ensure(modules: modules, packages: packages)
    }

    /// One pip at a time, each set of packages once per test process.
    private actor Installer {
        var done: Set<[String]> = []

        func ensure(modules: [String], packages: [String]) async throws {
            guard !done.contains(modules) else { return }
            // Niced: importing moto or cfn-lint takes a second or two of CPU that other suites'
            // servers and timers need more on two cores.
            let check = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["nice", "-n", "19", "python3", "-c", modules.map { "import \($0)" }.joined(separator: "; ")])
            if try await check.run(timeout: .seconds(60)) != 0 {
                let pip = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                       ["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + packages)
                guard try await pip.run(timeout: .seconds(600)) == 0 else {
                    throw TestFailure("pip install \(packages.joined(separator: " ")) failed: \(pip.output.suffix(2000))")
                }
            }
            done.insert(modules)
        }
    }
}
