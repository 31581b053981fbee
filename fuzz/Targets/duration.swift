// Duration text (`30s`, `1m30s`, `500ms`): parsing never traps, and a parsed duration written out
// by `format` (whole milliseconds) parses back to the same duration in whole milliseconds.
@testable import DeployVerifyKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDuration(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    guard let duration = try? DurationText.parse(text) else { return 0 }
    let written = DurationText.format(duration)
    guard let again = try? DurationText.parse(written) else { preconditionFailure("'\(written)' (from '\(text)') does not parse") }
    let (seconds, attoseconds) = duration.components
    let milliseconds = Duration.seconds(seconds) + .milliseconds(attoseconds / 1_000_000_000_000_000)
    precondition(again == milliseconds, "'\(text)' is \(duration), written '\(written)', read back \(again)")
    return 0
}
