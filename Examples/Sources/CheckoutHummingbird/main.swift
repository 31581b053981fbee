// checkout on Hummingbird 2, with InfoEndpoint's endpoints mounted on its router.
// usage: checkout-hummingbird [--host 127.0.0.1] [--port 8080] [--version 1.4.2]
import Foundation
import Hummingbird
import InfoEndpoint
import InfoEndpointHummingbird

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil }
}
let host = option("--host") ?? "127.0.0.1"
let port = Int(option("--port") ?? "8080") ?? 8080

let responder = InfoResponder(info: ServiceInfo(name: "checkout", version: option("--version") ?? "1.4.2", environment: "example"))
responder.addHealthCheck("database") { .pass } // a real service pings its database here

let router = Router()
router.get("api/cart") { _, _ -> String in #"{"items":[]}"# }
router.addInfoEndpoints(responder)

let app = Application(
    router: router,
    configuration: .init(address: .hostname(host, port: port), serverName: "checkout"),
    onServerRunning: { channel in
        print("checkout-hummingbird: listening on http://\(host):\(channel.localAddress?.port ?? port)")
        fflush(nil)
    }
)
try await app.runService() // stops cleanly on SIGTERM and SIGINT
