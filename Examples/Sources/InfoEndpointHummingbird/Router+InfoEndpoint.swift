import HTTPTypes
import Hummingbird
import InfoEndpoint

extension Router {
    /// Mounts `/info`, `/health`, `/health/live`, `/health/ready` and `/metrics` (under the
    /// responder's `basePath`) for GET and HEAD.
    public func addInfoEndpoints(_ responder: InfoResponder) {
        for path in InfoResponder.endpoints {
            for method in [HTTPRequest.Method.get, .head] {
                on(RouterPath(responder.basePath + path), method: method) { request, _ -> Response in
                    let answer = await responder.respond(method: request.method.rawValue, path: request.uri.path,
                                                         headers: request.headers.map { ($0.name.rawName, $0.value) })
                    var headers = HTTPFields()
                    for (name, value) in answer.headers {
                        if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
                    }
                    return Response(status: .init(code: answer.status), headers: headers,
                                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
                }
            }
        }
    }
}
