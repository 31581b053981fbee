// The YAML reader (manifests and hooks files may be YAML): reading never traps, and the value it
// reads is plain JSON (written out, it parses back as JSON to the same value).
@testable import DeployVerifyKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    guard let value = try? YAMLReader.parse(bytes) else { return 0 }
    let text = value.serialized
    guard let again = try? JSONParser().parse(text) else { preconditionFailure("YAML read to invalid JSON: \(text.prefix(200))") }
    precondition(again == value, "YAML's value changed in a JSON round trip: \(text.prefix(200))")
    return 0
}
