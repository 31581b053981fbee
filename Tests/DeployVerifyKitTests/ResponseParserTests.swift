import Testing
@testable import DeployVerifyKit

@Suite("Client response parser")
struct ResponseParserTests {
    private func parse(_ chunks: [String], head: Bool = false, max: Int = 1 << 20) throws -> ResponseParser {
        var parser = ResponseParser(maxBodyBytes: max, isHeadRequest: head)
        for chunk in chunks {
            _ = try Array(chunk.utf8).withUnsafeBytes { try parser.feed($0) }
        }
        return parser
    }

    @Test func contentLengthInOneOrManyPieces() throws {
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello"
        let whole = try parse([response])
        #expect(whole.isComplete)
        #expect(whole.status == 200)
        #expect(String(decoding: whole.body, as: UTF8.self) == "hello")
        #expect(whole.allowsReuse)
        let pieces = try parse(response.map { String($0) })
        #expect(pieces.isComplete)
        #expect(String(decoding: pieces.body, as: UTF8.self) == "hello")
    }

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let parser = try parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n"])
        #expect(parser.isComplete)
        #expect(String(decoding: parser.body, as: UTF8.self) == "abcde")
    }

    @Test func interimResponsesAreSkipped() throws {
        let parser = try parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"])
        #expect(parser.isComplete)
        #expect(parser.status == 204)
    }

    @Test func headAndUntilClose() throws {
        #expect(try parse(["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"], head: true).isComplete)
        var parser = try parse(["HTTP/1.0 200 OK\r\n\r\nbody until close"])
        #expect(!parser.isComplete)
        try parser.finishAtEndOfStream()
        #expect(parser.isComplete)
        #expect(!parser.allowsReuse)
        #expect(String(decoding: parser.body, as: UTF8.self) == "body until close")
    }

    @Test func failures() {
        #expect(throws: ClientFailure.tooLarge(limit: 10)) { try parse(["HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"], max: 10) }
        #expect(throws: ClientFailure.self) { try parse(["SSH-2.0-OpenSSH\r\n\r\n"]) }
        #expect(throws: ClientFailure.self) { try parse(["HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"]) }
        #expect(throws: ClientFailure.self) { try parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]) }
        #expect(throws: ClientFailure.self) {
            var parser = try parse(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"])
            try parser.finishAtEndOfStream()
        }
    }
}
