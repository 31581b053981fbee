// swift-tools-version:6.0
// DeployVerify: Foundation only. This manifest declares no package dependencies, on purpose:
// the toolkit links into any service without pulling in versions of NIO or anything else.
import PackageDescription

let package = Package(
    name: "DeployVerify",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "InfoEndpoint", targets: ["InfoEndpoint"]),
        .plugin(name: "BuildStamp", targets: ["BuildStamp"]),
        .executable(name: "hookrunner", targets: ["HookRunnerCLI"]),
        .executable(name: "versioncheck", targets: ["VersionCheckCLI"]),
        .executable(name: "example-service", targets: ["ExampleService"]),
        .executable(name: "demo", targets: ["Demo"]),
    ],
    targets: [
        // epoll/eventfd/accept4 are not exported by Glibc's Swift overlay; this shim exposes them,
        // and looks up the build stamp the BuildStamp plugin compiles into the executable.
        .target(name: "CShims", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "InfoEndpoint", dependencies: ["CShims"]),
        // What hookrunner and versioncheck share: the probe layer (an HTTP/1.1 client of its own
        // for http://, URLSession for https://), JSON paths, version matching, command-line support.
        .target(name: "DeployVerifyKit", dependencies: ["InfoEndpoint", "CShims"]),
        // URLSession for https:// on Darwin. Linux executables do not link it (libcurl is driven
        // directly there), which keeps FoundationNetworking out of every start-up.
        .target(name: "DeployVerifyURLSession", dependencies: ["DeployVerifyKit"]),
        .plugin(name: "BuildStamp", capability: .buildTool()),
        .target(name: "HookRunner", dependencies: [
            "DeployVerifyKit", "VersionCheck",
            .target(name: "DeployVerifyURLSession", condition: .when(platforms: [.macOS])),
        ]),
        .executableTarget(name: "HookRunnerCLI", dependencies: ["HookRunner"], plugins: ["BuildStamp"]),
        .target(name: "VersionCheck", dependencies: [
            "DeployVerifyKit",
            .target(name: "DeployVerifyURLSession", condition: .when(platforms: [.macOS])),
        ]),
        .executableTarget(name: "VersionCheckCLI", dependencies: ["VersionCheck"], plugins: ["BuildStamp"]),
        .executableTarget(
            name: "ExampleService",
            dependencies: ["InfoEndpoint", "CShims"],
            plugins: ["BuildStamp"]
        ),
        // `swift run demo`: the whole toolkit on 127.0.0.1, hookrunner and versioncheck run in-process.
        .executableTarget(name: "Demo", dependencies: ["InfoEndpoint", "DeployVerifyKit", "HookRunner", "VersionCheck"]),
        // bench/info-server.sh measures the RSS InfoServer adds to this otherwise idle process.
        .executableTarget(name: "InfoServerHost", dependencies: ["InfoEndpoint"], path: "bench/InfoServerHost"),
        // Shared by the test targets: a raw socket client and a child-process runner.
        .target(name: "TestSupport", dependencies: ["InfoEndpoint", "CShims"], path: "Tests/TestSupport"),
        .testTarget(name: "InfoEndpointTests", dependencies: ["InfoEndpoint", "TestSupport"]),
        .testTarget(name: "DeployVerifyKitTests", dependencies: ["DeployVerifyKit", "DeployVerifyURLSession", "InfoEndpoint", "TestSupport"], exclude: ["sigv4_botocore.py"]),
        .testTarget(name: "VersionCheckTests", dependencies: ["VersionCheck", "DeployVerifyKit", "InfoEndpoint", "TestSupport"]),
        .testTarget(name: "HookRunnerTests", dependencies: ["HookRunner", "DeployVerifyKit", "InfoEndpoint", "TestSupport"]),
        .testTarget(name: "DemoTests", dependencies: ["TestSupport"]),
        .testTarget(name: "RecipesTests", dependencies: ["VersionCheck", "TestSupport"], exclude: ["recipes_lint.py"]),
    ]
)
