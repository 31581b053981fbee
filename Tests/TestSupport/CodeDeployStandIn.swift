import Foundation
import InfoEndpoint

/// A scripted CodeDeploy on 127.0.0.1 (point `AWS_ENDPOINT_URL_CODEDEPLOY` at ``url``) for what
/// moto cannot do: moto creates deployments but never moves one to `Succeeded`, `Failed` or
/// `Stopped`, and does not implement `PutLifecycleEventHookExecutionStatus`. It answers
/// `ListDeploymentGroups`, `ListDeployments`, `BatchGetDeployments` and
/// `PutLifecycleEventHookExecutionStatus` with the JSON of AWS's API reference (JSON 1.1,
/// timestamps as epoch seconds), pages lists by `pageSize` with `nextToken`, refuses what AWS
/// refuses (a group without its application, more than 25 ids), and can deny an operation as
/// an IAM policy would. Signatures are not checked (moto's tests do that).
package final class CodeDeployStandIn: Sendable {
    /// One deployment, as the test sets it.
    package struct Deployment: Sendable {
        package var id: String
        package var application: String
        package var group: String
        package var status: String
        package var creator = "user"
        package var createTime: Double
        package var startTime: Double?
        package var completeTime: Double?
        /// `{"revisionType": "S3", "s3Location": {...}}` as JSON text.
        package var revision: String?
        package var errorCode: String?
        package var errorMessage: String?
        package var rollbackDeploymentID: String?
        package var note: String?

        package init(id: String, application: String, group: String, status: String, createTime: Double) {
            self.id = id
            self.application = application
            self.group = group
            self.status = status
            self.createTime = createTime
        }
    }

    private struct World {
        var groups: [String: [String]] = [:]
        var deployments: [String: Deployment] = [:]
        var order: [String] = []
        var denied: Set<String> = []
        var hookStatuses: [(deployment: String, execution: String, status: String)] = []
        var completedHooks: Set<String> = []
    }

    private let world: Locked<World>
    private let server: ScriptedServer

    /// - Parameter pageSize: items per page of a list (more come with `nextToken`).
    package init(pageSize: Int = 100) throws {
        let world = Locked(World())
        self.world = world
        server = try ScriptedServer { request, _ in
            Self.answer(request, world: world, pageSize: pageSize)
        }
    }

    package var url: String { server.url("") }
    package var requests: [HTTPRequest] { server.requests }

    /// The `X-Amz-Target` operations received, in order (`ListDeployments`).
    package var operations: [String] {
        requests.compactMap { $0.header("X-Amz-Target")?.split(separator: ".").last.map(String.init) }
    }

    /// The JSON bodies of the requests of one operation.
    package func bodies(_ operation: String) -> [[String: Any]] {
        requests.filter { $0.header("X-Amz-Target") == "CodeDeploy_20141006.\(operation)" }
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.body))) as? [String: Any] }
    }

    package func addGroup(_ group: String, application: String) {
        world.withLock { $0.groups[application, default: []].append(group) }
    }

    /// Adds or replaces a deployment.
    package func put(_ deployment: Deployment) {
        world.withLock { world in
            if world.deployments[deployment.id] == nil { world.order.append(deployment.id) }
            world.deployments[deployment.id] = deployment
        }
    }

    /// Changes a deployment.
    package func update(_ id: String, _ change: @Sendable (inout Deployment) -> Void) {
        world.withLock { world in
            if var deployment = world.deployments[id] {
                change(&deployment)
                world.deployments[id] = deployment
            }
        }
    }

    /// Answers this operation with `AccessDeniedException`, as AWS does for an action the
    /// caller's policy does not allow.
    package func deny(_ operation: String) {
        world.withLock { _ = $0.denied.insert(operation) }
    }

    /// The statuses reported through `PutLifecycleEventHookExecutionStatus`.
    package var hookStatuses: [(deployment: String, execution: String, status: String)] { world.withLock { $0.hookStatuses } }

    package func stop() async { await server.stop() }

    private static func answer(_ request: HTTPRequest, world: Locked<World>, pageSize: Int) -> InfoResponse {
        guard request.method == "POST", let target = request.header("X-Amz-Target"), target.hasPrefix("CodeDeploy_20141006."),
              request.header("Content-Type") == "application/x-amz-json-1.1" else {
            return failure(400, "UnknownOperationException", "expected a CodeDeploy JSON 1.1 request")
        }
        let operation = String(target.dropFirst("CodeDeploy_20141006.".count))
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
        return world.withLock { world -> InfoResponse in
            if world.denied.contains(operation) {
                return failure(400, "AccessDeniedException",
                               "User: arn:aws:iam::123456789012:user/watcher is not authorized to perform: codedeploy:\(operation)")
            }
            switch operation {
            case "ListDeploymentGroups":
                guard let application = body["applicationName"] as? String else {
                    return failure(400, "ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
                }
                guard let groups = world.groups[application] else {
                    return failure(400, "ApplicationDoesNotExistException", "No application found for name: \(application)")
                }
                return page(groups, key: "deploymentGroups", token: body["nextToken"] as? String, size: pageSize,
                            extra: ["applicationName": application])
            case "ListDeployments":
                let application = body["applicationName"] as? String
                let group = body["deploymentGroupName"] as? String
                if application != nil, group == nil {
                    return failure(400, "DeploymentGroupNameRequiredException", "Deployment group name is required when application name is specified")
                }
                if let application, world.groups[application] == nil {
                    return failure(400, "ApplicationDoesNotExistException", "No application found for name: \(application)")
                }
                if let application, let group, !(world.groups[application] ?? []).contains(group) {
                    return failure(400, "DeploymentGroupDoesNotExistException", "No Deployment Group found for name: \(group)")
                }
                let statuses = body["includeOnlyStatuses"] as? [String]
                let range = body["createTimeRange"] as? [String: Any]
                let start = (range?["start"] as? NSNumber)?.doubleValue
                let end = (range?["end"] as? NSNumber)?.doubleValue
                let ids = world.order.compactMap { world.deployments[$0] }.filter { deployment in
                    (application == nil || deployment.application == application) && (group == nil || deployment.group == group)
                        && (statuses.map { $0.contains(deployment.status) } ?? true)
                        && (start.map { deployment.createTime >= $0 } ?? true) && (end.map { deployment.createTime <= $0 } ?? true)
                }.map(\.id)
                return page(ids, key: "deployments", token: body["nextToken"] as? String, size: pageSize, extra: [:])
            case "BatchGetDeployments":
                guard let ids = body["deploymentIds"] as? [String], !ids.isEmpty else {
                    return failure(400, "DeploymentIdRequiredException", "At least one deployment ID must be specified.")
                }
                guard ids.count <= 25 else {
                    return failure(400, "BatchLimitExceededException", "The maximum number of names or IDs allowed for this request (25) was exceeded.")
                }
                let infos = ids.compactMap { world.deployments[$0] }.map(info)
                return json(["deploymentsInfo": infos])
            case "PutLifecycleEventHookExecutionStatus":
                guard let deployment = body["deploymentId"] as? String, let execution = body["lifecycleEventHookExecutionId"] as? String,
                      let status = body["status"] as? String else {
                    return failure(400, "InvalidLifecycleEventHookExecutionIdException", "missing deploymentId, lifecycleEventHookExecutionId or status")
                }
                guard status == "Succeeded" || status == "Failed" else {
                    return failure(400, "InvalidLifecycleEventHookExecutionStatusException", "The result of a Lambda validation function must be Succeeded or Failed.")
                }
                guard world.completedHooks.insert(execution).inserted else {
                    return failure(400, "LifecycleEventAlreadyCompletedException", "The execution \(execution) has already completed.")
                }
                world.hookStatuses.append((deployment, execution, status))
                return json(["lifecycleEventHookExecutionId": execution])
            default:
                return failure(400, "UnknownOperationException", "\(operation) is not scripted")
            }
        }
    }

    /// `DeploymentInfo` as the API reference shows it.
    private static func info(_ deployment: Deployment) -> [String: Any] {
        var info: [String: Any] = [
            "applicationName": deployment.application, "deploymentGroupName": deployment.group, "deploymentId": deployment.id,
            "status": deployment.status, "creator": deployment.creator, "createTime": deployment.createTime,
            "deploymentConfigName": "CodeDeployDefault.OneAtATime", "computePlatform": "Server",
            "deploymentOverview": ["Pending": 0, "InProgress": 0, "Succeeded": 2, "Failed": 0, "Skipped": 0, "Ready": 0],
            "ignoreApplicationStopFailures": false, "updateOutdatedInstancesOnly": false,
            "deploymentStyle": ["deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"],
        ]
        if let startTime = deployment.startTime { info["startTime"] = startTime }
        if let completeTime = deployment.completeTime { info["completeTime"] = completeTime }
        if let revision = deployment.revision, let value = try? JSONSerialization.jsonObject(with: Data(revision.utf8)) {
            info["revision"] = value
        }
        if deployment.errorCode != nil || deployment.errorMessage != nil {
            info["errorInformation"] = ["code": deployment.errorCode ?? "", "message": deployment.errorMessage ?? ""]
        }
        if let rollback = deployment.rollbackDeploymentID {
            info["rollbackInfo"] = ["rollbackDeploymentId": rollback, "rollbackMessage": "Rolled back by \(rollback)"]
        }
        if let note = deployment.note { info["description"] = note }
        return info
    }

    private static func page(_ items: [String], key: String, token: String?, size: Int, extra: [String: Any]) -> InfoResponse {
        var start = 0
        if let token {
            guard token.hasPrefix("page-"), let offset = Int(token.dropFirst(5)), offset <= items.count else {
                return failure(400, "InvalidNextTokenException", "The next token was specified in an invalid format.")
            }
            start = offset
        }
        let end = min(items.count, start + size)
        var answer = extra
        answer[key] = Array(items[start..<end])
        if end < items.count { answer["nextToken"] = "page-\(end)" }
        return json(answer)
    }

    private static func json(_ object: [String: Any]) -> InfoResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return InfoResponse(status: 200, contentType: "application/x-amz-json-1.1", body: String(decoding: data, as: UTF8.self))
    }

    private static func failure(_ status: Int, _ code: String, _ message: String) -> InfoResponse {
        let data = (try? JSONSerialization.data(withJSONObject: ["__type": code, "message": message])) ?? Data()
        return InfoResponse(status: status, contentType: "application/x-amz-json-1.1", body: String(decoding: data, as: UTF8.self))
    }
}
