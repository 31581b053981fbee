// The AWS shared config and credentials files (INI): parsing and profile look-ups never trap.
@testable import DeployVerifyKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAWSINI(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    if let file = try? AWSINIFile.parse(text, file: "config") {
        for section in file.sections.values { _ = section.value("region") }
    }
    for profile in ["default", "dev"] {
        let environment = ["AWS_PROFILE": profile]
        if let files = try? AWSConfigFiles(environment: environment, credentialsText: text, configText: text) {
            _ = files.credentialsProfile(profile)?.value("aws_access_key_id")
            _ = files.configProfile(profile)?.value("region")
            _ = files.servicesSection(profile)?.value("endpoint_url")
        }
    }
    return 0
}
