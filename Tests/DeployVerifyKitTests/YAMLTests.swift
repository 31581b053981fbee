import Foundation
import Testing
import TestSupport
@testable import DeployVerifyKit

/// The YAML reader: every construct it reads, with the exact value; every refusal, with its line,
/// column and message; a watch manifest equal to its JSON twin; generated documents written as
/// block and as flow YAML read back equal (and, where PyYAML is installed, read the same by it);
/// and inputs that must neither crash it nor take long.
@Suite("YAML reader")
struct YAMLTests {
    /// The document read, as compact JSON: key order and number literals as read.
    func json(_ yaml: String) throws -> String {
        try YAMLReader.parse(yaml).serialized
    }

    func refusal(_ yaml: String) -> YAMLSyntaxError? {
        do {
            _ = try YAMLReader.parse(yaml)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Constructs

    static let blockCollections = """
        # leading comment
        name: checkout   # trailing comment
        version: 1.10
        enabled: true
        nothing:
        tilde: ~
        nested:
          deeper:
            key: value
          list:
            - a
            -   b
        compact:
        - x
        - y
        objects:
          - name: a
            port: 80
          -   name: b
              tags: [t1, t2]
          -
            name: c
        matrix:
          - - 1
            - 2
          - - - 3
          -
            - 4
        empty entries:
          -
          - # comment
          - ~
        last: end
        """

    @Test func blockMappingsAndSequences() throws {
        #expect(try json(Self.blockCollections) == #"""
            {"name":"checkout","version":1.10,"enabled":true,"nothing":null,"tilde":null,"nested":{"deeper":{"key":"value"},"list":["a","b"]},"compact":["x","y"],"objects":[{"name":"a","port":80},{"name":"b","tags":["t1","t2"]},{"name":"c"}],"matrix":[[1,2],[[3]],[4]],"empty entries":[null,null,null],"last":"end"}
            """#)
        #expect(try json("- a\n- b: 1\n  c: 2\n- [x]\n-\n  - y\n") == #"["a",{"b":1,"c":2},["x"],["y"]]"#)
        #expect(try json("  a: 1\n  b:\n     c: 2\n") == #"{"a":1,"b":{"c":2}}"#)
        #expect(try json("a:\n  - b:\n    - c\n    d: 1\n") == #"{"a":[{"b":["c"],"d":1}]}"#)
        #expect(try json("a:\n\n   \n  \t\n  b: 1\n") == #"{"a":{"b":1}}"#)
        #expect(try json("a:\n- 1\nb:\n  - 2\n") == #"{"a":[1],"b":[2]}"#)
        #expect(try json("a:\tb\n-x: 1\n") == #"{"a":"b","-x":1}"#)
    }

    @Test func plainScalars() throws {
        let text = """
            url: http://host:9090/info
            env: ${SLACK_WEBHOOK_URL}
            bearer: Bearer ${TOKEN}
            colon: a:b
            hash: a#b
            comment: a #b
            spaced: a b  c
            version: 1.2.3
            yes: yes
            no: off
            time: 12:30
            under: 1_000
            dash: -x
            question: ?x
            leading colon: :x
            brackets: a[0]{x},y
            quote: it's "quoted"
            email: releases@example.com
            trailing:    text with spaces    # and a comment
            """
        #expect(try json(text) == #"""
            {"url":"http://host:9090/info","env":"${SLACK_WEBHOOK_URL}","bearer":"Bearer ${TOKEN}","colon":"a:b","hash":"a#b","comment":"a","spaced":"a b  c","version":"1.2.3","yes":"yes","no":"off","time":"12:30","under":"1_000","dash":"-x","question":"?x","leading colon":":x","brackets":"a[0]{x},y","quote":"it's \"quoted\"","email":"releases@example.com","trailing":"text with spaces"}
            """#)
        #expect(try json("a:b") == #""a:b""#)
        #expect(try json("just text") == #""just text""#)
    }

    @Test func multiLinePlainScalarsAreFolded() throws {
        let text = """
            text: first
              second
                third

              after an empty line


              after two
            next: 1
            """
        #expect(try json(text) == #"{"text":"first second third\nafter an empty line\n\nafter two","next":1}"#)
        #expect(try json("hello\nworld\n") == #""hello world""#)
        #expect(try json("- a\n  b\n- c\n") == #"["a b","c"]"#)
        #expect(try json("a: b\n  c # comment\nd: e\n") == #"{"a":"b c","d":"e"}"#)
        #expect(try json("a: [x\n  y, z]") == #"{"a":["x y","z"]}"#)
    }

    @Test func singleQuotedScalars() throws {
        let text = """
            a: 'it''s'
            b: 'line one
              line two

              para'
            c: ''
            d: '# not a comment'
            e: '  spaced  '
            f: 'true'
            g: '1.10'
            'h': 'x\\n'
            """
        #expect(try json(text) == #"""
            {"a":"it's","b":"line one line two\npara","c":"","d":"# not a comment","e":"  spaced  ","f":"true","g":"1.10","h":"x\\n"}
            """#)
    }

    @Test func doubleQuotedScalars() throws {
        let escapes = #"a: "\0\a\b\t\\#t\n\v\f\r\e\ \"\/\\\N\_\L\P\x41\u00e9\U0001F680\uD83D\uDE80x""#
        #expect(try YAMLReader.parse(escapes)["a"] == .string("\u{0}\u{7}\u{8}\t\t\n\u{B}\u{C}\r\u{1B} \"/\\\u{85}\u{A0}\u{2028}\u{2029}Aé🚀🚀x"))
        let folded = """
            a: "one
              two  \t
               three

              four\\
              five \\
              six\\t
              seven"
            b: "x\\

              y"
            c: ""
            d: "null"
            e: "# not a comment" # but this is
            """
        #expect(try json(folded) == #"""
            {"a":"one two three\nfourfive six\t seven","b":"x\ny","c":"","d":"null","e":"# not a comment"}
            """#)
    }

    @Test func blockScalars() throws {
        let text = """
            lit: |
              line 1
                indented
              
              line 3
            fold: >
              folded
              text

              new para
                more indented
              back
            strip: |-
              no newline
            keep: |+
              kept

            header comment: | # a comment
              text
            explicit: |2
                two extra
              base
            chomp first: >-1
              x
            indent first: |2-
               y
            empty: |
            in list:
              - |
                x
              - >-
                y
                z
            leading: |

              after an empty line
            trailing comment: |
              x
            # a comment less indented ends it
            hash: |
              # not a comment
            last: x
            """
        #expect(try json(text) == #"""
            {"lit":"line 1\n  indented\n\nline 3\n","fold":"folded text\nnew para\n  more indented\nback\n","strip":"no newline","keep":"kept\n\n","header comment":"text\n","explicit":"  two extra\nbase\n","chomp first":" x","indent first":" y","empty":"","in list":["x\n","y z"],"leading":"\nafter an empty line\n","trailing comment":"x\n","hash":"# not a comment\n","last":"x"}
            """#)
        #expect(try json("a: |\n  x") == #"{"a":"x"}"#)
        #expect(try json("a: |+\n  x\n\n\n") == #"{"a":"x\n\n\n"}"#)
        #expect(try json("a: >+\n  x\n  y\n\n") == #"{"a":"x y\n\n"}"#)
        #expect(try json("a: |+\n\n\nb: 1") == #"{"a":"\n\n","b":1}"#)
        #expect(try json("a: |\n  x\n     \n") == #"{"a":"x\n   \n"}"#)
        #expect(try json("a: |\n  \tx\n") == #"{"a":"\tx\n"}"#)
        #expect(try json("a: |+\n   \t\n\nb: 1") == #"{"a":"\t\n\n","b":1}"#)
        #expect(try json("a: >\n  x\n \t\nb: 1") == #"{"a":"x\n","b":1}"#)
        #expect(try json("--- |\n  top\n  level\n") == #""top\nlevel\n""#)
        #expect(try json("a: >\n  one\n\n\n  two\n  three\n") == #"{"a":"one\n\ntwo three\n"}"#)
    }

    @Test func flowCollections() throws {
        let text = """
            a: [1, "two", 'three', {x: 1, y: [a, b]}, [], {}]
            b: {k: v, "q k": 2, 'r': null, empty: , "json":"x", url: http://h:90/i}
            c: [
              one,   # a comment
              two
              three,
              {k: v,
               l: w},
            ]
            d: [a: 1, "b": [2], c]
            e: [http://x:1/y, a:b, a#b, -1, ~]
            f: {a:}
            g: [ ]
            h: {

            }
            """
        #expect(try json(text) == #"""
            {"a":[1,"two","three",{"x":1,"y":["a","b"]},[],{}],"b":{"k":"v","q k":2,"r":null,"empty":null,"json":"x","url":"http://h:90/i"},"c":["one","two three",{"k":"v","l":"w"}],"d":[{"a":1},{"b":[2]},"c"],"e":["http://x:1/y","a:b","a#b",-1,null],"f":{"a":null},"g":[],"h":{}}
            """#)
        #expect(try json(#"{"a": [1, 2.50, true], "b": {"c": null}}"#) == #"{"a":[1,2.50,true],"b":{"c":null}}"#)
        #expect(try json("[\n[\n1\n]\n]") == "[[1]]")
    }

    @Test func documentMarkersByteOrderMarkAndLineEnds() throws {
        #expect(try json("---\na: 1\n...\n") == #"{"a":1}"#)
        #expect(try json("# comment\n--- # start\na: 1\n... # end\n# after\n") == #"{"a":1}"#)
        #expect(try json("--- text\n") == #""text""#)
        #expect(try json("--- [1, 2]") == "[1,2]")
        #expect(try json("---\n---x: 1\n") == #"{"---x":1}"#)
        #expect(try json("a: b\n...\n") == #"{"a":"b"}"#)
        for empty in ["", "\n\n", "# only a comment\n", "---\n", "---\n...\n", "...\n"] {
            #expect(try YAMLReader.parse(empty) == .null, "\(empty.debugDescription)")
        }
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a: 1\r\nb: |\r\n  x\r\n  y\r\nc: \"p\r\n  q\"\r\n".utf8)
        #expect(try YAMLReader.parse(bytes).serialized == #"{"a":1,"b":"x\ny\n","c":"p q"}"#)
        #expect(try json("a: 1\rb: 2\r") == #"{"a":1,"b":2}"#)
        // A line number counts CRLF once.
        #expect(refusal("a: 1\r\n\r\nb: &x 2\r\n")?.line == 3)
    }

    @Test func emptyValuesAreNull() throws {
        #expect(try json("a:\nb:   # comment\nc:\n  \nd: ~\ne:") == #"{"a":null,"b":null,"c":null,"d":null,"e":null}"#)
        #expect(try json("-\n- \n-   # comment\n-") == "[null,null,null,null]")
        #expect(try json("a:\n  b:\nc: 1") == #"{"a":{"b":null},"c":1}"#)
    }

    /// Plain scalars resolve by the YAML 1.2 core schema; numbers keep their literal.
    @Test(arguments: [
        ("null", "null"), ("Null", "null"), ("NULL", "null"), ("~", "null"), ("", "null"),
        ("true", "true"), ("True", "true"), ("TRUE", "true"), ("false", "false"), ("False", "false"), ("FALSE", "false"),
        ("1.10", "1.10"), ("0", "0"), ("-0", "-0"), ("+1", "1"), ("+1.5e3", "1.5e3"), ("1e5", "1e5"), ("-2.5E-3", "-2.5E-3"),
        ("12345678901234567890", "12345678901234567890"), ("0.000", "0.000"),
        ("yes", #""yes""#), ("No", #""No""#), ("on", #""on""#), ("OFF", #""OFF""#), ("y", #""y""#),
        ("nULL", #""nULL""#), ("tRUE", #""tRUE""#), ("1.2.3", #""1.2.3""#), ("1_000", #""1_000""#), ("12:30", #""12:30""#),
        ("0x", #""0x""#), ("0xZZ", #""0xZZ""#), ("0o8", #""0o8""#), ("+", #""+""#), (".", #"".""#), ("1e", #""1e""#),
        ("2001-12-14", #""2001-12-14""#), ("-1-", #""-1-""#), ("inf", #""inf""#), (".infinity", #"".infinity""#),
        ("1.0.0-rc.1", #""1.0.0-rc.1""#),
    ])
    func scalarResolution(plain: String, expected: String) throws {
        #expect(try json("value: \(plain)") == #"{"value":"# + expected + "}")
        #expect(try json("[\(plain)]") == "[" + (plain.isEmpty ? "" : expected) + "]")
    }

    @Test func quotedScalarsAreAlwaysStrings() throws {
        #expect(try json(#"[ "true", 'null', "1.10", '~', "", "0x1F", '.inf' ]"#) == #"["true","null","1.10","~","","0x1F",".inf"]"#)
    }

    @Test func keys() throws {
        let text = """
            "quoted key": 1
            'single': 2
            plain key with spaces: 3
            1: one
            true: yes
            "": empty
            key with trailing spaces   : 4
            "<<": not a merge key
            "null": 5
            http://host:80/x: 6
            """
        #expect(try json(text) == #"""
            {"quoted key":1,"single":2,"plain key with spaces":3,"1":"one","true":"yes","":"empty","key with trailing spaces":4,"<<":"not a merge key","null":5,"http://host:80/x":6}
            """#)
        #expect(try YAMLReader.parse(text).objectValue?.keys.first == "quoted key")
    }

    // MARK: - Refusals

    /// Everything the reader does not read is refused at its line and column.
    @Test(arguments: [
        // Tabs, anchors, aliases, tags, merge keys, complex keys, documents, directives.
        ("a:\n\tb: 1", 2, 1, "a tab character in the indentation: indent with spaces"),
        ("a:\n  - x\n  \t- y", 3, 3, "a tab character in the indentation"),
        ("a: b\n \tc", 2, 2, "a tab character in the indentation"),
        ("a: &x 1", 1, 4, "anchors ('&name') are not supported"),
        ("- &a x", 1, 3, "anchors ('&name') are not supported"),
        ("a: *x", 1, 4, "aliases ('*name') are not supported"),
        ("a: [*x]", 1, 5, "aliases ('*name') are not supported"),
        ("a: !!str 1", 1, 4, "tags ('!tag') are not supported"),
        ("a: !x 1", 1, 4, "tags ('!tag') are not supported"),
        ("<<: {a: 1}", 1, 1, "merge keys ('<<') are not supported"),
        ("a: {<<: b}", 1, 5, "merge keys ('<<') are not supported"),
        ("? a\n: b", 1, 1, "complex keys ('? ') are not supported"),
        ("a: {? b: c}", 1, 5, "complex keys ('? ') are not supported"),
        ("a: 1\n---\nb: 2", 2, 1, "a second document ('---' after content): only one document per file is supported"),
        ("a: 1\n...\n---\nb: 2", 3, 1, "a second document: only one document per file is supported"),
        ("a: 1\n...\nb: 2", 3, 1, "content after the end of the document ('...')"),
        ("%YAML 1.2\n---\na: 1", 1, 1, "directives (%YAML, %TAG) are not supported"),
        ("# c\n%TAG ! tag:x,2000:\n---\n", 2, 1, "directives (%YAML, %TAG) are not supported"),
        // Duplicate keys.
        ("a: 1\nb: 2\na: 3", 3, 1, "duplicate key 'a'"),
        ("a: 1\n\"a\": 2", 2, 1, "duplicate key 'a'"),
        ("x:\n  - {a: 1, b: 2, a: 3}", 2, 18, "duplicate key 'a'"),
        // Indentation.
        ("a:\n    b: 1\n  c: 2", 3, 3, "bad indentation: this line is indented 2 spaces, which matches neither the keys of the mapping above (0) nor the block nested in it (4)"),
        ("a:\n  b: 1\n c: 2", 3, 2, "bad indentation: this line is indented 1 spaces, which matches neither the keys of the mapping above (0) nor the block nested in it (2)"),
        ("a: \"x\"\n  b: 2", 2, 3, "bad indentation: this line is more indented than the keys of the mapping above, but the entry on line 1 already has its value"),
        ("urls: [a]\n  - b", 2, 3, "bad indentation: this line is more indented than the keys of the mapping above, but the entry on line 1 already has its value"),
        ("- \"x\"\n  y", 2, 3, "bad indentation: this line is more indented than the '-' entries of the sequence above"),
        ("a: b\n  # c\n  d", 3, 3, "bad indentation: this line is more indented than the keys of the mapping above"),
        ("  a: 1\nb: 2", 2, 1, "bad indentation: this line is less indented than the start of the document (2 spaces)"),
        ("\"x\"\n\"y\"", 2, 1, "unexpected content: the document's top-level value is already complete"),
        ("a: 1\n  b: 2", 2, 3, "a 'key: value' line cannot continue the plain value that starts on line 1: check the indentation, or quote the value"),
        ("a: 1\n- b", 2, 1, "expected a key: this '- ' entry lines up with the keys of the mapping above"),
        ("- a\nb: 1", 2, 1, "expected '- ': this line lines up with the entries of the sequence above"),
        ("a:\n  - x\n  y: 1", 3, 3, "expected '- ': this line lines up with the entries of the sequence above"),
        ("a: 1\nb", 2, 1, "expected ':' after the key 'b' (each line of a mapping is 'key: value')"),
        // A value on the same line as its key, then nested content.
        ("urls: http://a\n  - http://b", 2, 3, "a line starting with '- ' cannot continue the plain value that starts on line 1: a key or '-' with its value on the same line cannot also have entries below it"),
        ("- a\n  - b", 2, 3, "a line starting with '- ' cannot continue the plain value that starts on line 1"),
        ("a: - b", 1, 4, "a block sequence cannot start on the same line as its key 'a': put the '- ' entries on the lines below, indented"),
        ("--- - a", 1, 5, "a block sequence cannot start on the same line as '---'"),
        ("a: b: c", 1, 5, "unexpected ':': a nested mapping must start on its own line (quote the value if ': ' is part of the text)"),
        ("--- a: 1", 1, 6, "unexpected ':': a nested mapping must start on its own line"),
        // Unterminated quotes and flow collections, and other flow mistakes.
        ("a: \"abc\nb: 2", 1, 4, "unterminated double-quoted string: this '\"' is never closed"),
        ("a: 'abc", 1, 4, "unterminated single-quoted string: this \"'\" is never closed"),
        ("a: \"abc\\", 1, 4, "unterminated double-quoted string"),
        ("a: [1, 2", 1, 4, "unterminated flow sequence: this '[' is never closed"),
        ("a: {x: [1, 2]", 1, 4, "unterminated flow mapping: this '{' is never closed"),
        ("a: [\"x\" y]", 1, 9, "expected ',' or ']' in the flow sequence opened at line 1, column 4"),
        ("a: {x: 1 y: 2}", 1, 11, "expected ',' or '}' in the flow mapping opened at line 1, column 4"),
        ("a: [1,\n---\n]", 2, 1, "a document marker inside the flow collection opened at line 1, column 4"),
        ("a: \"x\n---\n\"", 2, 1, "a document marker inside the double-quoted string opened at line 1, column 4"),
        ("[a, , b]", 1, 5, "an empty entry: a value is missing before ','"),
        ("{a: 1, , b: 2}", 1, 8, "an empty entry: a key is missing before ','"),
        ("{a}", 1, 3, "expected ':' after the key 'a' in the flow mapping opened at line 1, column 1"),
        ("{a:1}", 1, 5, "expected ':' after the key 'a:1'"),
        ("[[a]: b]", 1, 2, "a flow collection cannot be a key: keys must be strings"),
        ("[a\n: b]", 1, 2, "a key must be on a single line, with its ':'"),
        ("[a, - b]", 1, 5, "a block sequence entry ('- ') cannot be used inside a flow collection"),
        ("[a, |]", 1, 5, "block scalars ('|', '>') cannot be used inside a flow collection"),
        ("[a]: b", 1, 4, "a flow collection cannot be a key: keys must be strings"),
        ("[a] x", 1, 5, "unexpected 'x' after the value: only a comment may follow it on this line"),
        ("a: \"x\"#c", 1, 7, "a comment needs white space before '#'"),
        // Keys.
        ("null: 1", 1, 1, "a null key ('null') is not supported: keys must be strings (quote it)"),
        ("~: 1", 1, 1, "a null key ('~') is not supported"),
        (": 1", 1, 1, "a key is missing before ':'"),
        ("{a: 1, ~: 2}", 1, 8, "a null key ('~') is not supported"),
        ("\"a\":1", 1, 4, "unexpected ':'"),
        ("\"a\" :1", 1, 5, "unexpected ':'"),
        ("0x10: a", 1, 1, "hexadecimal numbers ('0x10') are not supported (write the decimal value); quote the value if it is text"),
        // Escapes and block scalar headers.
        (#"a: "\q""#, 1, 5, "invalid escape '\\q' in a double-quoted string"),
        (#"a: "\uD800x""#, 1, 5, "\\u escape of a lone surrogate: write the character as \\U followed by 8 hexadecimal digits"),
        (#"a: "\uDC00""#, 1, 5, "\\u escape of a lone surrogate"),
        (#"a: "\x4""#, 1, 5, "the escape '\\x' needs 2 hexadecimal digits"),
        (#"a: "\U00110000""#, 1, 5, "\\U escape of something that is not a Unicode character"),
        ("a: |0\n x", 1, 5, "the indentation indicator of a block scalar is a digit from 1 to 9"),
        ("a: |x\n x", 1, 5, "unexpected 'x' in a block scalar header"),
        ("a: |--\n x", 1, 6, "unexpected '-' in a block scalar header"),
        ("a: |\n      \n  x", 2, 1, "an empty line at the start of this block scalar has more spaces (6) than its first line (2)"),
        ("--- |2\n  x", 1, 5, "an indentation indicator on a top-level block scalar is not supported"),
        // Reserved characters and characters that are not text.
        ("a: @x", 1, 4, "'@' cannot start a plain value: quote the value"),
        ("a: `x`", 1, 4, "'`' cannot start a plain value: quote the value"),
        ("a: %x", 1, 4, "'%' cannot start a plain value: quote the value"),
        ("a: ]", 1, 4, "']' cannot start a plain value: quote the value"),
        ("a: \u{1}", 1, 4, "control character 0x1 is not allowed (write it as an escape in a double-quoted string)"),
        ("a: é\u{7F}", 1, 5, "control character 0x7F is not allowed"),
        ("a: \u{85}\u{9F}", 1, 5, "control character U+009F is not allowed"),
    ])
    func refusals(text: String, line: Int, column: Int, message: String) {
        guard let error = refusal(text) else {
            Issue.record("\(text.debugDescription) was read, not refused")
            return
        }
        #expect(error.line == line, "\(text.debugDescription): \(error)")
        #expect(error.column == column, "\(text.debugDescription): \(error)")
        #expect(error.message.hasPrefix(message), "\(text.debugDescription): \(error)")
    }

    /// Numbers the YAML 1.2 core schema reads but JSON cannot write as written: refused, not
    /// read as text or converted.
    @Test(arguments: [
        ("0x1F", "hexadecimal numbers ('0x1F') are not supported (write the decimal value); quote the value if it is text"),
        ("0o17", "octal numbers ('0o17') are not supported (write the decimal value); quote the value if it is text"),
        (".inf", "'.inf' is infinity in YAML, which JSON cannot hold; quote the value if it is text"),
        ("-.Inf", "'-.Inf' is infinity in YAML"), ("+.INF", "'+.INF' is infinity in YAML"),
        (".nan", "'.nan' is not-a-number in YAML, which JSON cannot hold"), (".NaN", "'.NaN' is not-a-number"),
        ("007", "'007' is a number in YAML but not written as JSON writes numbers (no leading zeros, digits on both sides of '.'); quote the value if it is text"),
        (".5", "'.5' is a number in YAML"), ("1.", "'1.' is a number in YAML"), ("+.5e3", "'+.5e3' is a number in YAML"),
        ("-01", "'-01' is a number in YAML"), ("1.e5", "'1.e5' is a number in YAML"),
    ])
    func numbersJSONCannotWriteAreRefused(plain: String, message: String) {
        let error = refusal("key: \(plain)")
        #expect(error?.line == 1)
        #expect(error?.column == 6)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
        #expect(refusal("[1, \(plain)]")?.column == 5)
    }

    @Test func invalidUTF8IsRefused() {
        for bytes: [UInt8] in [[0x61, 0x3A, 0x20, 0xFF], [0x61, 0x3A, 0x20, 0xC0, 0x80], [0x61, 0x3A, 0x20, 0xED, 0xA0, 0x80], [0x61, 0x3A, 0x20, 0xE2, 0x82]] {
            do {
                _ = try YAMLReader.parse(bytes)
                Issue.record("\(bytes) was read")
            } catch {
                #expect(error == YAMLSyntaxError(line: 1, column: 4, message: "invalid UTF-8"))
            }
        }
    }

    /// Columns count characters, not bytes; the description reads like JSONSyntaxError's.
    @Test func errorPositionsAndDescription() throws {
        let error = refusal("name: é\nvalues:\n  - 日本: &x 1\n")
        #expect(error?.line == 3)
        #expect(error?.column == 9)
        #expect(error?.description == "line 3, column 9: anchors ('&name') are not supported: repeat the value instead")
        do {
            _ = try JSONFileError.parseYAML(Array("a: 1\nb: 2\na: 3\n".utf8), file: "watch.yaml")
            Issue.record("read")
        } catch {
            #expect(error.location == "line 3, column 1")
            #expect(error.description == "watch.yaml: line 3, column 1: duplicate key 'a'")
        }
        #expect(try JSONFileError.parseYAML(Array("a: [1]".utf8), file: "watch.yaml") == .object(JSONObject([("a", .array([.number("1")]))])))
    }

    /// Nesting is capped at 512 levels, in flow and block form, without exhausting the stack.
    @Test func nestingIsCapped() throws {
        let limit = YAMLReader.maxDepth
        let flow = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try json(flow) == flow)
        #expect(refusal("[" + flow + "]")?.message == "nested more than 512 levels deep")
        #expect(refusal("[" + flow + "]")?.column == 513)
        #expect(refusal(String(repeating: "[", count: 1_000_000))?.message == "nested more than 512 levels deep")
        #expect(refusal(String(repeating: "{a: ", count: 200_000))?.message == "nested more than 512 levels deep")
        #expect(refusal(String(repeating: "- ", count: 200_000) + "x")?.message == "nested more than 512 levels deep")
        var block = ""
        for level in 0..<limit { block += String(repeating: " ", count: level) + "k:\n" }
        let value = try YAMLReader.parse(block)
        var inner = value
        for _ in 0..<(limit - 1) { inner = inner["k"] ?? .null }
        #expect(inner == .object(JSONObject([("k", .null)])))
        let deeper = block + String(repeating: " ", count: limit) + "k: 1\n"
        #expect(refusal(deeper) == YAMLSyntaxError(line: limit + 1, column: limit + 1, message: "nested more than 512 levels deep"))
        let sequences = String(repeating: "- ", count: limit) + "x"
        #expect(try YAMLReader.parse(sequences) != .null)
    }

    // MARK: - Watch manifests

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// schemas/manifest.example.json, written as YAML the way people write it.
    static let exampleManifest = """
        # The checkout team's fleet, as YAML.
        $schema: ./manifest.schema.json
        description: "The checkout team's fleet: versioncheck watch --manifest schemas/manifest.example.json"
        settings:
          unreachableAfter: 3
          remindEvery: 1h
          timeout: 5s
        channels:
          ops:
            type: webhook
            url: https://hooks.example.internal/deploys
            headers:
              Authorization: Bearer ${OPS_HOOK_TOKEN}
          team-slack: {type: slack, url: "${SLACK_WEBHOOK_URL}"}
          teams:
            type: teams
            url: ${TEAMS_WORKFLOW_URL}
            events: [deployed, rolled-back, drift]
          oncall:
            type: pagerduty
            routingKey: ${PAGERDUTY_ROUTING_KEY}
          mail:
            type: command
            command:
              - /usr/local/bin/mail-deploys
              - --to
              - releases@example.com
            events:
            - rolled-back

        services:
          - name: checkout
            environment: production
            urls:
              - http://checkout-1.internal:9090/info
              - http://checkout-2.internal:9090/info
            expect:
              file: /etc/deploys/checkout.version
            notify: [team-slack, ops, oncall, mail]

          - name: checkout
            environment: staging
            url: http://checkout.staging.internal:9090/info
            notify:
              - team-slack   # only the team hears about staging

          - name: payments
            environment: production
            url: https://payments.internal/actuator/info
            field: build.version
            headers:
              Authorization: "Bearer ${PAYMENTS_INFO_TOKEN}"
            expect:
              url: 'https://releases.internal/payments/production.json'
              field: version
            notify: [ops, oncall, teams]

        codedeploy:
          lookback: 24h
          registrations:
            - application: checkout
              deploymentGroups: [checkout-prod]
              notify: [team-slack, oncall]
            - {application: payments, notify: [ops], outcomes: [failed, stopped]}
        """

    @Test func manifestEqualsItsJSONTwin() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("schemas/manifest.example.json"))
        let fromJSON = try JSONParser(rejectDuplicateKeys: true).parse(Array(data))
        let fromYAML = try YAMLReader.parse(Self.exampleManifest)
        #expect(fromYAML.serialized == fromJSON.serialized)
        // JSON is YAML: the JSON file reads the same with the YAML reader.
        #expect(try YAMLReader.parse(Array(data)).serialized == fromJSON.serialized)
    }

    /// A watch manifest of about 5 MB, for timing.
    static func generatedManifest(bytes: Int) -> (text: String, services: Int) {
        var text = """
            settings:
              unreachableAfter: 3
              timeout: 5s
            channels:
              ops: {type: webhook, url: "https://hooks.example.internal/deploys"}
              team-slack:
                type: slack
                url: ${SLACK_WEBHOOK_URL}
            services:

            """
        var count = 0
        while text.utf8.count < bytes {
            text += """
                  - name: service-\(count)   # owned by team \(count % 17)
                    environment: \(count % 2 == 0 ? "production" : "staging")
                    urls:
                      - http://service-\(count)-1.internal:9090/info
                      - 'http://service-\(count)-2.internal:9090/info'
                    field: build.version
                    expect: {file: /etc/deploys/service-\(count).version}
                    headers:
                      Authorization: "Bearer ${TOKEN_\(count)}"
                    notify: [ops, team-slack]
                    description: >
                      Service number \(count),
                      watched every cycle.

                """
            count += 1
        }
        return (text, count)
    }

    /// A 5 MB manifest reads in time proportional to its size (a fifth of it takes about a fifth
    /// of the time; quadratic work would take 25 times as long), within a small factor of the
    /// JSON parser on the same document. Best of a few runs, as the machine is shared.
    @Test func largeManifestReadsInLinearTime() async throws {
        // Seconds of parsing in a debug build: on a thread of its own, not Swift's cooperative
        // pool, which other suites' servers and timers need meanwhile.
        let (value, services, full, small, jsonTime) = try await blocking { () throws -> (JSONValue, Int, Duration, Duration, Duration) in
            let (text, services) = Self.generatedManifest(bytes: 1_500_000)
            let (fifth, _) = Self.generatedManifest(bytes: 300_000)
            let bytes = Array(text.utf8), fifthBytes = Array(fifth.utf8)
            let clock = ContinuousClock()
            var value = JSONValue.null
            var full = Duration.seconds(3600), small = Duration.seconds(3600), jsonTime = Duration.seconds(3600)
            for _ in 0..<2 { full = min(full, try clock.measure { value = try YAMLReader.parse(bytes) }) }
            for _ in 0..<3 { small = min(small, try clock.measure { _ = try YAMLReader.parse(fifthBytes) }) }
            let json = Array(value.serialized.utf8)
            for _ in 0..<2 { jsonTime = min(jsonTime, try clock.measure { _ = try JSONParser().parse(json) }) }
            return (value, services, full, small, jsonTime)
        }
        print("YAML 1.5 MB: \(full), 0.3 MB: \(small); JSON parser on the same document: \(jsonTime)")
        #expect(value["services"]?.arrayValue?.count == services)
        let last = value["services"]?.arrayValue?.last
        #expect(last?["name"] == .string("service-\(services - 1)"))
        #expect(last?["description"] == .string("Service number \(services - 1), watched every cycle.\n"))
        #expect(last?["urls"]?.arrayValue?.count == 2)
        #expect(full < .seconds(30))
        #expect(full < small * 15, "1.5 MB took \(full), 0.3 MB \(small): not linear")
        #expect(full < jsonTime * 15 + .milliseconds(500), "YAML \(full) against JSON \(jsonTime)")
    }

    // MARK: - Hostile input

    /// Shapes that could make a careless reader quadratic or deep: each reads (or is refused)
    /// quickly.
    @Test func pathologicalInputsStayFast() async throws {
        let cases: [(String, String)] = [
            ("one long plain line", "a: " + String(repeating: "word ", count: 80_000)),
            ("a long line without a colon", String(repeating: "a", count: 400_000)),
            ("colons", String(repeating: ":", count: 200_000)),
            ("colon spaces", String(repeating: "a: ", count: 60_000)),
            ("spaces", String(repeating: " ", count: 400_000)),
            ("line breaks", String(repeating: "\n", count: 400_000)),
            ("comments", String(repeating: "# comment\n", count: 40_000)),
            ("empty entries", String(repeating: "-\n", count: 100_000)),
            ("long sequence lines", String(repeating: "- " + String(repeating: "x", count: 1_000) + "\n", count: 200)),
            ("long key-like lines", String(repeating: String(repeating: "k", count: 1_000) + ": v\n", count: 200)),
            ("escapes", "a: \"" + String(repeating: "\\n\\t\\u00e9", count: 40_000) + "\""),
            ("unterminated quote", "a: \"" + String(repeating: "text ", count: 80_000)),
            ("unterminated single quote", "a: '" + String(repeating: "x\n", count: 80_000)),
            ("continuation lines", "a: b\n" + String(repeating: "  more\n", count: 60_000)),
            ("block scalar", "a: |\n" + String(repeating: "  line\n\n", count: 60_000)),
            ("folded scalar", "a: >\n" + String(repeating: "  word\n   spaced\n", count: 40_000)),
            ("wide flow sequence", "[" + String(repeating: "a, ", count: 60_000) + "]"),
            ("wide flow mapping", "{" + (0..<20_000).map { "k\($0): v" }.joined(separator: ", ") + "}"),
            ("wide block mapping", (0..<20_000).map { "k\($0): v\n" }.joined()),
            ("unclosed flow", "a: [" + String(repeating: "b,\n", count: 60_000)),
            ("flow blank lines", "[a" + String(repeating: "\n", count: 100_000) + "]"),
            ("opening brackets", String(repeating: "[", count: 200_000)),
            ("opening braces", String(repeating: "{", count: 200_000)),
            ("dashes", String(repeating: "- ", count: 100_000)),
            ("quotes", String(repeating: "\"", count: 200_000)),
            ("many documents", String(repeating: "---\n", count: 20_000)),
        ]
        var slowest = (name: "", elapsed: Duration.zero)
        for (name, text) in cases {
            let clock = ContinuousClock()
            let elapsed = try await withTimeout(.seconds(60), name) {
                try await blocking {
                    clock.measure { _ = try? YAMLReader.parse(text) }
                }
            }
            #expect(elapsed < .seconds(10), "\(name): \(elapsed)")
            if elapsed > slowest.elapsed { slowest = (name, elapsed) }
        }
        print("slowest pathological input: \(slowest.name), \(slowest.elapsed)")
    }

    /// Thousands of mutated documents: each is read or refused with a position inside the
    /// text, never a crash or a hang.
    @Test func mutatedDocumentsAreReadOrRefused() async throws {
        var seeds = [Self.blockCollections, Self.exampleManifest]
        var generator = YAMLFixtures(seed: 7, yaml11: false)
        for _ in 0..<20 {
            let document = generator.document()
            seeds.append(generator.blockText(document))
            seeds.append(generator.flowText(document))
        }
        let inputs = seeds
        let problems = try await withTimeout(.seconds(120), "mutated documents") {
            try await blocking { () -> [String] in
                var random = YAMLFixtures.SeededGenerator(state: 0xF022)
                let alphabet = Array(" \n\t:-[]{},\"'#|>\\&*!?%@`~.0a+".utf8) + [0xC3, 0xA9, 0xFF, 0x0D]
                var problems: [String] = []
                for iteration in 0..<4000 {
                    var bytes = Array(inputs[iteration % inputs.count].utf8)
                    for _ in 0...Int.random(in: 0...3, using: &random) {
                        guard !bytes.isEmpty else { break }
                        let position = Int.random(in: 0..<bytes.count, using: &random)
                        switch Int.random(in: 0...3, using: &random) {
                        case 0: bytes[position] = alphabet.randomElement(using: &random) ?? 0x20
                        case 1: bytes.insert(alphabet.randomElement(using: &random) ?? 0x20, at: position)
                        case 2: bytes.remove(at: position)
                        default: bytes.removeSubrange(position...)
                        }
                    }
                    do {
                        _ = try YAMLReader.parse(bytes)
                    } catch let error as YAMLSyntaxError {
                        // A lone CR is a line break too.
                        let lines = 1 + bytes.indices.filter { bytes[$0] == 0x0A || (bytes[$0] == 0x0D && (($0 + 1) == bytes.count || bytes[$0 + 1] != 0x0A)) }.count
                        if error.line < 1 || error.line > lines || error.column < 1 || error.message.isEmpty {
                            problems.append("\(error) for \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                        }
                    } catch {
                        problems.append("\(error)")
                    }
                }
                return problems
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(3))")
    }

    // MARK: - Generated documents

    /// A few hundred generated documents, each written as block YAML and as flow YAML by a
    /// writer that varies styles, indentation, comments and scalar forms, read back equal
    /// (every tenth also with CRLF line ends and a byte order mark).
    @Test func generatedDocumentsRoundTrip() async throws {
        let failures = try await blocking { Self.roundTrip() }
        #expect(failures.isEmpty, "\(failures.count) documents differ; the first:\n\(failures.first ?? "")")
    }

    static func roundTrip() -> [String] {
        var fixtures = YAMLFixtures(seed: 0x59414D4C, yaml11: false)
        var failures: [String] = []
        for number in 0..<300 {
            let document = fixtures.document()
            var texts = [fixtures.blockText(document), fixtures.flowText(document)]
            if number % 10 == 0 { texts += texts.map { "\u{FEFF}" + $0.replacingOccurrences(of: "\n", with: "\r\n") } }
            for text in texts {
                do {
                    let read = try YAMLReader.parse(text)
                    if read.serialized != document.serialized {
                        failures.append("\(text)\nread as  \(read.serialized)\nexpected \(document.serialized)")
                    }
                } catch {
                    failures.append("\(text)\nrefused: \(error)\nexpected \(document.serialized)")
                }
            }
        }
        return failures
    }

    /// PyYAML's `safe_load` reads the same values from the same texts: generated documents in
    /// block and flow form (restricted to what YAML 1.1 reads as YAML 1.2 does) and the
    /// fixtures above that mean the same in both.
    @Test func agreesWithPyYAML() async throws {
        try await PythonPackages.ensure(modules: ["yaml"], packages: ["PyYAML"])
        var fixtures = YAMLFixtures(seed: 0x5079_594D, yaml11: true)
        var texts = [Self.blockCollections, Self.exampleManifest, Self.generatedManifest(bytes: 20_000).text]
        for _ in 0..<300 {
            let document = fixtures.document()
            texts.append(fixtures.blockText(document))
            texts.append(fixtures.flowText(document))
        }
        let script = """
            import json, sys, yaml
            results = []
            for text in json.load(sys.stdin):
                try:
                    results.append({"value": json.loads(json.dumps(yaml.safe_load(text)))})
                except Exception as error:
                    results.append({"error": type(error).__name__ + ": " + str(error)})
            json.dump(results, sys.stdout)
            """
        let input = JSONValue.array(texts.map { .string($0) }).serialized
        let python = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["nice", "-n", "19", "python3", "-c", script], stdin: Data(input.utf8))
        let status = try await python.run(timeout: .seconds(120))
        try #require(status == 0, "\(python.standardError.suffix(2000))")
        let results = try #require(try JSONParser().parse(python.standardOutput).arrayValue)
        try #require(results.count == texts.count)
        var disagreements: [String] = []
        for (text, result) in zip(texts, results) {
            let ours: JSONValue
            do {
                ours = try YAMLReader.parse(text)
            } catch {
                disagreements.append("\(text)\nrefused: \(error)\nPyYAML: \(result.serialized)")
                continue
            }
            guard let theirs = result["value"] else {
                disagreements.append("\(text)\nPyYAML: \(result["error"]?.stringValue ?? "?")\nours: \(ours.serialized)")
                continue
            }
            if !Self.sameData(ours, theirs) {
                disagreements.append("\(text)\nours:   \(ours.serialized)\nPyYAML: \(theirs.serialized)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(texts.count) texts read differently; the first:\n\(disagreements.first ?? "")")
    }

    /// Equal as data: numbers by value (PyYAML's `1.10` comes back as `1.1`), keys in order.
    static func sameData(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.number(let a), .number(let b)):
            return Double(a) == Double(b)
        case (.object(let a), .object(let b)):
            return a.keys == b.keys && a.members.allSatisfy { member in b[member.key].map { sameData(member.value, $0) } ?? false }
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { sameData($0, $1) }
        default:
            return left == right
        }
    }
}

/// Random JSON-like documents, and YAML texts for them in block and in flow style, with the
/// styles, indentation, comments and scalar forms chosen at random.
struct YAMLFixtures {
    /// SplitMix64: seeded, so that a failing generated document reproduces.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    var random: SeededGenerator
    /// Only numbers YAML 1.1 (PyYAML) reads as YAML 1.2 does.
    let yaml11: Bool
    var lines: [String] = []
    /// The last lines written are a `|+` scalar, which a blank line would become part of.
    var keepScalarOpen = false

    init(seed: UInt64, yaml11: Bool) {
        random = SeededGenerator(state: seed)
        self.yaml11 = yaml11
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }
    func spaces(_ count: Int) -> String { String(repeating: " ", count: max(count, 0)) }

    // MARK: Documents

    static let keyWords = ["name", "environment", "urls", "url", "expect", "notify", "type", "settings", "a", "b",
                           "key with spaces", "$schema", "x-y", "é", "日本", "http://host:80/x"]
    static let pieces = ["a", "word", "Checkout", "x y", "é", "日本", "🚀", " ", "  ", ":", ": ", " #", "#", "a#b", "-", "- ",
                         "?", "'", "\"", "\\", "\n", "\n\n", "\t", "\u{1}", "\u{7F}", "\u{85}", "\u{2028}", "[", "]", "{", "}", ",",
                         "&", "*", "!", "|", ">", "%", "@", "`", "~", "true", "null", "yes", "No", "on", "1.10", "007",
                         "0x1F", ".inf", "1_000", "12:30", "http://host:9090/info", "${SLACK_WEBHOOK_URL}", "---", "...",
                         "/", "$", "=", "<<", " a", "b ", "The quick brown fox", "x", "y", "z"]

    mutating func document() -> JSONValue {
        chance(0.85) ? object(depth: 0) : array(depth: 0)
    }

    mutating func value(depth: Int) -> JSONValue {
        if depth < 4, chance(0.35) { return chance(0.55) ? object(depth: depth + 1) : array(depth: depth + 1) }
        switch int(0...9) {
        case 0: return .null
        case 1: return .bool(chance(0.5))
        case 2, 3: return .number(number())
        default: return .string(string())
        }
    }

    mutating func object(depth: Int) -> JSONValue {
        var object = JSONObject()
        for _ in 0..<int(0...5) {
            let key = chance(0.6) ? pick(Self.keyWords) : string()
            if object[key] == nil { object[key] = value(depth: depth) }
        }
        return .object(object)
    }

    mutating func array(depth: Int) -> JSONValue {
        var items: [JSONValue] = []
        for _ in 0..<int(0...5) { items.append(value(depth: depth)) }
        return .array(items)
    }

    mutating func number() -> String {
        let sign = chance(0.3) ? "-" : ""
        let whole = chance(0.3) ? "0" : String(int(1...999_999))
        switch int(0...5) {
        case 0, 1: return sign + whole
        case 2: return sign + whole + "." + String(int(0...999)) + pick(["", "0", "00"])
        case 3: return sign + whole + "." + String(int(0...99)) + pick(["e", "E"]) + pick(["+", "-"]) + String(int(1...30))
        case 4: return yaml11 ? sign + whole : sign + whole + pick(["e", "E"]) + pick(["", "+", "-"]) + String(int(0...30))
        default: return yaml11 ? "1.10" : pick(["12345678901234567890", "-0", "0.000", "1.10", "-0.0e0"])
        }
    }

    mutating func string() -> String {
        var text = ""
        for _ in 0..<int(0...4) { text += pick(Self.pieces) }
        return text
    }

    // MARK: Block style

    mutating func blockText(_ document: JSONValue) -> String {
        lines = []
        keepScalarOpen = false
        if chance(0.2) { line("# a generated document") }
        if chance(0.3) { line(pick(["---", "--- # start"])) }
        switch document {
        case .object(let object) where !object.isEmpty:
            mapping(object, indent: 0)
        case .array(let items) where !items.isEmpty:
            sequence(items, indent: 0)
        default:
            emit(prefix: nil, scalar(document, parent: -1))
        }
        if chance(0.2) { line("...") }
        return lines.joined(separator: "\n") + "\n"
    }

    mutating func line(_ text: String) {
        lines.append(text)
        keepScalarOpen = false
    }

    /// A comment or blank line between entries (never more indented than the entries).
    mutating func separator(indent: Int) {
        if chance(0.1) { line(spaces(int(0...indent)) + "# between entries") }
        if chance(0.05), !keepScalarOpen { line("") }
    }

    mutating func comment() -> String { chance(0.15) ? "  # note" : "" }

    mutating func mapping(_ object: JSONObject, indent: Int) {
        for (position, member) in object.members.enumerated() {
            if position > 0 { separator(indent: indent) }
            let prefix = spaces(indent) + key(member.key) + ":"
            switch member.value {
            case .object(let inner) where !inner.isEmpty && !chance(0.15):
                line(prefix + comment())
                mapping(inner, indent: indent + int(1...4))
            case .array(let items) where !items.isEmpty && !chance(0.15):
                line(prefix + comment())
                sequence(items, indent: chance(0.4) ? indent : indent + int(1...4))
            default:
                emit(prefix: prefix, scalar(member.value, parent: indent))
            }
        }
    }

    mutating func sequence(_ items: [JSONValue], indent: Int) {
        let dash = spaces(indent) + "-"
        for (position, item) in items.enumerated() {
            if position > 0 { separator(indent: indent) }
            let first = lines.count
            switch item {
            case .object(let inner) where !inner.isEmpty && !chance(0.15):
                if chance(0.6) {
                    mapping(inner, indent: indent + 2)
                    lines[first] = dash + " " + lines[first].dropFirst(indent + 2)
                } else {
                    line(dash + comment())
                    mapping(inner, indent: indent + int(1...4))
                }
            case .array(let inner) where !inner.isEmpty && !chance(0.15):
                if chance(0.5) {
                    sequence(inner, indent: indent + 2)
                    lines[first] = dash + " " + lines[first].dropFirst(indent + 2)
                } else {
                    line(dash + comment())
                    sequence(inner, indent: indent + int(1...4))
                }
            default:
                emit(prefix: dash, scalar(item, parent: indent))
            }
        }
    }

    /// A scalar (or flow collection) as written: its lines, whether a comment may follow the
    /// first, and whether it is a `|+` scalar.
    typealias Written = (text: String, commentable: Bool, keep: Bool)

    /// Writes a scalar after `prefix` (`key:` or `-`), its first line on the prefix's line.
    mutating func emit(prefix: String?, _ written: Written) {
        let parts = written.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var first = parts[0]
        if let prefix { first = first.isEmpty ? prefix : prefix + " " + first }
        if written.commentable, parts.count == 1 { first += comment() }
        line(first)
        for part in parts.dropFirst() { lines.append(part) }
        keepScalarOpen = written.keep
    }

    mutating func scalar(_ value: JSONValue, parent: Int) -> Written {
        switch value {
        case .null:
            return (pick(["null", "~", "", "Null", "NULL"]), true, false)
        case .bool(let flag):
            return (flag ? pick(["true", "True", "TRUE"]) : pick(["false", "False", "FALSE"]), true, false)
        case .number(let literal):
            return (!literal.hasPrefix("-") && chance(0.2) ? "+" + literal : literal, true, false)
        case .object, .array:
            return (flowNode(value, indent: parent + 2), true, false)
        case .string(let text):
            return string(text, parent: parent)
        }
    }

    enum Style {
        case plain, single, double, literal, folded
    }

    mutating func string(_ text: String, parent: Int) -> Written {
        var styles: [Style] = [.double]
        if Self.plainSafe(text, flow: false) { styles += [.plain, .plain] }
        if Self.singleQuotable(text, breaks: true) { styles.append(.single) }
        if parent >= 0, Self.literalSafe(text) { styles += [.literal, .literal] }
        if parent >= 0, Self.foldedSafe(text) { styles.append(.folded) }
        let indent = parent + int(1...3)
        switch pick(styles) {
        case .plain: return (plain(text, indent: indent), true, false)
        case .single: return (singleQuoted(text, indent: indent, breaks: true), true, false)
        case .double: return (doubleQuoted(text, indent: indent, breaks: true), true, false)
        case .literal: return literal(text, parent: parent)
        case .folded: return (folded(text, parent: parent), true, false)
        }
    }

    /// A plain scalar YAML 1.2 and 1.1 both read as this text, in block or flow context.
    static func plainSafe(_ text: String, flow: Bool) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic || first == "/" || first == "$" else { return false }
        guard !text.hasSuffix(" "), !text.hasSuffix(":"), !text.contains(": "), !text.contains(" #") else { return false }
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) && $0.value != 0x2028 && $0.value != 0x2029 }) else {
            return false
        }
        if flow, text.contains(where: { ",[]{}?".contains($0) }) { return false }
        return !["null", "true", "false", "yes", "no", "on", "off", "y", "n"].contains(text.lowercased())
    }

    static func printable(_ scalar: Unicode.Scalar, tab: Bool, newline: Bool) -> Bool {
        switch scalar.value {
        case 0x09: return tab
        case 0x0A: return newline
        case 0..<0x20, 0x7F, 0x80...0x9F, 0x2028, 0x2029, 0xFEFF: return false
        default: return true
        }
    }

    static func white(_ scalars: [Unicode.Scalar], _ index: Int) -> Bool {
        index < 0 || index >= scalars.count || scalars[index] == " " || scalars[index] == "\t" || scalars[index] == "\n"
    }

    /// Single quotes can hold it: no control characters; line breaks (written as empty lines)
    /// only between characters that are not white space.
    static func singleQuotable(_ text: String, breaks: Bool) -> Bool {
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            guard printable(scalar, tab: true, newline: breaks) else { return false }
            if scalar == "\n" {
                var before = index - 1
                while before >= 0, scalars[before] == "\n" { before -= 1 }
                var after = index + 1
                while after < scalars.count, scalars[after] == "\n" { after += 1 }
                if white(scalars, before) || white(scalars, after) { return false }
            }
        }
        return true
    }

    static func literalSafe(_ text: String) -> Bool {
        var body = Substring(text)
        while body.hasSuffix("\n") { body.removeLast() }
        return text.contains("\n") && !body.isEmpty && text.unicodeScalars.allSatisfy { printable($0, tab: true, newline: true) }
    }

    static func foldedSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first != " ", first != "\t" else { return false }
        return text.unicodeScalars.allSatisfy { printable($0, tab: true, newline: false) }
    }

    /// Folds at single spaces between words (a continuation line starts with a letter or digit).
    mutating func plain(_ text: String, indent: Int) -> String {
        let characters = Array(text)
        var written = ""
        for (index, character) in characters.enumerated() {
            if character == " ", index > 0, index + 1 < characters.count, characters[index - 1] != " ",
               characters[index + 1].isLetter || characters[index + 1].isNumber, chance(0.25) {
                written += "\n" + spaces(indent)
            } else {
                written.append(character)
            }
        }
        return written
    }

    mutating func singleQuoted(_ text: String, indent: Int, breaks: Bool) -> String {
        let scalars = Array(text.unicodeScalars)
        var written = "'"
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" {
                var end = index
                while end < scalars.count, scalars[end] == "\n" { end += 1 }
                written += String(repeating: "\n", count: end - index + 1) + spaces(indent)
                index = end
                continue
            }
            if scalar == "'" {
                written += "''"
            } else if scalar == " ", breaks, !Self.white(scalars, index - 1), !Self.white(scalars, index + 1), chance(0.2) {
                written += "\n" + spaces(indent)
            } else {
                written.unicodeScalars.append(scalar)
            }
            index += 1
        }
        return written + "'"
    }

    mutating func doubleQuoted(_ text: String, indent: Int, breaks: Bool) -> String {
        let scalars = Array(text.unicodeScalars)
        var written = "\""
        let uppercase = chance(0.5)
        func hex(_ value: UInt32, _ digits: Int) -> String {
            let text = String(value, radix: 16, uppercase: uppercase)
            return String(repeating: "0", count: max(digits - text.count, 0)) + text
        }
        for (index, scalar) in scalars.enumerated() {
            let value = scalar.value
            let foldable = breaks && !Self.white(scalars, index - 1) && !Self.white(scalars, index + 1)
            switch scalar {
            case "\"": written += "\\\""
            case "\\": written += "\\\\"
            case "\n": written += foldable && chance(0.4) ? "\n\n" + spaces(indent) : "\\n"
            case "\t": written += pick(["\\t", "\t", "\\\t"])
            case " ": written += foldable && chance(0.2) ? "\n" + spaces(indent) : " "
            case "/": written += chance(0.2) ? "\\/" : "/"
            default:
                if !Self.printable(scalar, tab: true, newline: true) {
                    let named: [UInt32: String] = [0: "\\0", 7: "\\a", 8: "\\b", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r", 0x1B: "\\e",
                                                   0x85: "\\N", 0x2028: "\\L", 0x2029: "\\P"]
                    if let name = named[value], chance(0.5) {
                        written += name
                    } else {
                        written += value <= 0xFF && chance(0.5) ? "\\x" + hex(value, 2) : "\\u" + hex(value, 4)
                    }
                } else if value > 0x7F, chance(0.3) {
                    written += value > 0xFFFF ? "\\U" + hex(value, 8) : "\\u" + hex(value, 4)
                } else {
                    if breaks, index > 0, chance(0.05) { written += "\\\n" + spaces(indent) }
                    written.unicodeScalars.append(scalar)
                }
            }
        }
        return written + "\""
    }

    /// `|`, `|-` or `|+` with the lines indented under the parent (with an indentation
    /// indicator when the first line starts with a space, or at random).
    mutating func literal(_ text: String, parent: Int) -> Written {
        var body = Substring(text)
        var trailing = 0
        while body.hasSuffix("\n") {
            body.removeLast()
            trailing += 1
        }
        let bodyLines = body.split(separator: "\n", omittingEmptySubsequences: false)
        let step = int(1...3)
        let needsIndicator = bodyLines.first { !$0.isEmpty }?.first == " "
        let chomping = trailing == 0 ? "-" : trailing == 1 ? "" : "+"
        let indicator = needsIndicator || chance(0.2) ? String(step) : ""
        var written = "|" + (chance(0.5) ? indicator + chomping : chomping + indicator) + comment()
        for bodyLine in bodyLines {
            written += "\n" + (bodyLine.isEmpty ? (chance(0.5) ? "" : spaces(parent + step)) : spaces(parent + step) + bodyLine)
        }
        written += String(repeating: "\n", count: max(trailing - 1, 0))
        return (written, false, trailing > 1)
    }

    /// `>-`, folded at single spaces between words.
    mutating func folded(_ text: String, parent: Int) -> String {
        let step = int(1...3)
        let scalars = Array(text.unicodeScalars)
        var written = ">-" + comment() + "\n" + spaces(parent + step)
        for (index, scalar) in scalars.enumerated() {
            if scalar == " ", !Self.white(scalars, index - 1), !Self.white(scalars, index + 1), chance(0.3) {
                written += "\n" + spaces(parent + step)
            } else {
                written.unicodeScalars.append(scalar)
            }
        }
        return written
    }

    mutating func key(_ text: String) -> String {
        if Self.plainSafe(text, flow: false), chance(0.7) { return text }
        if Self.singleQuotable(text, breaks: false), chance(0.5) { return singleQuoted(text, indent: 0, breaks: false) }
        return doubleQuoted(text, indent: 0, breaks: false)
    }

    // MARK: Flow style

    mutating func flowText(_ document: JSONValue) -> String {
        var text = ""
        if chance(0.2) { text += "# a generated document\n" }
        if chance(0.3) { text += "---\n" }
        return text + flowNode(document, indent: 0) + "\n"
    }

    /// White space between flow tokens: nothing, a space, a line break, or a comment.
    mutating func gap(_ indent: Int) -> String {
        switch int(0...9) {
        case 0...3: return " "
        case 4...5: return ""
        case 6...8: return "\n" + spaces(indent + int(0...2))
        default: return "  # in a flow\n" + spaces(indent)
        }
    }

    mutating func flowNode(_ value: JSONValue, indent: Int) -> String {
        switch value {
        case .object(let object):
            if object.isEmpty { return pick(["{}", "{ }"]) }
            var written = "{" + gap(indent)
            for (position, member) in object.members.enumerated() {
                if position > 0 { written += "," + gap(indent) }
                written += flowMember(member.key, member.value, indent: indent)
            }
            if chance(0.2) { written += "," }
            return written + gap(indent) + "}"
        case .array(let items):
            if items.isEmpty { return pick(["[]", "[ ]"]) }
            var written = "[" + gap(indent)
            for (position, item) in items.enumerated() {
                if position > 0 { written += "," + gap(indent) }
                if case .object(let object) = item, object.count == 1, let member = object.members.first, chance(0.3) {
                    written += flowMember(member.key, member.value, indent: indent)
                } else {
                    written += flowNode(item, indent: indent + 2)
                }
            }
            if chance(0.2) { written += "," }
            return written + gap(indent) + "]"
        case .null:
            return pick(["null", "~", "Null"])
        case .string(let text):
            if Self.plainSafe(text, flow: true), chance(0.6) { return plain(text, indent: indent) }
            if Self.singleQuotable(text, breaks: true), chance(0.4) { return singleQuoted(text, indent: indent, breaks: true) }
            return doubleQuoted(text, indent: indent, breaks: true)
        default:
            return scalar(value, parent: indent).text
        }
    }

    /// `key: value`; a null value may be left out, and a quoted key may take its value
    /// without a space (`"a":1`).
    mutating func flowMember(_ key: String, _ value: JSONValue, indent: Int) -> String {
        let plainKey = Self.plainSafe(key, flow: true) && chance(0.7)
        let written = plainKey ? key : chance(0.5) && Self.singleQuotable(key, breaks: false)
            ? singleQuoted(key, indent: 0, breaks: false) : doubleQuoted(key, indent: 0, breaks: false)
        if value == .null, chance(0.3) { return written + pick([":", ": "]) }
        return written + (plainKey || chance(0.5) ? ": " : ":") + flowNode(value, indent: indent + 2)
    }
}
