// hookrunner's conditions. Input: a condition on the first line (`json.items[0].version >= 1.4`),
// then the response body a service sent. Parsing and judging never trap. A `matches` condition is
// parsed but not judged: its pattern is the user's own, the body is what the fuzzer varies.
@testable import DeployVerifyKit
@testable import HookRunner

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCondition(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    guard let condition = try? Condition.parse(String(decoding: bytes[..<newline], as: UTF8.self)) else { return 0 }
    _ = condition.description
    guard condition.op != .matches else { return 0 }
    var observation = Observation()
    observation.status = 200
    observation.time = .milliseconds(12)
    observation.body = newline < bytes.count ? Array(bytes[(newline + 1)...]) : []
    observation.headers = [(name: "Content-Type", value: "application/json"), (name: "X-Version", value: "1.4.2")]
    observation.version = "1.4.2"
    observation.value = "0.5"
    observation.stdout = String(decoding: observation.body ?? [], as: UTF8.self)
    observation.exitCode = 0
    observation.prepareJSON(for: [condition])
    let result = condition.evaluate(observation) { $0 }
    _ = result.message
    return 0
}
