// AWS error answers (JSON, XML or a header, from the network): reading the code and message
// never traps, and the message stays within its 500 characters. Input: the `x-amzn-ErrorType`
// header on the first line, the body after it.
@testable import DeployVerifyKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAWSError(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let header = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = newline < bytes.count ? Array(bytes[(newline + 1)...]) : []
    let error = AWSClient.serviceError(status: 400, headers: [(name: "x-amzn-ErrorType", value: header)], body: body,
                                       operation: "PutItem")
    precondition(error.message.count <= 500, "a message of \(error.message.count) characters")
    _ = error.description
    let text = String(decoding: body, as: UTF8.self)
    for name in ["Code", "Message", "NextToken"] { _ = XMLText.elements(name, in: text) }
    return 0
}
