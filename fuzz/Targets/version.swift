// Version expectations, ranges and semantic versions. Input: an expectation on the first line,
// the version a service reported (from the network) on the second. Nothing traps; a semantic
// version written out reads back equal, and versions are ordered consistently.
// A `regex:` expectation is only compiled, not matched: the pattern is the user's own (a
// catastrophic one is theirs to avoid), the reported version is what the fuzzer varies.
@testable import DeployVerifyKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVersion(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let lines = bytes.split(separator: 10, maxSplits: 1, omittingEmptySubsequences: false)
    let expectationText = String(decoding: lines.first ?? [], as: UTF8.self)
    let actual = String(decoding: lines.count > 1 ? lines[1] : [], as: UTF8.self)

    if let expectation = try? VersionExpectation(expectationText) {
        _ = expectation.description
        if case .regex = expectation.form {} else {
            let matches = expectation.matches(actual)
            precondition((expectation.explainMismatch(actual) == nil) || !matches, "a match explained as a mismatch")
        }
    }
    if let range = try? VersionRange(expectationText), let version = SemanticVersion(actual) {
        _ = range.contains(version)
    }
    for text in [expectationText, actual] {
        guard let version = SemanticVersion(text) else { continue }
        guard let again = SemanticVersion(version.description) else {
            preconditionFailure("'\(version.description)' (from '\(text)') does not parse")
        }
        precondition(again == version && again.build == version.build, "'\(text)' read back as '\(again)'")
    }
    if let a = SemanticVersion(expectationText), let b = SemanticVersion(actual) {
        precondition(!(a < b && b < a), "\(a) and \(b) are each below the other")
        precondition((a == b) == (!(a < b) && !(b < a)), "\(a) and \(b): equality disagrees with order")
    }
    return 0
}
