// checkout on Vapor 4, with InfoEndpoint's endpoints mounted on its routes.
// usage: checkout-vapor [--host 127.0.0.1] [--port 8080] [--version 1.4.2]
import Foundation
import InfoEndpoint
import InfoEndpointVapor
import Vapor

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil }
}
let host = option("--host") ?? "127.0.0.1"
let port = Int(option("--port") ?? "8080") ?? 8080

let responder = InfoResponder(info: ServiceInfo(name: "checkout", version: option("--version") ?? "1.4.2", environment: "example"))
responder.addHealthCheck("database") { .pass } // a real service pings its database here

// Vapor's own command line is not used: this service takes --host, --port and --version.
let app = try await Application.make(.init(name: "production", arguments: ["checkout-vapor"]))
app.get("api", "cart") { _ -> Response in
    Response(status: .ok, headers: ["Content-Type": "application/json"], body: .init(string: #"{"items":[]}"#))
}
app.addInfoEndpoints(responder)
app.http.server.configuration.hostname = host
app.http.server.configuration.port = port
try await app.startup() // boots and runs its serve command: listens with the configuration above
print("checkout-vapor: listening on http://\(host):\(app.http.server.shared.localAddress?.port ?? port)")
fflush(nil)

// Vapor's serve command stops the app on SIGTERM and SIGINT.
try await app.running?.onStop.get()
try await app.asyncShutdown()
