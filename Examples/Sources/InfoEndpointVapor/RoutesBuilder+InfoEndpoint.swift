import InfoEndpoint
import Vapor

extension RoutesBuilder {
    /// Mounts `/info`, `/health`, `/health/live`, `/health/ready` and `/metrics` (under the
    /// responder's `basePath`). Vapor answers HEAD with the GET route.
    public func addInfoEndpoints(_ responder: InfoResponder) {
        for path in InfoResponder.endpoints {
            on(.GET, (responder.basePath + path).pathComponents) { request async -> Response in
                let answer = await responder.respond(method: request.method.rawValue, path: request.url.path,
                                                     headers: request.headers.map { ($0.name, $0.value) })
                return Response(status: HTTPResponseStatus(statusCode: answer.status),
                                headers: HTTPHeaders(answer.headers.map { ($0.name, $0.value) }),
                                body: .init(data: Data(answer.body)))
            }
        }
    }
}
