import Foundation
import Testing
import TestSupport
@testable import DeployVerifyKit

/// SHA-256 and HMAC against NIST and RFC 4231, the signer against AWS's published examples and
/// its SigV4 test suite, and against botocore itself on hundreds of generated requests.
@Suite("SigV4 signing")
struct SigV4Tests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    // MARK: - SHA-256 and HMAC

    @Test func sha256MatchesTheNISTExamples() {
        #expect(SHA256.hash([UInt8]()).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash("abc".utf8).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8).hexString
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let long = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
        #expect(SHA256.hash(Array(long.utf8)).hexString == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func sha256OfAMillionAsInOneGoInOddChunksAndFromANonContiguousCollection() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hash(million).hexString == expected)
        // A Repeated<UInt8> has no contiguous storage: the byte-by-byte path.
        #expect(SHA256.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000)).hexString == expected)
        for sizes in [[1], [63], [64], [65], [1, 2, 3, 5, 7, 11, 13, 127, 4093], [55, 56, 57, 119, 120, 121]] {
            var hasher = SHA256()
            var offset = 0, turn = 0
            while offset < million.count {
                let end = min(million.count, offset + sizes[turn % sizes.count])
                hasher.update(million[offset..<end])
                offset = end
                turn += 1
            }
            #expect(hasher.finalize().hexString == expected, "chunk sizes \(sizes)")
        }
        // finalize() leaves the hasher as it was.
        var hasher = SHA256()
        hasher.update("ab".utf8)
        _ = hasher.finalize()
        hasher.update("c".utf8)
        #expect(hasher.finalize().hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func paddingAtEveryLengthAroundTheBlockBoundary() {
        // Lengths 0…200 hashed whole and in two parts agree; 55/56/64 cross the padding edge.
        let bytes = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in 0...200 {
            let whole = SHA256.hash(bytes[..<length])
            var parts = SHA256()
            parts.update(bytes[..<(length / 3)])
            parts.update(bytes[(length / 3)..<length])
            #expect(parts.finalize() == whole, "length \(length)")
        }
        #expect(SHA256.hash(bytes[..<55]).hexString != SHA256.hash(bytes[..<56]).hexString)
    }

    /// RFC 4231 section 4, test cases 1 to 7 (case 5 is compared on its first 128 bits).
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8),
         "a3b6167473100ee06e0c796c2955552b"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func hmacMatchesRFC4231(key: [UInt8], data: [UInt8], expected: String) {
        let mac = HMACSHA256.authenticate(data, key: key)
        #expect(mac.count == 32)
        #expect(mac.prefix(expected.count / 2).hexString == expected)
        // A keyed instance gives the same MAC, message after message.
        let keyed = HMACSHA256(key: key)
        #expect(keyed.authenticate(data) == mac)
        #expect(keyed.authenticate(data) == mac)
    }

    @Test func hexStringIsLowercaseTwoDigitsPerByte() {
        #expect([0x00, 0x0f, 0xa0, 0xff].hexString == "000fa0ff")
        #expect([UInt8]().hexString == "")
        #expect(Data([0xde, 0xad]).hexString == "dead")
    }

    // MARK: - AWS's published examples

    static let exampleCredentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let exampleDate = Date(timeIntervalSince1970: 1_440_938_160) // 2015-08-30T12:36:00Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The IAM ListUsers request of AWS's "Signature Version 4 signing process" / "Create a
    /// signed AWS API request" documentation.
    @Test func iamListUsersExample() throws {
        let signature = try SigV4Signer(service: "iam", region: "us-east-1").sign(
            method: "GET", url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], payload: .empty,
            credentials: Self.exampleCredentials, date: Self.exampleDate)
        #expect(signature.canonicalRequest == """
            GET
            /
            Action=ListUsers&Version=2010-05-08
            content-type:application/x-www-form-urlencoded; charset=utf-8
            host:iam.amazonaws.com
            x-amz-date:20150830T123600Z

            content-type;host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signature.stringToSign == """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/iam/aws4_request
            f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59
            """)
        #expect(signature.signature == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
        #expect(signature.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
        #expect(signature.headers.map(\.name) == ["Host", "X-Amz-Date", "Authorization"])
        #expect(signature.value(of: "host") == "iam.amazonaws.com")
        #expect(signature.value(of: "x-amz-date") == "20150830T123600Z")
    }

    /// "GET Object" of the S3 API reference's "Signature Calculations for the Authorization
    /// Header: Transferring Payload in a Single Chunk".
    @Test func s3GetObjectExample() throws {
        let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let signature = try SigV4Signer(service: "s3", region: "us-east-1").sign(
            method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt", headers: [("Range", "bytes=0-9")],
            payload: .empty, credentials: credentials, date: Date(timeIntervalSince1970: 1_369_353_600)) // 2013-05-24
        #expect(signature.canonicalRequest == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signature.stringToSign.hasSuffix("\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        #expect(signature.authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signature.value(of: "X-Amz-Content-SHA256") == Self.emptyHash)
    }

    /// A case of AWS's SigV4 test suite (aws-c-auth's, as botocore keeps it in
    /// tests/unit/auth/aws4_testsuite): service `service`, us-east-1, 20150830T123600Z, the
    /// path given raw as the suite's request line has it.
    struct SuiteCase: Sendable, CustomTestStringConvertible {
        var name: String
        var method = "GET"
        var target: String
        var headers: [(name: String, value: String)] = []
        var body = ""
        var token: String?
        var canonicalURI = "/"
        var canonicalQuery = ""
        var canonicalHeaders: [String] = []
        var signature: String

        var testDescription: String { name }
    }

    static let stsToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
    static let vanilla = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    static let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    static let suite: [SuiteCase] = [
        SuiteCase(name: "get-vanilla", target: "/", signature: vanilla),
        SuiteCase(name: "get-vanilla-query-order-key-case", target: "/?Param2=value2&Param1=value1",
                  canonicalQuery: "Param1=value1&Param2=value2", signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        SuiteCase(name: "get-vanilla-query-order-key", target: "/?Param1=value2&Param1=Value1",
                  canonicalQuery: "Param1=Value1&Param1=value2", signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
        SuiteCase(name: "get-vanilla-query-order-value", target: "/?Param1=value2&Param1=value1",
                  canonicalQuery: "Param1=value1&Param1=value2", signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
        SuiteCase(name: "get-vanilla-query-order-encoded", target: "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
                  canonicalQuery: "%E1%88%B4=Value1&Param=Value2&Param-3=Value3",
                  signature: "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
        SuiteCase(name: "get-vanilla-query-unreserved", target: "/?\(unreserved)=\(unreserved)",
                  canonicalQuery: "\(unreserved)=\(unreserved)", signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
        SuiteCase(name: "get-vanilla-utf8-query", target: "/?ሴ=bar", canonicalQuery: "%E1%88%B4=bar",
                  signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
        SuiteCase(name: "get-vanilla-empty-query-key", target: "/?Param1=value1", canonicalQuery: "Param1=value1",
                  signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
        SuiteCase(name: "get-unreserved", target: "/\(unreserved)", canonicalURI: "/\(unreserved)",
                  signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        SuiteCase(name: "get-utf8", target: "/ሴ", canonicalURI: "/%E1%88%B4",
                  signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        SuiteCase(name: "normalize-path/get-space", target: "/example space/", canonicalURI: "/example%20space/",
                  signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
        SuiteCase(name: "normalize-path/get-slashes", target: "//example//", canonicalURI: "/example/",
                  signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
        SuiteCase(name: "normalize-path/get-slash", target: "//", signature: vanilla),
        SuiteCase(name: "normalize-path/get-relative", target: "/example/..", signature: vanilla),
        SuiteCase(name: "normalize-path/get-relative-relative", target: "/example1/example2/../..", signature: vanilla),
        SuiteCase(name: "normalize-path/get-slash-dot-slash", target: "/./", signature: vanilla),
        SuiteCase(name: "normalize-path/get-slash-pointless-dot", target: "/./example", canonicalURI: "/example",
                  signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
        SuiteCase(name: "normalize-path/get-special-character", target: "/example/$delete", canonicalURI: "/example/%24delete",
                  signature: "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27"),
        SuiteCase(name: "get-header-key-duplicate", target: "/",
                  headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
                  canonicalHeaders: ["my-header1:value2,value2,value1"], signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        SuiteCase(name: "get-header-value-order", target: "/",
                  headers: [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
                  canonicalHeaders: ["my-header1:value4,value1,value3,value2"],
                  signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
        SuiteCase(name: "get-header-value-trim", target: "/", headers: [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
                  canonicalHeaders: ["my-header1:value1", "my-header2:\"a b c\""],
                  signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        SuiteCase(name: "get-header-value-multiline", target: "/", headers: [("My-Header1", "value1\n  value2\n     value3")],
                  canonicalHeaders: ["my-header1:value1 value2 value3"],
                  signature: "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"),
        SuiteCase(name: "get-vanilla-with-session-token", target: "/",
                  token: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                  canonicalHeaders: ["x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"],
                  signature: "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
        SuiteCase(name: "post-vanilla", method: "POST", target: "/", signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SuiteCase(name: "post-vanilla-query", method: "POST", target: "/?Param1=value1", canonicalQuery: "Param1=value1",
                  signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
        SuiteCase(name: "post-header-key-case", method: "POST", target: "/",
                  signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SuiteCase(name: "post-header-key-sort", method: "POST", target: "/", headers: [("My-Header1", "value1")],
                  canonicalHeaders: ["my-header1:value1"], signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
        SuiteCase(name: "post-header-value-case", method: "POST", target: "/", headers: [("My-Header1", "VALUE1")],
                  canonicalHeaders: ["my-header1:VALUE1"], signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        SuiteCase(name: "post-sts-token/post-sts-header-before", method: "POST", target: "/",
                  headers: [("X-Amz-Security-Token", stsToken)], token: stsToken,
                  canonicalHeaders: ["x-amz-security-token:\(stsToken)"],
                  signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
        SuiteCase(name: "post-x-www-form-urlencoded", method: "POST", target: "/",
                  headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1",
                  canonicalHeaders: ["content-type:application/x-www-form-urlencoded"],
                  signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        SuiteCase(name: "post-x-www-form-urlencoded-parameters", method: "POST", target: "/",
                  headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf8")], body: "Param1=value1",
                  canonicalHeaders: ["content-type:application/x-www-form-urlencoded; charset=utf8"],
                  signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"),
    ]

    @Test(arguments: suite)
    func awsSigV4TestSuite(_ test: SuiteCase) throws {
        var credentials = Self.exampleCredentials
        credentials.sessionToken = test.token
        // As in the suite's requests: Host and X-Amz-Date given (the signer sets the latter anew).
        let headers = [("Host", "example.amazonaws.com")] + test.headers + [("X-Amz-Date", "20150830T123600Z")]
        let signature = try SigV4Signer(service: "service", region: "us-east-1").sign(
            method: test.method, url: "https://example.amazonaws.com" + test.target, headers: headers,
            payload: .body(Array(test.body.utf8)), credentials: credentials, date: Self.exampleDate)
        let headerLines = (["host:example.amazonaws.com", "x-amz-date:20150830T123600Z"] + test.canonicalHeaders).sorted()
        let signed = headerLines.map { String($0.prefix { $0 != ":" }) }.joined(separator: ";")
        let payloadHash = SHA256.hash(Array(test.body.utf8)).hexString
        let expected = [test.method, test.canonicalURI, test.canonicalQuery] + headerLines + ["", signed, payloadHash]
        #expect(signature.canonicalRequest == expected.joined(separator: "\n"))
        #expect(signature.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=\(signed), Signature=\(test.signature)")
        #expect(signature.value(of: "Host") == nil, "the caller gave Host")
    }

    // MARK: - Rules

    static let signer = SigV4Signer(service: "dynamodb", region: "eu-west-3")
    static let credentials = AWSCredentials(accessKeyID: "AKIAEXAMPLEEXAMPLE12", secretAccessKey: "s3cr3t/Secret+Key/0123456789abcdefghijkl",
                                            sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+value==")

    @Test func hostHeaderComesFromTheURL() throws {
        for (url, host) in [
            ("https://DynamoDB.EU-West-3.amazonaws.com/", "dynamodb.eu-west-3.amazonaws.com"),
            ("https://dynamodb.eu-west-3.amazonaws.com:443/", "dynamodb.eu-west-3.amazonaws.com"),
            ("http://localhost:80", "localhost"),
            ("http://localhost:8000/x", "localhost:8000"),
            ("https://127.0.0.1:8443?x=1", "127.0.0.1:8443"),
            ("http://127.0.0.1:443/", "127.0.0.1:443"),
            ("https://user:password@example.com/", "example.com"),
            ("https://[::1]:9000/", "[::1]:9000"),
            ("https://example.com:/", "example.com"),
        ] {
            let signature = try Self.signer.sign(method: "GET", url: url, headers: [], payload: .empty, credentials: Self.credentials,
                                                 date: Self.exampleDate)
            #expect(signature.value(of: "Host") == host, "\(url)")
            #expect(signature.canonicalRequest.contains("\nhost:\(host)\n"), "\(url)")
        }
    }

    @Test func paths() throws {
        func canonicalURI(_ service: String, _ url: String) throws -> String {
            let signature = try SigV4Signer(service: service, region: "us-east-1").sign(
                method: "GET", url: url, headers: [], payload: .empty, credentials: Self.credentials, date: Self.exampleDate)
            return String(signature.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[1])
        }
        // Other services: normalised, then encoded again (the path as sent is encoded once).
        #expect(try canonicalURI("codedeploy", "https://h/a%20b/%E1%88%B4/c%2Fd/~x+y=z") == "/a%2520b/%25E1%2588%25B4/c%252Fd/~x%2By%3Dz")
        #expect(try canonicalURI("codedeploy", "https://h//a/./b/../c//") == "/a/c/")
        #expect(try canonicalURI("codedeploy", "https://h") == "/")
        #expect(try canonicalURI("codedeploy", "https://h?x=1") == "/")
        #expect(try canonicalURI("codedeploy", "https://h/../..") == "/")
        #expect(try canonicalURI("codedeploy", "https://h/a/%2E%2E/b") == "/a/%252E%252E/b")
        #expect(try canonicalURI("codedeploy", "https://h/ü#fragment") == "/%C3%BC")
        // S3: exactly as sent.
        #expect(try canonicalURI("s3", "https://b.s3.amazonaws.com/my-object//example//photo.user") == "/my-object//example//photo.user")
        #expect(try canonicalURI("s3", "https://b.s3.amazonaws.com/a/./b/../%2F%20~+=") == "/a/./b/../%2F%20~+=")
        #expect(try canonicalURI("s3", "https://b.s3.amazonaws.com") == "/")
    }

    @Test func queries() throws {
        func canonicalQuery(_ query: String) throws -> String {
            let signature = try Self.signer.sign(method: "GET", url: "https://h/?" + query, headers: [], payload: .empty,
                                                 credentials: Self.credentials, date: Self.exampleDate)
            return String(signature.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2])
        }
        #expect(try canonicalQuery("b=2&a=1&a=0&A=3") == "A=3&a=0&a=1&b=2")
        #expect(try canonicalQuery("acl") == "acl=")
        #expect(try canonicalQuery("list-type=2&prefix=") == "list-type=2&prefix=")
        // Decoded, then encoded with only the unreserved characters bare; '+' is a plus.
        #expect(try canonicalQuery("k=a+b&s=a%20b&t=%7e&u=%2f&v=a=b") == "k=a%2Bb&s=a%20b&t=~&u=%2F&v=a%3Db")
        #expect(try canonicalQuery("x=%zz&y=%&z=%4") == "x=%25zz&y=%25&z=%254")
        #expect(try canonicalQuery("ü=%c3%bc") == "%C3%BC=%C3%BC")
        // Not UTF-8 once decoded: U+FFFD, as botocore (Python's unquote) and AWS's servers have it.
        #expect(try canonicalQuery("bad=%FF") == "bad=%EF%BF%BD")
        // Sorted by name, then value: "a" before "a-b" although '-' sorts before '='.
        #expect(try canonicalQuery("a-b=1&a=2") == "a=2&a-b=1")
        // Every '&'-separated piece counts, as in botocore.
        #expect(try canonicalQuery("a=1&&b=2") == "=&a=1&b=2")
        #expect(try canonicalQuery("") == "")
    }

    @Test func headersSignedTrimmedAndReplaced() throws {
        let signature = try Self.signer.sign(
            method: "post", url: "https://dynamodb.eu-west-3.amazonaws.com/",
            headers: [
                ("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "  DynamoDB_20120810.BatchWriteItem "),
                ("User-Agent", "DeployVerify"), ("Expect", "100-continue"), ("X-Amzn-Trace-Id", "Root=1"),
                ("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"), ("Authorization", "old"),
                ("X-Amz-Date", "19990101T000000Z"), ("x-amz-security-token", "stale"), ("X-Amz-Meta-A", "a\t\t b\u{a0}c\u{1c}d "),
                ("x-amz-meta-a", ""),
            ],
            payload: .body(Array(#"{"RequestItems":{}}"#.utf8)), credentials: Self.credentials, date: Self.exampleDate)
        #expect(signature.signedHeaders == "content-type;host;x-amz-date;x-amz-meta-a;x-amz-security-token;x-amz-target")
        #expect(signature.canonicalRequest.hasPrefix("POST\n/\n\n"))
        #expect(signature.canonicalRequest.contains("\nx-amz-meta-a:a b c d,\n"))
        #expect(signature.canonicalRequest.contains("\nx-amz-target:DynamoDB_20120810.BatchWriteItem\n"))
        #expect(signature.canonicalRequest.contains("\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+value==\n"))
        #expect(signature.canonicalRequest.hasSuffix("\n" + SHA256.hash(Array(#"{"RequestItems":{}}"#.utf8)).hexString))
        #expect(signature.value(of: "X-Amz-Content-SHA256") == nil, "only S3 and unsigned payloads send it")
        #expect(signature.headers.map(\.name) == ["Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        let sent = signature.applied(to: [("Content-Type", "application/x-amz-json-1.0"), ("Authorization", "old"),
                                          ("x-amz-date", "19990101T000000Z"), ("X-Amz-Security-Token", "stale")])
        #expect(sent.map(\.name) == ["Content-Type", "Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"])
        #expect(sent.first { $0.name == "X-Amz-Security-Token" }?.value == "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+value==")
    }

    @Test func payloads() throws {
        let s3 = SigV4Signer(service: "s3", region: "us-east-1")
        let body = Array("hello".utf8)
        let signed = try s3.sign(method: "PUT", url: "https://b.s3.amazonaws.com/k", headers: [("X-Amz-Content-SHA256", "stale")],
                                 payload: .body(body), credentials: Self.credentials, date: Self.exampleDate)
        #expect(signed.value(of: "X-Amz-Content-SHA256") == SHA256.hash(body).hexString)
        #expect(signed.signedHeaders == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
        let precomputed = try s3.sign(method: "PUT", url: "https://b.s3.amazonaws.com/k", headers: [],
                                      payload: .precomputed(SHA256.hash(body).hexString), credentials: Self.credentials, date: Self.exampleDate)
        #expect(precomputed.signature == signed.signature)
        let unsigned = try s3.sign(method: "PUT", url: "https://b.s3.amazonaws.com/k", headers: [], payload: .unsigned,
                                   credentials: Self.credentials, date: Self.exampleDate)
        #expect(unsigned.value(of: "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD")
        #expect(unsigned.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
        // Another service sends and signs X-Amz-Content-SHA256 only for an unsigned payload.
        let other = try Self.signer.sign(method: "POST", url: "https://h/", headers: [], payload: .unsigned,
                                         credentials: Self.credentials, date: Self.exampleDate)
        #expect(other.value(of: "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD")
        #expect(other.signedHeaders.contains("x-amz-content-sha256"))
    }

    @Test func sessionTokenOnlyWhenThereIsOne() throws {
        for token in [nil, ""] as [String?] {
            var credentials = Self.credentials
            credentials.sessionToken = token
            let signature = try Self.signer.sign(method: "GET", url: "https://h/", headers: [], payload: .empty,
                                                 credentials: credentials, date: Self.exampleDate)
            #expect(signature.value(of: "X-Amz-Security-Token") == nil)
            #expect(signature.signedHeaders == "host;x-amz-date")
        }
    }

    @Test func amzDateIsUTCWholeSeconds() throws {
        for (seconds, text) in [
            (0.0, "19700101T000000Z"), (1_440_938_160.999, "20150830T123600Z"), (951_782_400, "20000229T000000Z"),
            (-1, "19691231T235959Z"), (-86_400.5, "19691230T235959Z"), (4_107_542_399, "21000228T235959Z"),
            (253_402_300_799, "99991231T235959Z"), (-62_135_596_800, "00010101T000000Z"),
        ] as [(Double, String)] {
            #expect(try SigV4Signer.amzDate(Date(timeIntervalSince1970: seconds)) == text, "\(seconds)")
        }
        // Every day of 1999-2001 and a sample of the centuries agrees with Foundation's calendar.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for step in stride(from: 915_148_800.0, to: 4_102_444_800.0, by: 86_400 * 37 + 3_671) {
            let date = Date(timeIntervalSince1970: step)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
            #expect(try SigV4Signer.amzDate(date) == expected)
        }
        #expect(throws: SigV4Error.self) { try SigV4Signer.amzDate(Date(timeIntervalSince1970: .nan)) }
        #expect(throws: SigV4Error.self) { try SigV4Signer.amzDate(.distantPast) }
    }

    @Test func signingKeyCacheFollowsTheSecretAndTheDay() throws {
        let shared = SigV4Signer(service: "sts", region: "us-east-1")
        let other = AWSCredentials(accessKeyID: "AKIAOTHER", secretAccessKey: "another/secret")
        let nextDay = Self.exampleDate.addingTimeInterval(86_400)
        for (credentials, date) in [(Self.credentials, Self.exampleDate), (other, Self.exampleDate), (Self.credentials, nextDay),
                                    (Self.credentials, Self.exampleDate), (other, nextDay)] {
            let cached = try shared.sign(method: "GET", url: "https://sts.amazonaws.com/", headers: [], payload: .empty,
                                         credentials: credentials, date: date)
            let fresh = try SigV4Signer(service: "sts", region: "us-east-1").sign(
                method: "GET", url: "https://sts.amazonaws.com/", headers: [], payload: .empty, credentials: credentials, date: date)
            #expect(cached.signature == fresh.signature)
        }
    }

    @Test func nothingPrintedOrThrownShowsTheSecretTheTokenOrTheSignature() throws {
        let signature = try Self.signer.sign(method: "GET", url: "https://h/?X-Amz-Security-Token=abc", headers: [], payload: .empty,
                                             credentials: Self.credentials, date: Self.exampleDate)
        var dumped = ""
        dump(signature, to: &dumped)
        var dumpedSigner = ""
        dump(Self.signer, to: &dumpedSigner)
        let texts = ["\(signature)", String(describing: signature), String(reflecting: signature), dumped,
                     "\(Self.signer)", String(reflecting: Self.signer), dumpedSigner]
        for text in texts {
            for secret in [Self.credentials.secretAccessKey, Self.credentials.sessionToken!, signature.signature] {
                #expect(!text.contains(secret), "\(text)")
            }
        }
        #expect("\(signature)".contains("eu-west-3/dynamodb/aws4_request"))
        #expect {
            try Self.signer.sign(method: "GET", url: "https://u:p@h:99999/a/b?q=1", headers: [], payload: .empty,
                                 credentials: Self.credentials, date: Self.exampleDate)
        } throws: { error in
            "\(error)" == "cannot sign a request to 'https://h:99999/a/b…': the port '99999' is not a number from 0 to 65535"
        }

        let failures: [(String, [(name: String, value: String)])] = [
            ("dynamodb.eu-west-3.amazonaws.com/", []), ("https://", []), ("https://h:99999/", []), ("https://h:8o/", []),
            ("https://[::1/", []), ("https://h/\r\nX: y", []), ("https://h/", [("", "x")]),
            ("https://h:99999/?X-Amz-Signature=abcdef0123456789&X-Amz-Security-Token=\(Self.credentials.sessionToken!)", []),
            ("https://admin:hunter2@h/a b/?t=\(Self.credentials.sessionToken!)", [("Bad Name", "x")]),
            ("https://admin:hunter2@h:65536/a b/?t=\(Self.credentials.sessionToken!)#abcdef0123456789", []),
            ("https://h/", [("Bad Name", "x")]), ("https://h/", [("X-Ok:", "x")]),
        ]
        for (url, headers) in failures {
            #expect {
                try Self.signer.sign(method: "GET", url: url, headers: headers, payload: .empty, credentials: Self.credentials,
                                     date: Self.exampleDate)
            } throws: { error in
                let text = "\(error)"
                return !text.contains(Self.credentials.secretAccessKey) && !text.contains(Self.credentials.sessionToken!)
                    && !text.contains("abcdef0123456789") && !text.contains("hunter2") && !text.isEmpty
            }
        }
    }

    // MARK: - botocore

    /// A seeded generator (SplitMix64), so that a failure reproduces.
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

    struct GeneratedRequest {
        var service: String
        var region: String
        var method: String
        var url: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var payload: SigV4Signer.Payload
        var credentials: AWSCredentials
        var date: Date
    }

    static func generateRequests(count: Int, seed: UInt64) -> [GeneratedRequest] {
        var random = SeededGenerator(state: seed)
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        func text(_ alphabet: String, _ length: ClosedRange<Int>) -> String {
            let characters = Array(alphabet)
            return String((0..<Int.random(in: length, using: &random)).map { _ in pick(characters) })
        }
        let base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let pathPieces = ["a", "Photos", "2024", "x y", "%20", "ሴ", "é", "%E1%88%B4", "%c3%a9", "~", "+", "=", "%2F", "%2f", "", ".", "..",
                          "$", "!", "'", "(", ")", "*", "@", ":", ",", ";", "%", "%zz", "-_.", "key%3Dvalue", "日本", "%25"]
        let queryNames = ["Action", "a", "A", "b", "Param1", "x-id", "list-type", "prefix", "ሴ", "%E1%88%B4", "key space", "k%20s", "a+b",
                          "tilde~", "", "X-Amz-Meta", "%zz", "max-keys"]
        let queryValues = ["", "1", "Value", "a b", "a%20b", "a+b", "%2B", "=", "x=y", "%", "%zz", "%e1%88%b4", "ü", "/", "%2F", "%FF",
                           "%C3%28", "%E1%88", "2010-05-08", "ListUsers", "*", "~._-", "日本語"]
        let headerNames = ["Content-Type", "X-Amz-Target", "x-amz-meta-foo", "My-Header", "my-header", "X-Amz-Meta-Bar", "Accept", "User-Agent",
                           "Expect", "Connection", "x-amzn-trace-id", "Range", "Content-MD5", "X-Amz-Date", "Authorization",
                           "X-Amz-Security-Token", "Content-Length", "If-None-Match", "X-Custom_Header", "TE", "Keep-Alive"]
        let headerValues = ["value", "  padded  ", "a   b\t\tc", "", "   ", "ü  x", "\u{a0}nbsp\u{a0}", "em\u{2003}space", "a\u{1c}b",
                            "application/x-amz-json-1.0", "bytes=0-9", "\"quoted   text\"", "UPPER lower", "x,y", "tab\tend\t"]
        let services = ["dynamodb", "s3", "codedeploy", "monitoring", "sts"]
        let regions = ["us-east-1", "eu-west-3", "ap-southeast-2"]

        return (0..<count).map { index in
            let service = services[index % services.count]
            let region = pick(regions)
            var host: String
            switch service {
            case "s3": host = chance(70) ? "\(pick(["examplebucket", "my.bucket", "b-1"])).s3.\(region).amazonaws.com" : "s3.\(region).amazonaws.com"
            case "sts": host = "sts.amazonaws.com"
            default: host = "\(service).\(region).amazonaws.com"
            }
            if chance(10) { host = host.uppercased() }
            if chance(5) { host = "user:pass@" + host }
            if chance(15) { host += pick([":443", ":80", ":8443", ":4566"]) }
            let scheme = chance(85) ? "https" : "http"

            var path = ""
            if service == "s3" || chance(90) {
                let segments = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    (0..<Int.random(in: 1...3, using: &random)).map { _ in pick(pathPieces) }.joined()
                }
                path = "/" + segments.joined(separator: "/") + (chance(25) ? "/" : "")
            }
            var url = "\(scheme)://\(host)\(path)"
            if chance(70) {
                var pieces: [String] = []
                for _ in 0..<Int.random(in: 1...5, using: &random) {
                    let name = pick(queryNames)
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0: pieces.append(name)
                    case 1: pieces.append(name + "=")
                    default: pieces.append(name + "=" + pick(queryValues))
                    }
                    if chance(15), let last = pieces.last { pieces.append(last.split(separator: "=").first.map { "\($0)=\(pick(queryValues))" } ?? last) }
                }
                if chance(5) { pieces.insert("", at: 1) }
                url += "?" + pieces.joined(separator: "&")
            }
            if chance(5) { url += "#section" }

            var headers: [(name: String, value: String)] = []
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                headers.append((pick(headerNames), pick(headerValues)))
            }
            if chance(8) { headers.append(("Host", pick(["Custom.Example.com", " spaced.example.com ", "example.com:8080"]))) }
            if service != "s3", chance(5) { headers.append(("X-Amz-Content-SHA256", pick(["abc", " spaced "]))) }
            if service == "s3", chance(10) { headers.append(("x-amz-content-sha256", "stale")) }
            headers.shuffle(using: &random)

            let body: [UInt8]
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4: body = []
            case 4..<7: body = Array(#"{"TableName":"deploys","Key":{"id":{"S":"\#(index)"}}}"#.utf8)
            default: body = (0..<Int.random(in: 1...1000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            let payload: SigV4Signer.Payload
            switch Int.random(in: 0..<20, using: &random) {
            case 0..<3: payload = .unsigned
            case 3..<6: payload = .precomputed(SHA256.hash(body).hexString)
            default: payload = .body(body)
            }
            let credentials = AWSCredentials(
                accessKeyID: "AKIA" + text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16...16), secretAccessKey: text(base64, 40...40),
                sessionToken: chance(40) ? text(base64, 100...300) + pick(["", "=", "=="]) : nil)
            // Whole seconds from 1970 to 2099, plus a fraction the signer must drop.
            let seconds = Double(Int.random(in: 0..<4_102_444_800, using: &random))
            let method = pick(["GET", "POST", "PUT", "DELETE", "HEAD"])
            return GeneratedRequest(service: service, region: region, method: chance(3) ? method.lowercased() : method, url: url,
                                    headers: headers, body: body, payload: payload, credentials: credentials,
                                    date: Date(timeIntervalSince1970: seconds + Double.random(in: 0..<1, using: &random)))
        }
    }

    struct BotocoreResult: Decodable {
        var authorization: String
        var x_amz_date: String
        var x_amz_content_sha256: String?
        var x_amz_security_token: String?
        var canonical_request: String?
        var string_to_sign: String?
    }

    /// botocore's SigV4Auth / S3SigV4Auth (sigv4_botocore.py) and this signer agree on every
    /// generated request: Authorization, X-Amz-Date, X-Amz-Content-SHA256, X-Amz-Security-Token.
    @Test func agreesWithBotocore() async throws {
        let requests = Self.generateRequests(count: 600, seed: 0x5167_5634)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        let input: [[String: Any]] = requests.map { request in
            var item: [String: Any] = [
                "method": request.method, "url": request.url, "headers": request.headers.map { [$0.name, $0.value] },
                "body_hex": request.body.hexString, "service": request.service, "region": request.region,
                "access_key": request.credentials.accessKeyID, "secret_key": request.credentials.secretAccessKey,
                "date": formatter.string(from: Date(timeIntervalSince1970: request.date.timeIntervalSince1970.rounded(.down))),
            ]
            if case .precomputed(SigV4Signer.unsignedPayload) = request.payload { item["unsigned"] = true }
            if let token = request.credentials.sessionToken { item["token"] = token }
            return item
        }
        // botocore first, with nothing on stdin: a python3 that is missing or exits early must
        // fail this test with a message, not leave a writer to die of SIGPIPE.
        try await PythonPackages.ensure(modules: ["botocore"], packages: ["botocore"])
        let probe = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["nice", "-n", "19", "python3", "-c", "import botocore.auth"])
        guard try await probe.run(timeout: .seconds(60)) == 0 else {
            Issue.record("this cross-check needs python3 with botocore (pip install botocore): \(probe.standardError.suffix(1000))")
            return
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("sigv4_botocore.py").path
        let python = ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["nice", "-n", "19", "python3", script],
                                  stdin: try JSONSerialization.data(withJSONObject: input))
        let status = try await python.run(timeout: .seconds(120))
        guard status == 0 else {
            Issue.record("""
                botocore could not sign the requests (exit \(status)); the cross-check needs python3 with botocore: \
                pip install botocore
                \(python.standardError.suffix(2000))
                """)
            return
        }
        let results = try JSONDecoder().decode([BotocoreResult].self, from: Data(python.standardOutput.utf8))
        try #require(results.count == requests.count)

        var mismatches = 0
        for (request, expected) in zip(requests, results) {
            let signature = try SigV4Signer(service: request.service, region: request.region).sign(
                method: request.method, url: request.url, headers: request.headers, payload: request.payload,
                credentials: request.credentials, date: request.date)
            let sent = signature.applied(to: request.headers)
            func first(_ name: String) -> String? { sent.first { $0.name.lowercased() == name }?.value }
            let agrees = signature.authorization == expected.authorization && first("x-amz-date") == expected.x_amz_date
                && first("x-amz-content-sha256") == expected.x_amz_content_sha256
                && first("x-amz-security-token") == expected.x_amz_security_token
                && first("authorization") == expected.authorization
            guard !agrees else { continue }
            mismatches += 1
            if mismatches <= 3 {
                Issue.record("""
                    \(request.service) \(request.method) \(request.url) headers \(request.headers)
                    ours:     \(signature.authorization)
                    botocore: \(expected.authorization)
                    our canonical request:
                    \(signature.canonicalRequest)
                    botocore's canonical request:
                    \(expected.canonical_request ?? "?")
                    our X-Amz-Content-SHA256 \(first("x-amz-content-sha256") ?? "none"), botocore's \(expected.x_amz_content_sha256 ?? "none")
                    """)
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(requests.count) requests signed differently from botocore")
        // The generator reaches the interesting cases.
        #expect(requests.contains { $0.service == "s3" && $0.credentials.sessionToken != nil })
        #expect(requests.contains { $0.url.contains("%FF") } && requests.contains { $0.url.contains("/../") || $0.url.hasSuffix("/..") })
        #expect(Set(requests.map(\.method)).isSuperset(of: ["GET", "POST", "PUT", "DELETE", "HEAD"]))
    }
}
