// Approval links: a token from a link (anyone can send one) and a record of the approval trail
// (a file). Input: the token on the first line, a trail record after it. Nothing traps, and no
// token opens the link unless it carries the MAC of the one token made for that request.
import Foundation
@testable import DeployVerifyKit
@testable import HookRunner

private let key = Array("fuzzing-approval-key-of-32-bytes".utf8)
private let request: ApprovalRecord = {
    var record = ApprovalRecord(time: Date(timeIntervalSince1970: 1_700_000_000), event: .requested, request: "apr-0123456789abcdef")
    record.service = "checkout"
    record.version = "1.4.2"
    record.expires = Date(timeIntervalSince1970: 1_700_003_600)
    return record
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzApprovalToken(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let token = String(decoding: bytes[..<newline], as: UTF8.self)
    let now = Date(timeIntervalSince1970: 1_700_001_000)
    for decision in ApprovalDecision.allCases where ApprovalToken.check(token, key: key, request: request, decision: decision, now: now) == nil {
        let made = ApprovalToken.make(key: key, request: request, decision: decision)
        let given = token.split(separator: ".", omittingEmptySubsequences: false).last.flatMap(ApprovalToken.decodeBase64URL)
        let expected = made.split(separator: ".").last.flatMap(ApprovalToken.decodeBase64URL)
        precondition(given != nil && given == expected, "'\(token)' opened the link for \(decision)")
    }
    if newline < bytes.count, let record = ApprovalRecord(jsonLine: bytes[(newline + 1)...]) {
        _ = record.jsonLine
        _ = ApprovalRecord(jsonLine: Array(record.jsonLine.utf8))
    }
    return 0
}
