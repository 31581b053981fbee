import Foundation

/// Checks a JSON Schema with python3's `jsonschema` (Draft 2020-12): the schema itself, a
/// document it must accept, and documents (JSON texts) it must reject. Returns a message per
/// problem, or nil when python3 or jsonschema is not installed here.
public func checkJSONSchema(_ schema: String, accepts document: String, rejects invalid: [String]) async throws -> [String]? {
    try await PythonPackages.ensure(modules: ["jsonschema"], packages: ["jsonschema"])
    let script = """
    import json, sys
    try:
        import jsonschema
    except ImportError:
        print("skip"); sys.exit(0)
    schema = json.load(open(sys.argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(json.load(open(sys.argv[2]))):
        print("rejected the example:", error.message)
    for document in json.loads(sys.argv[3]):
        if validator.is_valid(document):
            print("accepted:", json.dumps(document))
    print("done")
    """
    let python = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                              ["nice", "-n", "19", "python3", "-c", script, schema, document, "[" + invalid.joined(separator: ",") + "]"])
    guard (try? await python.run()) != nil else { return nil }
    let lines = python.standardOutput.split(separator: "\n").map(String.init)
    if lines == ["skip"] { return nil }
    guard lines.last == "done" else { return ["python3 failed: \(python.output)"] }
    return Array(lines.dropLast())
}
