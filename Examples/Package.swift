// swift-tools-version:6.0
// DeployVerify's examples: InfoEndpoint mounted in Hummingbird 2 and Vapor 4 routers, and a
// worker with no HTTP framework serving it on an admin port. A package of its own so that the
// toolkit itself depends on nothing; it uses the toolkit by path.
import PackageDescription

let package = Package(
    name: "Examples",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "InfoEndpointHummingbird", targets: ["InfoEndpointHummingbird"]),
        .library(name: "InfoEndpointVapor", targets: ["InfoEndpointVapor"]),
        .executable(name: "checkout-hummingbird", targets: ["CheckoutHummingbird"]),
        .executable(name: "checkout-vapor", targets: ["CheckoutVapor"]),
        .executable(name: "worker", targets: ["Worker"]),
    ],
    dependencies: [
        .package(name: "DeployVerify", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.100.0"),
    ],
    targets: [
        // The adapters: a few lines each, mounting InfoResponder's endpoints on a router.
        .target(name: "InfoEndpointHummingbird", dependencies: [
            .product(name: "InfoEndpoint", package: "DeployVerify"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .target(name: "InfoEndpointVapor", dependencies: [
            .product(name: "InfoEndpoint", package: "DeployVerify"),
            .product(name: "Vapor", package: "vapor"),
        ]),
        .executableTarget(name: "CheckoutHummingbird", dependencies: [
            "InfoEndpointHummingbird", .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "CheckoutVapor", dependencies: [
            "InfoEndpointVapor", .product(name: "Vapor", package: "vapor"),
        ]),
        // No HTTP framework: InfoServer, InfoEndpoint's own server, on an admin port.
        .executableTarget(name: "Worker", dependencies: [.product(name: "InfoEndpoint", package: "DeployVerify")],
                          plugins: [.plugin(name: "BuildStamp", package: "DeployVerify")]),
        .testTarget(name: "ExamplesTests", dependencies: []),
    ]
)
