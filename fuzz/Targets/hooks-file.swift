// The hooks (checks) file: reading it and planning every phase (expanding `${NAME}`, channels,
// approval steps) never traps, whatever the file holds.
@testable import DeployVerifyKit
@testable import HookRunner

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHooksFile(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    guard let file = try? HooksFile.parse(bytes, path: "hooks.json") else { return 0 }
    let environment = ["HOST": "127.0.0.1", "TOKEN": "s3cret", "VERSION": "1.4.2"]
    guard var scope = try? VariableScope(file: file, environment: environment) else { return 0 }
    for name in file.phaseNames {
        _ = try? PhasePlan.make(file.phases[name] ?? [], file: file.path, channels: file.channels, scope: &scope)
    }
    return 0
}
