// swift-tools-version:6.0
import PackageDescription

// An application that links the Shardline SDK, the way any client would: by package dependency
// (here by path, so it always builds against this checkout). Built and run by the SDK's tests
// (ExamplePackageTests).
let package = Package(
    name: "shardline-example",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "shardline", path: "../../.."),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "shardline-example",
            dependencies: [
                .product(name: "Shardline", package: "shardline"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
