import Testing
@testable import DeployVerifyKit

@Suite("JSON parser and paths")
struct JSONTests {
    @Test func parsesDocumentsKeepingNumberLiteralsAndKeyOrder() throws {
        let value = try JSONParser().parse(#"{"z":1,"version":1.10,"a":[true,false,null,"x\u00e9\n"],"big":12345678901234567890,"e":-2.5E+3}"#)
        #expect(value["version"] == .number("1.10"))
        #expect(value["version"]?.scalarText == "1.10")
        #expect(value["big"]?.scalarText == "12345678901234567890")
        #expect(value["e"]?.scalarText == "-2.5E+3")
        #expect(value.objectValue?.keys == ["z", "version", "a", "big", "e"])
        #expect(value["a"] == .array([.bool(true), .bool(false), .null, .string("xé\n")]))
        #expect(try JSONParser().parse(#""\ud83d\ude80""#) == .string("🚀"))
        #expect(try JSONParser().parse(" 42 ") == .number("42"))
    }

    @Test(arguments: [
        ("", "empty document"),
        ("{", "unexpected end of document"),
        (#"{"a":1,}"#, "trailing comma"),
        (#"{"a" 1}"#, "expected ':'"),
        ("[1 2]", "expected ',' or ']'"),
        ("01", "leading zero"),
        ("1.", "expected a digit after '.'"),
        (#""abc"#, "unterminated string"),
        ("\"a\u{1}b\"", "control character"),
        (#""\x""#, "invalid escape"),
        (#""\ud800""#, "unpaired surrogate"),
        ("tru", "expected true"),
        ("<html>", "unexpected character '<'"),
        ("{} {}", "unexpected text after"),
        ("{'a':1}", "expected a string key"),
    ])
    func rejectsInvalidDocuments(text: String, message: String) {
        #expect {
            try JSONParser().parse(text)
        } throws: { error in
            (error as? JSONSyntaxError)?.message.contains(message) == true
        }
    }

    @Test func reportsLineAndColumn() {
        let text = "{\n  \"a\": 1,\n  \"b\": tru\n}"
        do {
            _ = try JSONParser().parse(text)
            Issue.record("should have failed")
        } catch {
            #expect(error.line == 3)
            #expect(error.column == 8)
            #expect(error.description == "line 3, column 8: invalid literal: expected true")
        }
    }

    @Test func duplicateKeys() throws {
        #expect(try JSONParser().parse(#"{"a":1,"a":2}"#)["a"] == .number("2"))
        #expect(throws: JSONSyntaxError.self) { try JSONParser(rejectDuplicateKeys: true).parse(#"{"a":1,"a":2}"#) }
    }

    @Test func nestingIsCapped() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser().parse(deep) }
    }

    @Test func serializesBack() throws {
        let text = #"{"b":[1,2.50,"q\"uote"],"a":{"n":null,"t":true}}"#
        #expect(try JSONParser().parse(text).serialized == text)
    }

    @Test func paths() throws {
        let document = try JSONParser().parse(#"{"build":{"version":"1.4.2"},"items":[{"v":"a"},{"v":"b"}],"key.with.dots":{"x":1},"m":[[0,1],[2,3]]}"#)
        #expect(try JSONPath("build.version").value(in: document) == .string("1.4.2"))
        #expect(try JSONPath("$.build.version").value(in: document) == .string("1.4.2"))
        #expect(try JSONPath("items[1].v").value(in: document) == .string("b"))
        #expect(try JSONPath(#"["key.with.dots"].x"#).value(in: document) == .number("1"))
        #expect(try JSONPath("m[1][0]").value(in: document) == .number("2"))
        #expect(try JSONPath("items[5].v").value(in: document) == nil)
        #expect(try JSONPath("build.version.more").value(in: document) == nil)
        #expect(try JSONPath("items.v").value(in: document) == nil)
        for bad in ["", "a..b", ".a", "a.", "a[", "a[x]", "a[1", "a]b", "$"] {
            #expect(throws: JSONPath.SyntaxError.self, "\(bad)") { try JSONPath(bad) }
        }
    }
}
