import DeployVerifyKit
import Foundation
import InfoEndpoint

/// `/registrations` on the watcher's metrics port: CodeDeploy registrations added, listed and
/// removed at run time, kept in the store (``DeploymentNotifier/registrationKind``) so that they
/// survive restarts and are shared by the watchers of one DynamoDB table. The manifest's own
/// registrations are listed too, read-only.
///
/// | request | answer |
/// | --- | --- |
/// | `POST /registrations` (one registration) | 201 and the stored registration with its id; 400 naming the JSON path; 409 for an id in use |
/// | `GET /registrations` | 200 `{"registrations": [...]}` (`source`: `manifest` or `api`) |
/// | `GET /registrations/ID` | 200 the registration; 404 |
/// | `DELETE /registrations/ID` | 204; 404 unknown; 409 a manifest one |
///
/// Every request needs `Authorization: Bearer <token>` (compared in constant time); 401 with
/// `WWW-Authenticate: Bearer` otherwise.
package struct RegistrationsAPI: Sendable {
    package let manifest: Manifest
    package let store: any WatchStore
    private let token: [UInt8]

    package init(manifest: Manifest, store: any WatchStore, token: String) {
        self.manifest = manifest
        self.store = store
        self.token = Array(token.utf8)
    }

    /// Whether the request is the API's.
    package static func handles(_ path: String) -> Bool {
        path == "/registrations" || path.hasPrefix("/registrations/")
    }

    package func respond(to request: HTTPRequest, now: Date = Date()) async -> InfoResponse {
        guard InfoResponder.authorized(request.header("Authorization"), token: token) else {
            return Self.error(401, "unauthorized: send Authorization: Bearer <token>", headers: [("WWW-Authenticate", #"Bearer realm="versioncheck""#)])
        }
        let rest = request.path.dropFirst("/registrations".count).drop { $0 == "/" }
        do {
            if rest.isEmpty {
                switch request.method {
                case "GET", "HEAD": return try await list()
                case "POST": return try await add(request.body, now: now)
                default: return Self.error(405, "use GET or POST", headers: [("Allow", "GET, HEAD, POST")])
                }
            }
            let id = String(rest).removingPercentEncoding ?? String(rest)
            switch request.method {
            case "GET", "HEAD": return try await show(id)
            case "DELETE": return try await remove(id)
            default: return Self.error(405, "use GET or DELETE", headers: [("Allow", "GET, HEAD, DELETE")])
            }
        } catch {
            return Self.error(503, "the store \(store.name) cannot be used now: \(manifest.redactor.redact(String(describing: error)))")
        }
    }

    private func all() async throws -> [CodeDeployRegistration] {
        try await DeploymentNotifier.registrations(manifest: manifest, store: store)
    }

    private func list() async throws -> InfoResponse {
        let registrations = try await all()
        var json = JSONText()
        json.object { json in
            json.key("registrations")
            json.array { json in
                for registration in registrations { json.object { json in registration.write(to: &json, forAPI: true) } }
            }
        }
        return Self.json(200, json.text)
    }

    private func show(_ id: String) async throws -> InfoResponse {
        guard let registration = try await all().first(where: { $0.id == id }) else {
            return Self.error(404, "no registration '\(id.prefix(128))'")
        }
        return Self.json(200, registration.json(forAPI: true))
    }

    private func add(_ body: [UInt8], now: Date) async throws -> InfoResponse {
        let value: JSONValue
        do {
            value = try JSONFileError.parse(body, file: "the request body")
        } catch {
            return Self.error(400, "\(error.location.map { "\($0): " } ?? "")\(error.message)", path: nil)
        }
        var registration: CodeDeployRegistration
        do {
            registration = try RegistrationReader(file: "the request body", channels: manifest.channels).registration(value, "", source: .api)
        } catch {
            return Self.error(400, error.location.map { "\($0): \(error.message)" } ?? error.message, path: error.location)
        }
        let existing = try await all()
        if registration.id.isEmpty {
            repeat {
                registration.id = "reg-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            } while existing.contains { $0.id == registration.id }
        } else if let taken = existing.first(where: { $0.id == registration.id }) {
            return Self.error(409, "the id '\(registration.id)' is taken by a registration of the \(taken.source == .manifest ? "manifest" : "API")", path: "id")
        }
        registration.created = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded() / 1000)
        // The baseline of an API registration is its creation: what ended before is not announced.
        try await store.putDocument(DeploymentNotifier.watermarkKind, id: registration.id, DeploymentNotifier.watermarkJSON(now))
        try await store.putDocument(DeploymentNotifier.registrationKind, id: registration.id, registration.json())
        return Self.json(201, registration.json(forAPI: true), headers: [("Location", "/registrations/\(registration.id)")])
    }

    private func remove(_ id: String) async throws -> InfoResponse {
        if manifest.codeDeploy.registrations.contains(where: { $0.id == id }) {
            return Self.error(409, "'\(id)' is a registration of the manifest: change the manifest to remove it")
        }
        guard try await store.deleteDocument(DeploymentNotifier.registrationKind, id: id) else {
            return Self.error(404, "no registration '\(id.prefix(128))'")
        }
        _ = try? await store.deleteDocument(DeploymentNotifier.watermarkKind, id: id)
        return InfoResponse(status: 204)
    }

    private static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> InfoResponse {
        InfoResponse(status: status, contentType: "application/json", body: text + "\n", headers: [("Cache-Control", "no-store")] + headers)
    }

    /// `{"error": "...", "path": "notify[0]"}`.
    private static func error(_ status: Int, _ message: String, path: String? = nil,
                              headers: [(name: String, value: String)] = []) -> InfoResponse {
        var json = JSONText()
        json.object { json in
            json.member("error", message)
            if let path { json.member("path", path) }
        }
        return Self.json(status, json.text, headers: headers)
    }
}
