// The HTTP client's response parser: whatever a server sends, in whatever pieces, feeding never
// traps, a body never exceeds its cap, and the outcome does not depend on how the bytes were split
// into reads (the first input byte chooses the read sizes). Each header value is also read as a
// webhook receiver's `Retry-After`, which is capped at a day.
@testable import DeployVerifyKit
@testable import VersionCheck

/// What parsing made of the bytes, comparable across splits.
private struct Outcome: Equatable {
    var complete: Bool
    var failure: String?
    var status = 0
    var headers: [String] = []
    var body: [UInt8] = []
}

private func parse(_ bytes: ArraySlice<UInt8>, readSize: (Int) -> Int, isHead: Bool) -> Outcome {
    var parser = ResponseParser(maxHeadBytes: 2048, maxBodyBytes: 1024, isHeadRequest: isHead)
    var offset = bytes.startIndex, read = 0
    do {
        var complete = false
        while offset < bytes.endIndex, !complete {
            let end = min(bytes.endIndex, offset + max(1, readSize(read)))
            complete = try bytes[offset..<end].withUnsafeBytes { try parser.feed($0) }
            offset = end
            read += 1
        }
        if !complete { try parser.finishAtEndOfStream() }
    } catch {
        return Outcome(complete: false, failure: "\(error)")
    }
    precondition(parser.body.count <= 1024 || parser.isHeadRequest, "body of \(parser.body.count) bytes over the 1024-byte cap")
    return Outcome(complete: parser.isComplete, status: parser.status,
                   headers: parser.headers.map { "\($0.name): \($0.value)" }, body: parser.body)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponse(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let input = Array(UnsafeRawBufferPointer(start: start, count: count))
    let seed = Int(input[0]), bytes = input[1...]
    let isHead = seed & 0x80 != 0
    let whole = parse(bytes, readSize: { _ in bytes.count }, isHead: isHead)
    let pieces = parse(bytes, readSize: { read in 1 + (seed &* 7 &+ read &* 13) % 17 }, isHead: isHead)
    // A failure's wording may name what was seen in the read at hand; that it failed must agree.
    precondition((whole.failure == nil) == (pieces.failure == nil), "split reads changed the outcome: \(whole) vs \(pieces)")
    if whole.failure == nil { precondition(whole == pieces, "split reads changed the response: \(whole) vs \(pieces)") }
    for header in whole.headers {
        let value = header.drop { $0 != ":" }.dropFirst(2)
        if let delay = AlertDeliverer.retryAfter(String(value)) {
            precondition(delay >= .zero && delay <= .seconds(86_400), "Retry-After '\(value)' read as \(delay)")
        }
    }
    return 0
}
