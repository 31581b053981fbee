import Foundation
import InfoEndpoint

/// A DynamoDB attribute value (the subset DeployVerify stores).
package enum DynamoValue: Sendable, Equatable {
    case string(String)
    /// A number as its decimal text.
    case number(String)
    case bool(Bool)
    case null
    case map([String: DynamoValue])
    case list([DynamoValue])

    package static func number(_ value: Int) -> DynamoValue { .number(String(value)) }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// DynamoDB's JSON form: `{"S": "x"}`, `{"N": "1"}`, `{"M": {…}}`.
    package func write(to json: inout JSONText) {
        json.object { json in
            switch self {
            case .string(let text): json.member("S", text)
            case .number(let text): json.member("N", text)
            case .bool(let flag):
                json.key("BOOL")
                json.bool(flag)
            case .null:
                json.key("NULL")
                json.bool(true)
            case .map(let members):
                json.key("M")
                DynamoDB.write(members, to: &json)
            case .list(let items):
                json.key("L")
                json.array { json in for item in items { item.write(to: &json) } }
            }
        }
    }

    /// From DynamoDB's JSON form; nil for a type DeployVerify does not store.
    package init?(_ json: JSONValue) {
        guard case .object(let object) = json, let (type, value) = object.members.first else { return nil }
        switch type {
        case "S": guard let text = value.stringValue else { return nil }
            self = .string(text)
        case "N": guard let text = value.stringValue else { return nil }
            self = .number(text)
        case "BOOL": guard let flag = value.boolValue else { return nil }
            self = .bool(flag)
        case "NULL": self = .null
        case "M":
            guard case .object(let members) = value else { return nil }
            var map: [String: DynamoValue] = [:]
            for (key, item) in members.members {
                guard let decoded = DynamoValue(item) else { return nil }
                map[key] = decoded
            }
            self = .map(map)
        case "L":
            guard case .array(let items) = value else { return nil }
            var list: [DynamoValue] = []
            for item in items {
                guard let decoded = DynamoValue(item) else { return nil }
                list.append(decoded)
            }
            self = .list(list)
        default: return nil
        }
    }
}

/// An item: attribute name → value.
package typealias DynamoItem = [String: DynamoValue]

/// One write of a `TransactWriteItems` call.
package enum DynamoTransactItem: Sendable {
    case put(item: DynamoItem, condition: DynamoCondition?)
    case update(key: DynamoItem, update: String, condition: DynamoCondition?, names: [String: String], values: DynamoItem)
    case delete(key: DynamoItem, condition: DynamoCondition?)
    case conditionCheck(key: DynamoItem, condition: DynamoCondition)
}

/// A condition expression with its placeholders.
package struct DynamoCondition: Sendable {
    package var expression: String
    package var names: [String: String]
    package var values: DynamoItem

    package init(_ expression: String, names: [String: String] = [:], values: DynamoItem = [:]) {
        self.expression = expression
        self.names = names
        self.values = values
    }
}

/// The DynamoDB calls DeployVerify makes, over ``AWSClient``'s JSON protocol. Batches are cut to
/// DynamoDB's limits (100 keys per `BatchGetItem`, 25 writes per `BatchWriteItem`) and unprocessed
/// keys and items are sent again with backoff.
package struct DynamoDB: Sendable {
    package let client: AWSClient
    package let table: String

    package init(client: AWSClient, table: String) {
        self.client = client
        self.table = table
    }

    /// A conditional write whose condition did not hold (`ConditionalCheckFailedException`).
    package static func isConditionFailure(_ error: AWSError) -> Bool {
        error.code == "ConditionalCheckFailedException"
    }

    private func call(_ operation: String, _ body: (inout JSONText) -> Void) async throws(AWSError) -> JSONValue {
        var json = JSONText()
        json.object(body)
        return try await client.json(.dynamoDB, target: "DynamoDB_20120810.\(operation)", version: "1.0", body: json.text)
    }

    package static func write(_ item: DynamoItem, to json: inout JSONText) {
        json.object { json in
            for key in item.keys.sorted() {
                json.key(key)
                item[key]!.write(to: &json)
            }
        }
    }

    package static func item(_ json: JSONValue?) -> DynamoItem? {
        guard case .object(let object)? = json else { return nil }
        var item: DynamoItem = [:]
        for (key, value) in object.members {
            guard let decoded = DynamoValue(value) else { continue }
            item[key] = decoded
        }
        return item
    }

    private static func placeholders(_ json: inout JSONText, names: [String: String], values: DynamoItem) {
        if !names.isEmpty {
            json.key("ExpressionAttributeNames")
            json.object { json in for key in names.keys.sorted() { json.member(key, names[key]) } }
        }
        if !values.isEmpty {
            json.key("ExpressionAttributeValues")
            write(values, to: &json)
        }
    }

    // MARK: Items

    package func getItem(_ key: DynamoItem, consistent: Bool = true) async throws(AWSError) -> DynamoItem? {
        let answer = try await call("GetItem") { json in
            json.member("TableName", table)
            json.key("Key")
            Self.write(key, to: &json)
            json.key("ConsistentRead")
            json.bool(consistent)
        }
        return Self.item(answer["Item"])
    }

    /// Writes the item; with a condition, throws `ConditionalCheckFailedException` when it does not hold.
    package func putItem(_ item: DynamoItem, condition: DynamoCondition? = nil) async throws(AWSError) {
        _ = try await call("PutItem") { target(&$0, item: item, condition: condition) }
    }

    /// Updates (or creates) the item; returns its new attributes.
    @discardableResult
    package func updateItem(_ key: DynamoItem, update: String, condition: String? = nil, names: [String: String] = [:],
                            values: DynamoItem = [:]) async throws(AWSError) -> DynamoItem {
        let answer = try await call("UpdateItem") { json in
            target(&json, key: key, update: update, condition: condition.map { DynamoCondition($0) }, names: names, values: values)
            json.member("ReturnValues", "ALL_NEW")
        }
        return Self.item(answer["Attributes"]) ?? [:]
    }

    package func deleteItem(_ key: DynamoItem, condition: DynamoCondition? = nil) async throws(AWSError) {
        _ = try await call("DeleteItem") { target(&$0, key: key, condition: condition) }
    }

    /// Every item of a `Query`, page after page (or up to `limit` items).
    package func query(keyCondition: String, names: [String: String] = [:], values: DynamoItem, filter: String? = nil,
                       forward: Bool = true, limit: Int? = nil, consistent: Bool = false) async throws(AWSError) -> [DynamoItem] {
        var items: [DynamoItem] = []
        var startKey: DynamoItem?
        repeat {
            let answer = try await call("Query") { json in
                json.member("TableName", table)
                json.member("KeyConditionExpression", keyCondition)
                if let filter { json.member("FilterExpression", filter) }
                Self.placeholders(&json, names: names, values: values)
                json.key("ScanIndexForward")
                json.bool(forward)
                json.key("ConsistentRead")
                json.bool(consistent)
                if let limit {
                    json.key("Limit")
                    json.number(limit - items.count)
                }
                if let startKey {
                    json.key("ExclusiveStartKey")
                    Self.write(startKey, to: &json)
                }
            }
            items += answer["Items"]?.arrayValue?.compactMap { Self.item($0) } ?? []
            startKey = Self.item(answer["LastEvaluatedKey"])
            if startKey?.isEmpty == true { startKey = nil }
        } while startKey != nil && (limit.map { items.count < $0 } ?? true)
        return items
    }

    /// Every item matching the filter, reading the whole table page after page: for ad-hoc
    /// audits (`versioncheck history` without a service), never for a watch cycle.
    package func scan(filter: String, names: [String: String] = [:], values: DynamoItem) async throws(AWSError) -> [DynamoItem] {
        var items: [DynamoItem] = []
        var startKey: DynamoItem?
        repeat {
            let answer = try await call("Scan") { json in
                json.member("TableName", table)
                json.member("FilterExpression", filter)
                Self.placeholders(&json, names: names, values: values)
                if let startKey {
                    json.key("ExclusiveStartKey")
                    Self.write(startKey, to: &json)
                }
            }
            items += answer["Items"]?.arrayValue?.compactMap { Self.item($0) } ?? []
            startKey = Self.item(answer["LastEvaluatedKey"])
            if startKey?.isEmpty == true { startKey = nil }
        } while startKey != nil
        return items
    }

    /// The items with these keys that exist, in no particular order: 100 keys a call, up to 8
    /// calls at once, unprocessed keys asked again.
    package func batchGet(_ keys: [DynamoItem], consistent: Bool = true) async throws(AWSError) -> [DynamoItem] {
        let chunks = stride(from: 0, to: keys.count, by: 100).map { Array(keys[$0..<min($0 + 100, keys.count)]) }
        guard chunks.count > 1 else { return try await batchGetChunk(chunks.first ?? [], consistent: consistent) }
        do {
            return try await withThrowingTaskGroup(of: [DynamoItem].self) { tasks in
                var next = 0, found: [DynamoItem] = []
                func start() {
                    guard next < chunks.count else { return }
                    let chunk = chunks[next]
                    next += 1
                    tasks.addTask { try await self.batchGetChunk(chunk, consistent: consistent) }
                }
                for _ in 0..<8 { start() }
                while let items = try await tasks.next() {
                    found += items
                    start()
                }
                return found
            }
        } catch let error as AWSError {
            throw error
        } catch {
            throw AWSError(kind: .network, operation: "DynamoDB BatchGetItem", code: "cancelled", message: "cancelled")
        }
    }

    private func batchGetChunk(_ keys: [DynamoItem], consistent: Bool) async throws(AWSError) -> [DynamoItem] {
        var found: [DynamoItem] = []
        var pending = keys
        var round = 0
        while !pending.isEmpty {
            let batch = pending
            let answer = try await call("BatchGetItem") { json in
                json.key("RequestItems")
                json.object { json in
                    json.key(table)
                    json.object { json in
                        json.key("Keys")
                        json.array { json in for key in batch { Self.write(key, to: &json) } }
                        json.key("ConsistentRead")
                        json.bool(consistent)
                    }
                }
            }
            found += answer["Responses"]?[table]?.arrayValue?.compactMap { Self.item($0) } ?? []
            pending = answer["UnprocessedKeys"]?[table]?["Keys"]?.arrayValue?.compactMap { Self.item($0) } ?? []
            round += 1
            if !pending.isEmpty { try await Self.backoff(round, operation: "DynamoDB BatchGetItem") }
        }
        return found
    }

    /// Puts and deletes without conditions: 25 a call, unprocessed items sent again.
    package func batchWrite(puts: [DynamoItem], deletes: [DynamoItem] = []) async throws(AWSError) {
        let requests: [(put: DynamoItem?, delete: DynamoItem?)] = puts.map { ($0, nil) } + deletes.map { (nil, $0) }
        var start = 0
        while start < requests.count {
            var pending = Array(requests[start..<min(start + 25, requests.count)])
            start += 25
            var round = 0
            while !pending.isEmpty {
                let batch = pending
                let answer = try await call("BatchWriteItem") { json in
                    json.key("RequestItems")
                    json.object { json in
                        json.key(table)
                        json.array { json in
                            for request in batch {
                                json.object { json in
                                    if let item = request.put {
                                        json.key("PutRequest")
                                        json.object { json in
                                            json.key("Item")
                                            Self.write(item, to: &json)
                                        }
                                    } else if let key = request.delete {
                                        json.key("DeleteRequest")
                                        json.object { json in
                                            json.key("Key")
                                            Self.write(key, to: &json)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                pending = answer["UnprocessedItems"]?[table]?.arrayValue?.compactMap { request in
                    if let item = Self.item(request["PutRequest"]?["Item"]) { return (item, nil) }
                    if let key = Self.item(request["DeleteRequest"]?["Key"]) { return (nil, key) }
                    return nil
                } ?? []
                round += 1
                if !pending.isEmpty { try await Self.backoff(round, operation: "DynamoDB BatchWriteItem") }
            }
        }
    }

    /// Why each write of a cancelled transaction failed (`ConditionalCheckFailed`, `None` …), in
    /// the order of the writes; nil when the transaction failed for another reason.
    package static func cancellationReasons(_ error: AWSError) -> [String]? {
        guard error.code == "TransactionCanceledException" else { return nil }
        return error.cancellationReasons
    }

    /// All the writes or none (at most 100). With a `token` (`ClientRequestToken`, up to 36
    /// characters), a retried request is applied once: DynamoDB answers an attempt that repeats
    /// one it already applied as a success.
    package func transactWrite(_ items: [DynamoTransactItem], token: String? = nil) async throws(AWSError) {
        _ = try await call("TransactWriteItems") { json in
            if let token { json.member("ClientRequestToken", token) }
            json.key("TransactItems")
            json.array { json in
                for item in items {
                    json.object { json in
                        switch item {
                        case .put(let value, let condition):
                            json.key("Put")
                            json.object { target(&$0, item: value, condition: condition) }
                        case .update(let key, let update, let condition, let names, let values):
                            json.key("Update")
                            json.object { target(&$0, key: key, update: update, condition: condition, names: names, values: values) }
                        case .delete(let key, let condition):
                            json.key("Delete")
                            json.object { target(&$0, key: key, condition: condition) }
                        case .conditionCheck(let key, let condition):
                            json.key("ConditionCheck")
                            json.object { target(&$0, key: key, condition: condition) }
                        }
                    }
                }
            }
        }
    }

    /// The members naming what a write acts on: the table, the key or the item, the update, the
    /// condition, and the placeholders of both.
    private func target(_ json: inout JSONText, key: DynamoItem? = nil, item: DynamoItem? = nil, update: String? = nil,
                        condition: DynamoCondition? = nil, names: [String: String] = [:], values: DynamoItem = [:]) {
        json.member("TableName", table)
        if let key {
            json.key("Key")
            Self.write(key, to: &json)
        }
        if let item {
            json.key("Item")
            Self.write(item, to: &json)
        }
        if let update { json.member("UpdateExpression", update) }
        var allNames = names, allValues = values
        if let condition {
            json.member("ConditionExpression", condition.expression)
            allNames.merge(condition.names) { mine, _ in mine }
            allValues.merge(condition.values) { mine, _ in mine }
        }
        Self.placeholders(&json, names: allNames, values: allValues)
    }

    // MARK: The table

    /// Creates the table with a string partition key `pk` and sort key `sk`, billed on demand, and
    /// waits until it is active. Returns false when it exists already.
    package func createTable() async throws(AWSError) -> Bool {
        do {
            _ = try await call("CreateTable") { json in
                json.member("TableName", table)
                json.key("AttributeDefinitions")
                json.array { json in
                    for name in ["pk", "sk"] {
                        json.object { json in
                            json.member("AttributeName", name)
                            json.member("AttributeType", "S")
                        }
                    }
                }
                json.key("KeySchema")
                json.array { json in
                    for (name, type) in [("pk", "HASH"), ("sk", "RANGE")] {
                        json.object { json in
                            json.member("AttributeName", name)
                            json.member("KeyType", type)
                        }
                    }
                }
                json.member("BillingMode", "PAY_PER_REQUEST")
            }
        } catch where error.code == "ResourceInUseException" {
            return false
        }
        for round in 1...60 {
            if try await describeTable().status == "ACTIVE" { return true }
            try await Self.backoff(min(round, 4), operation: "DynamoDB DescribeTable")
        }
        throw AWSError(kind: .service, operation: "DynamoDB CreateTable \(table)", message: "the table did not become ACTIVE")
    }

    /// The table's status and key schema (`pk HASH`, `sk RANGE`).
    package func describeTable() async throws(AWSError) -> (status: String, keys: [String]) {
        let answer = try await call("DescribeTable") { json in json.member("TableName", table) }
        let keys = answer["Table"]?["KeySchema"]?.arrayValue?.compactMap { element -> String? in
            guard let name = element["AttributeName"]?.stringValue, let type = element["KeyType"]?.stringValue else { return nil }
            return "\(name) \(type)"
        } ?? []
        return (answer["Table"]?["TableStatus"]?.stringValue ?? "UNKNOWN", keys)
    }

    private static func backoff(_ round: Int, operation: String) async throws(AWSError) {
        let ceiling = min(2.0, 0.05 * pow(2, Double(round)))
        do {
            try await Task.sleep(for: .milliseconds(Int64(Double.random(in: ceiling / 2...ceiling) * 1000)))
        } catch {
            throw AWSError(kind: .network, operation: operation, code: "cancelled", message: "cancelled")
        }
    }
}
