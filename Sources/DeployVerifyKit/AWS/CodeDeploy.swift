import Foundation
import InfoEndpoint

/// Where a deployment's bundle came from (`RevisionLocation` of CodeDeploy's API).
package enum CodeDeployRevision: Sendable, Equatable {
    /// `s3Location`: the bucket and key, with the object's version and ETag when they were given.
    case s3(bucket: String, key: String, version: String?, eTag: String?, bundleType: String?)
    /// `gitHubLocation`: `owner/repository` and the commit.
    case gitHub(repository: String, commitID: String)
    /// `appSpecContent` (ECS and Lambda) or the older `string`: the AppSpec itself; only its hash
    /// is kept (the content can be large).
    case appSpec(sha256: String?)

    /// `s3://bucket/key`, `owner/repo@commit`, `AppSpec sha256:…`: the revision on one line.
    package var location: String {
        switch self {
        case .s3(let bucket, let key, _, _, _): "s3://\(bucket)/\(key)"
        case .gitHub(let repository, let commitID): "\(repository)@\(commitID)"
        case .appSpec(let sha256): "AppSpec" + (sha256.map { " sha256:\($0)" } ?? "")
        }
    }

    /// The location with the S3 object version, when there is one: `s3://b/k (version 3Lg…)`.
    package var text: String {
        if case .s3(_, _, let version?, _, _) = self { return "\(location) (version \(version))" }
        return location
    }

    /// `S3`, `GitHub` or `AppSpecContent`: the `revisionType` it stands for.
    package var type: String {
        switch self {
        case .s3: "S3"
        case .gitHub: "GitHub"
        case .appSpec: "AppSpecContent"
        }
    }
}

/// One CodeDeploy deployment as `BatchGetDeployments` describes it (the fields DeployVerify uses).
///
/// CodeDeploy's API does not say which IAM user or role created a deployment (CloudTrail's
/// `CreateDeployment` event does); `creator` says by what means: `user`, `autoscaling`,
/// `codeDeployRollback`, `CodeDeploy`, `CodeDeployAutoUpdate`, `CloudFormation`,
/// `CloudFormationRollback` or `autoscalingTermination`.
package struct CodeDeployDeployment: Sendable, Equatable {
    /// `d-AB1CDEF23`.
    package var id: String
    package var application: String
    package var group: String
    /// `Created`, `Queued`, `InProgress`, `Baking`, `Ready`, `Succeeded`, `Failed` or `Stopped`.
    package var status: String
    package var creator: String?
    package var revision: CodeDeployRevision?
    /// `errorInformation`: `HEALTH_CONSTRAINTS`, `TIMEOUT`, `MANUAL_STOP` … and its message.
    package var errorCode: String?
    package var errorMessage: String?
    package var createTime: Date?
    package var startTime: Date?
    package var completeTime: Date?
    /// `rollbackInfo`: the deployment that rolled this one back, the one whose failure this one
    /// rolls back, and CodeDeploy's message about it.
    package var rollbackDeploymentID: String?
    package var rollbackTriggeringDeploymentID: String?
    package var rollbackMessage: String?
    /// The `description` given to `CreateDeployment` (pipelines often name the release there).
    package var note: String?
    package var deploymentConfig: String?
    /// `Server`, `Lambda` or `ECS`.
    package var computePlatform: String?

    package init(id: String, application: String, group: String, status: String) {
        self.id = id
        self.application = application
        self.group = group
        self.status = status
    }

    /// The statuses a deployment ends in.
    package static let terminalStatuses: Set<String> = ["Succeeded", "Failed", "Stopped"]

    /// Whether the deployment has ended (succeeded, failed or was stopped).
    package var isTerminal: Bool { Self.terminalStatuses.contains(status) }

    /// From its start (its creation when it never started) to its end; nil while it runs.
    package var duration: Duration? {
        guard let end = completeTime, let start = startTime ?? createTime else { return nil }
        return .milliseconds(Int64((min(max(0, end.timeIntervalSince(start)), 9e12) * 1000).rounded()))
    }

    /// Reads a `DeploymentInfo`. Timestamps are epoch seconds (JSON numbers) as AWS sends them;
    /// RFC 3339 text is accepted too (emulators send it), and both are kept to the millisecond.
    /// Nil without a deployment id.
    package init?(_ value: JSONValue) {
        guard let id = value["deploymentId"]?.stringValue, !id.isEmpty else { return nil }
        self.init(id: id, application: value["applicationName"]?.stringValue ?? "",
                  group: value["deploymentGroupName"]?.stringValue ?? "", status: value["status"]?.stringValue ?? "Unknown")
        func text(_ value: JSONValue?) -> String? {
            guard let text = value?.stringValue, !text.isEmpty else { return nil }
            return text
        }
        func time(_ value: JSONValue?) -> Date? { value?.scalarText.flatMap(Self.time) }
        creator = text(value["creator"])
        createTime = time(value["createTime"])
        startTime = time(value["startTime"])
        completeTime = time(value["completeTime"])
        errorCode = text(value["errorInformation"]?["code"])
        errorMessage = text(value["errorInformation"]?["message"])
        rollbackDeploymentID = text(value["rollbackInfo"]?["rollbackDeploymentId"])
        rollbackTriggeringDeploymentID = text(value["rollbackInfo"]?["rollbackTriggeringDeploymentId"])
        rollbackMessage = text(value["rollbackInfo"]?["rollbackMessage"])
        note = text(value["description"])
        deploymentConfig = text(value["deploymentConfigName"])
        computePlatform = text(value["computePlatform"])
        revision = Self.revision(value["revision"])
    }

    /// A timestamp as epoch seconds or RFC 3339 text, kept to the millisecond; nil for anything
    /// else, and for a time before 1970 or after 9999 (no arithmetic on it can overflow).
    package static func time(_ text: String) -> Date? {
        guard let date = Timestamps.parse(text), (0...253_402_300_799).contains(date.timeIntervalSince1970) else { return nil }
        return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// A `RevisionLocation`, by the location it carries (`revisionType` says the same).
    static func revision(_ value: JSONValue?) -> CodeDeployRevision? {
        guard let value else { return nil }
        if let s3 = value["s3Location"], let bucket = s3["bucket"]?.stringValue, let key = s3["key"]?.stringValue {
            return .s3(bucket: bucket, key: key, version: s3["version"]?.stringValue, eTag: s3["eTag"]?.stringValue,
                       bundleType: s3["bundleType"]?.stringValue)
        }
        if let github = value["gitHubLocation"], let repository = github["repository"]?.stringValue,
           let commit = github["commitId"]?.stringValue {
            return .gitHub(repository: repository, commitID: commit)
        }
        if let content = value["appSpecContent"] ?? value["string"], content.objectValue != nil {
            return .appSpec(sha256: content["sha256"]?.stringValue)
        }
        return nil
    }
}

/// CodeDeploy's JSON 1.1 API (`X-Amz-Target: CodeDeploy_20141006.<Op>`), the calls DeployVerify
/// makes: the deployment-notification poller's three, the hook status report, and what the tests
/// use to set up an application.
extension AWSClient {
    private func codeDeploy(_ operation: String, _ body: (inout JSONText) -> Void) async throws(AWSError) -> JSONValue {
        var json = JSONText()
        json.object(body)
        return try await self.json(.codeDeploy, target: "CodeDeploy_20141006.\(operation)", version: "1.1", body: json.text)
    }

    /// Follows `nextToken` until a page comes without one (an empty or repeated token ends it
    /// too: a page loop must end whatever the server answers).
    private func codeDeployPages(_ operation: String, list: String, _ body: (inout JSONText) -> Void) async throws(AWSError) -> [String] {
        var items: [String] = []
        var token: String?
        var seen: Set<String> = []
        for _ in 0..<10_000 {
            let answer = try await codeDeploy(operation) { json in
                body(&json)
                if let token { json.member("nextToken", token) }
            }
            items += answer[list]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard let next = answer["nextToken"]?.stringValue, !next.isEmpty, seen.insert(next).inserted else { break }
            token = next
        }
        return items
    }

    /// Every deployment group of the application (all pages).
    package func listDeploymentGroups(application: String) async throws(AWSError) -> [String] {
        try await codeDeployPages("ListDeploymentGroups", list: "deploymentGroups") { json in
            json.member("applicationName", application)
        }
    }

    /// The ids of the group's deployments created in the time range and in one of `statuses`
    /// (all pages). CodeDeploy wants the group whenever the application is given.
    package func listDeployments(application: String, group: String, createdAfter: Date? = nil, createdBefore: Date? = nil,
                                 statuses: [String] = []) async throws(AWSError) -> [String] {
        try await codeDeployPages("ListDeployments", list: "deployments") { json in
            json.member("applicationName", application)
            json.member("deploymentGroupName", group)
            if !statuses.isEmpty {
                json.key("includeOnlyStatuses")
                json.array { json in for status in statuses { json.string(status) } }
            }
            if createdAfter != nil || createdBefore != nil {
                json.key("createTimeRange")
                json.object { json in
                    if let createdAfter {
                        json.key("start")
                        json.number(createdAfter.timeIntervalSince1970.rounded(.down))
                    }
                    if let createdBefore {
                        json.key("end")
                        json.number(createdBefore.timeIntervalSince1970.rounded(.up))
                    }
                }
            }
        }
    }

    /// The deployments with these ids, 25 per call (CodeDeploy's limit), in the order asked; ids
    /// CodeDeploy does not know are left out.
    package func batchGetDeployments(_ ids: [String]) async throws(AWSError) -> [CodeDeployDeployment] {
        var found: [String: CodeDeployDeployment] = [:]
        var start = 0
        while start < ids.count {
            let chunk = ids[start..<min(start + 25, ids.count)]
            start += 25
            let answer = try await codeDeploy("BatchGetDeployments") { json in
                json.key("deploymentIds")
                json.array { json in for id in chunk { json.string(id) } }
            }
            for item in answer["deploymentsInfo"]?.arrayValue ?? [] {
                if let deployment = CodeDeployDeployment(item) { found[deployment.id] = deployment }
            }
        }
        var ordered: [CodeDeployDeployment] = []
        for id in ids {
            if let deployment = found.removeValue(forKey: id) { ordered.append(deployment) }
        }
        return ordered
    }

    /// Reports a lifecycle hook's verdict (`Succeeded` or `Failed`) for an ECS or Lambda
    /// deployment; returns the execution id CodeDeploy confirms.
    @discardableResult
    package func putLifecycleEventHookExecutionStatus(deploymentID: String, executionID: String,
                                                      status: String) async throws(AWSError) -> String? {
        let answer = try await codeDeploy("PutLifecycleEventHookExecutionStatus") { json in
            json.member("deploymentId", deploymentID)
            json.member("lifecycleEventHookExecutionId", executionID)
            json.member("status", status)
        }
        return answer["lifecycleEventHookExecutionId"]?.stringValue
    }

    // MARK: Set-up (tests and tooling; the watcher only reads)

    /// Creates an application (`Server`, `Lambda` or `ECS`); returns its id.
    @discardableResult
    package func createApplication(_ name: String, computePlatform: String = "Server") async throws(AWSError) -> String? {
        try await codeDeploy("CreateApplication") { json in
            json.member("applicationName", name)
            json.member("computePlatform", computePlatform)
        }["applicationId"]?.stringValue
    }

    /// Creates a deployment group; returns its id.
    @discardableResult
    package func createDeploymentGroup(application: String, group: String, serviceRole: String) async throws(AWSError) -> String? {
        try await codeDeploy("CreateDeploymentGroup") { json in
            json.member("applicationName", application)
            json.member("deploymentGroupName", group)
            json.member("serviceRoleArn", serviceRole)
        }["deploymentGroupId"]?.stringValue
    }

    /// Starts a deployment of an S3 or GitHub revision; returns its id.
    package func createDeployment(application: String, group: String, revision: CodeDeployRevision,
                                  description: String? = nil) async throws(AWSError) -> String {
        let answer = try await codeDeploy("CreateDeployment") { json in
            json.member("applicationName", application)
            json.member("deploymentGroupName", group)
            json.key("revision")
            json.object { json in
                json.member("revisionType", revision.type)
                switch revision {
                case .s3(let bucket, let key, let version, let eTag, let bundleType):
                    json.key("s3Location")
                    json.object { json in
                        json.member("bucket", bucket)
                        json.member("key", key)
                        json.member("bundleType", bundleType ?? "zip")
                        if let version { json.member("version", version) }
                        if let eTag { json.member("eTag", eTag) }
                    }
                case .gitHub(let repository, let commitID):
                    json.key("gitHubLocation")
                    json.object { json in
                        json.member("repository", repository)
                        json.member("commitId", commitID)
                    }
                case .appSpec(let sha256):
                    json.key("appSpecContent")
                    json.object { json in json.member("sha256", sha256) }
                }
            }
            if let description { json.member("description", description) }
        }
        guard let id = answer["deploymentId"]?.stringValue else {
            throw AWSError(kind: .service, operation: "CodeDeploy CreateDeployment", message: "the answer has no deploymentId")
        }
        return id
    }
}
