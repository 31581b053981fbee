// The JSON parser and JSON paths. Input: a path on the first line, a document after it.
// Parsing never traps, and what it reads is what it means: a parsed value written out
// (`serialized`) parses back to the same value. A path that parses is looked up without trapping.
@testable import DeployVerifyKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let document = newline < bytes.count ? Array(bytes[(newline + 1)...]) : bytes
    for strict in [false, true] {
        guard let value = try? JSONParser(rejectDuplicateKeys: strict).parse(document) else { continue }
        let text = value.serialized
        guard let again = try? JSONParser(rejectDuplicateKeys: strict).parse(text) else {
            preconditionFailure("serialized JSON does not parse: \(text.prefix(200))")
        }
        precondition(again == value, "JSON changed in a round trip: \(text.prefix(200))")
    }
    let pathText = String(decoding: bytes[..<newline], as: UTF8.self)
    if let path = try? JSONPath(pathText) {
        _ = path.description
        if let value = try? JSONParser().parse(document) { _ = path.value(in: value) }
    }
    return 0
}
