// InfoServer's request-head parser: whatever a client sends, parse never traps, and it is
// consistent across reads: a head found in a prefix of the bytes is the head found in all of
// them, and garbage reported on a prefix stays garbage (the connection parses what it has so far).
@testable import InfoEndpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    for limits in [(maxHeadBytes: 8192, maxHeaderCount: 100), (maxHeadBytes: 64, maxHeaderCount: 3)] {
        let parser = RequestParser(maxHeadBytes: limits.maxHeadBytes, maxHeaderCount: limits.maxHeaderCount)
        let whole = bytes.withUnsafeBytes { parser.parse($0) }
        if case .head(let head) = whole {
            precondition(head.length > 0 && head.length <= bytes.count, "head length \(head.length) of \(bytes.count) bytes")
            precondition(head.contentLength >= 0, "negative Content-Length \(head.contentLength)")
        }
        // A few read boundaries: every prefix agrees with the whole.
        for cut in Set([bytes.count / 3, bytes.count / 2, bytes.count - 1]) where cut > 0 && cut < bytes.count {
            let part = bytes[..<cut].withUnsafeBytes { parser.parse($0) }
            switch (part, whole) {
            case (.incomplete, _), (.invalid, .invalid): break
            case (.head(let a), .head(let b)):
                precondition(a.length == b.length && a.path == b.path && a.method == b.method, "a prefix parsed to another head")
            case (.head, _): preconditionFailure("a prefix has a head, the whole has none")
            case (.invalid(let status, let reason), _): preconditionFailure("a prefix is invalid (\(status) \(reason)), the whole is not")
            }
        }
    }
    return 0
}
