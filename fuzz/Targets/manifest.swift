// The watch manifest, JSON or YAML as `versioncheck watch` tells them apart: reading never traps.
@testable import DeployVerifyKit
@testable import VersionCheck

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let format = ManifestSource.format(name: "manifest", contentType: nil, bytes: bytes)
    let environment = ["HOST": "127.0.0.1", "SLACK_WEBHOOK": "http://127.0.0.1:9/hook"]
    for requireServices in [true, false] {
        if let manifest = try? Manifest.parse(bytes, path: "manifest", format: format, environment: environment,
                                              requireServices: requireServices) {
            _ = manifest.services.count
        }
    }
    return 0
}
