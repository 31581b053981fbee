import Foundation
import InfoEndpoint
import Testing
import TestSupport
@testable import DeployVerifyKit

/// The AWS client against moto's server with signature checking on (a request signed wrongly
/// fails), and against scripted servers for what moto cannot be made to do (throttling, 5xx).
@Suite("AWS client")
struct AWSClientTests {
    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    @Test func signedRequestsAreAcceptedBySignatureCheckingMoto() async throws {
        let moto = try await MotoServer.shared()
        let client = try AWSClient(environment: moto.environment())
        let bucket = Self.unique("manifests")
        try await client.createBucket(bucket)
        // A key that needs encoding: S3 signs the path as sent. (moto's own check refuses even
        // boto3's signature for keys with `+`, `(` or non-ASCII letters; the botocore cross-check in
        // SigV4Tests covers those.)
        let location = S3Location(bucket: bucket, key: "fleets/prod east/fleet 1.yaml")
        try await client.putObject(location, body: Array("services: []\n".utf8), contentType: "application/yaml")
        #expect(try await client.getObject(location) == Array("services: []\n".utf8))

        let table = DynamoDB(client: client, table: Self.unique("state"))
        #expect(try await table.createTable())
        #expect(try await table.createTable() == false, "a second create says it exists")
        #expect(try await table.describeTable().keys == ["pk HASH", "sk RANGE"])
        try await table.putItem(["pk": .string("a"), "sk": .string("1"), "n": .number(1), "m": .map(["x": .list([.bool(true), .null])])])
        #expect(try await table.getItem(["pk": .string("a"), "sk": .string("1")])?["m"] == .map(["x": .list([.bool(true), .null])]))
        #expect(client.requestsSent["DynamoDB", default: 0] >= 4)
    }

    /// All or nothing, as DynamoDB: a transaction whose last condition fails leaves every item as
    /// it was (the put, update and delete before it undone), and says why, write by write. (This
    /// also checks scripts/moto_server.py, which applies moto's transactions item by item.)
    @Test func aCancelledTransactionWritesNothingAndAnAcceptedOneWritesAll() async throws {
        let moto = try await MotoServer.shared()
        let table = DynamoDB(client: try AWSClient(environment: moto.environment()), table: Self.unique("transactions"))
        #expect(try await table.createTable())
        func key(_ pk: String) -> DynamoItem { ["pk": .string(pk), "sk": .string("s")] }
        try await table.putItem(key("a").merging(["n": .number("1")]) { $1 })
        try await table.putItem(key("b").merging(["n": .number("1")]) { $1 })
        let one: DynamoItem = [":one": .number("1")]
        let writes: [DynamoTransactItem] = [
            .update(key: key("a"), update: "SET n = :two", condition: nil, names: [:], values: [":two": .number("2")]),
            .put(item: key("c").merging(["n": .number("3")]) { $1 }, condition: DynamoCondition("attribute_not_exists(pk)")),
            .delete(key: key("b"), condition: DynamoCondition("n = :one", values: one)),
            .conditionCheck(key: key("missing"), condition: DynamoCondition("attribute_exists(pk)")),
        ]
        do {
            try await table.transactWrite(writes)
            Issue.record("the transaction was accepted")
        } catch {
            #expect(DynamoDB.cancellationReasons(error) == ["None", "None", "None", "ConditionalCheckFailed"])
        }
        #expect(try await table.getItem(key("a"))?["n"] == .number("1"))
        #expect(try await table.getItem(key("b"))?["n"] == .number("1"))
        #expect(try await table.getItem(key("c")) == nil)

        try await table.transactWrite(Array(writes.dropLast()))
        #expect(try await table.getItem(key("a"))?["n"] == .number("2"))
        #expect(try await table.getItem(key("b")) == nil)
        #expect(try await table.getItem(key("c"))?["n"] == .number("3"))
    }

    @Test func aWrongSecretOrAnUnknownKeyIsRefusedAndNothingSecretIsShown() async throws {
        let moto = try await MotoServer.shared()
        let wrongSecret = "wrongSecretKeyThatMustNeverBePrinted0000"
        for environment in [moto.environment(["AWS_SECRET_ACCESS_KEY": wrongSecret]),
                            moto.environment(["AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000", "AWS_SECRET_ACCESS_KEY": wrongSecret])] {
            let client = try AWSClient(environment: environment)
            do {
                _ = try await DynamoDB(client: client, table: "anything").describeTable()
                Issue.record("a wrongly signed request was accepted")
            } catch {
                #expect(error.isAccessProblem, "\(error)")
                #expect(error.kind == .service)
                #expect(!error.description.contains(wrongSecret))
                #expect(!error.description.contains(moto.secretAccessKey))
                #expect(client.requestsSent["DynamoDB"] == 1, "refused credentials are not retried")
            }
        }
    }

    @Test func missingCredentialsAndRegionAreClearErrors() async throws {
        var environment = ["AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent/deployverify",
                           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/c", "AWS_CONFIG_FILE": "/nonexistent/f"]
        do {
            _ = try AWSClient(environment: environment)
            Issue.record("no region accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.description.contains("no region: set AWS_REGION"))
        }
        environment["AWS_REGION"] = "eu-west-1"
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        let client = try AWSClient(environment: environment)
        do {
            _ = try await client.getObject(S3Location(bucket: "b", key: "k"))
            Issue.record("no credentials accepted")
        } catch {
            #expect(error.kind == .credentials)
            #expect(error.description.contains("S3 GetObject s3://b/k: no usable AWS credentials"))
            #expect(error.description.contains("environment: AWS_ACCESS_KEY_ID is not set"))
            #expect(error.description.contains("EC2 instance metadata"))
            #expect(client.requestsSent.isEmpty, "nothing is sent unsigned")
        }
    }

    @Test func throttlingAnd5xxAreRetriedWithBackoffOtherErrorsAreNot() async throws {
        let server = try ScriptedServer { request, index in
            switch index {
            case 0: return ScriptedServer.json(#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}"#, status: 400)
            case 1: return InfoResponse(status: 503, contentType: "text/html", body: "<html>busy</html>")
            case 2: return ScriptedServer.json(#"{"Table":{"TableStatus":"ACTIVE","KeySchema":[]}}"#)
            default:
                return InfoResponse(status: 400, contentType: "application/x-amz-json-1.0",
                                    body: #"{"message":"Requested resource not found"}"#,
                                    headers: [("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/")])
            }
        }
        var policy = AWSClient.RetryPolicy()
        policy.base = .milliseconds(20)
        let client = try AWSClient(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session-token-value",
            "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_DYNAMODB": server.url(""), "AWS_EC2_METADATA_DISABLED": "true",
        ], retry: policy)
        let table = DynamoDB(client: client, table: "t")
        #expect(try await table.describeTable().status == "ACTIVE")
        #expect(server.requests.count == 3)
        for request in server.requests {
            #expect(request.header("X-Amz-Target") == "DynamoDB_20120810.DescribeTable")
            #expect(request.header("Content-Type") == "application/x-amz-json-1.0")
            #expect(request.header("X-Amz-Security-Token") == "session-token-value")
            #expect(request.header("Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true)
            #expect(request.header("Authorization")?.contains("/eu-west-1/dynamodb/aws4_request") == true)
        }
        do {
            _ = try await table.describeTable()
            Issue.record("an error was taken for an answer")
        } catch {
            #expect(error.code == "ResourceNotFoundException")
            #expect(error.description == "DynamoDB DescribeTable: ResourceNotFoundException: Requested resource not found (HTTP 400)")
            #expect(server.requests.count == 4, "not retried")
        }
        await server.stop()
    }

    @Test func networkErrorsAreRetriedThenReportedWithTheEndpoint() async throws {
        var policy = AWSClient.RetryPolicy()
        policy.base = .milliseconds(10)
        policy.maxAttempts = 3
        let client = try AWSClient(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
        ], retry: policy)
        do {
            _ = try await client.getObject(S3Location(bucket: "b", key: "fleet.yaml"))
            Issue.record("a refused connection gave an answer")
        } catch {
            #expect(error.kind == .network)
            #expect(error.description == "S3 GetObject s3://b/fleet.yaml: no answer from http://127.0.0.1:9: connection refused by 127.0.0.1:9")
            #expect(client.requestsSent["S3"] == 3)
        }
    }

    @Test func errorAnswersOfEveryProtocolAreRead() {
        let xml = Array("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist &amp; never did.</Message></Error>".utf8)
        let s3 = AWSClient.serviceError(status: 404, headers: [], body: xml, operation: "S3 GetObject s3://b/k")
        #expect(s3.code == "NoSuchKey")
        #expect(s3.message == "The specified key does not exist & never did.")
        let query = Array("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>".utf8)
        #expect(AWSClient.isRetryable(AWSClient.serviceError(status: 400, headers: [], body: query, operation: "CloudWatch DescribeAlarms")))
        let empty = AWSClient.serviceError(status: 403, headers: [], body: [], operation: "S3 GetObject s3://b/k")
        #expect(empty.code == "AccessDenied" && empty.isAccessProblem)
        let listed = Array(#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"}"#.utf8)
        #expect(DynamoDB.cancellationReasons(AWSClient.serviceError(status: 400, headers: [], body: listed, operation: "DynamoDB TransactWriteItems"))
            == ["None", "ConditionalCheckFailed"])
        let structured = Array(#"{"__type":"TransactionCanceledException","Message":"Transaction cancelled","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"}]}"#.utf8)
        #expect(DynamoDB.cancellationReasons(AWSClient.serviceError(status: 400, headers: [], body: structured, operation: "DynamoDB TransactWriteItems"))
            == ["ConditionalCheckFailed", "None"])
    }
}
