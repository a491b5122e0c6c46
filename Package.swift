// swift-tools-version:6.0
import PackageDescription

// Dependency direction: `shardline` (CLI) and `shardline-sidecar` -> ShardlineSidecarCommand ->
// ShardlineSidecar -> ShardlineConfigFile -> ShardlineCore (the sidecar's data path also on
// ShardlineHTTP1), and the SDK `Shardline` -> ShardlineConfigFile -> ShardlineCore. The core is pure (no NIO, no
// I/O); the sidecar and the SDK build on it and never on each other, so the routing decision and
// the failure policy have exactly one implementation.
let package = Package(
    name: "shardline",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ShardlineCore", targets: ["ShardlineCore"]),
        .library(name: "ShardlineSidecar", targets: ["ShardlineSidecar"]),
        .library(name: "ShardlineGenerate", targets: ["ShardlineGenerate"]),
        .library(name: "Shardline", targets: ["Shardline"]),
        // For shard servers: ownership check and 421 answer, framework-free (core only).
        .library(name: "ShardlineShard", targets: ["ShardlineShard"]),
        // The ready-made Hummingbird 2 middleware over ShardlineShard.
        .library(name: "ShardlineShardHummingbird", targets: ["ShardlineShardHummingbird"]),
        .executable(name: "shardline", targets: ["shardline"]),
        // The sidecar alone (`shardline sidecar`'s flags, nothing of the other commands): what the
        // injected sidecar container runs, for the smaller resident set.
        .executable(name: "shardline-sidecar", targets: ["shardline-sidecar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "ShardlineCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Shared I/O both the sidecar and the SDK need beyond the pure core: reading the config
        // file and watching it for the ConfigMap `..data` swap.
        .target(
            name: "ShardlineConfigFile",
            dependencies: ["ShardlineCore"]
        ),
        // The SDK: `import Shardline` routes from inside a Swift process exactly as the sidecar does.
        .target(
            name: "Shardline",
            dependencies: [
                "ShardlineCore",
                "ShardlineConfigFile",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // JSON log lines and the process's Prometheus registry: shared by every long-running
        // process (the sidecar, the injection webhook) so they log and count the same way.
        .target(
            name: "ShardlineObservability",
            dependencies: [
                "ShardlineCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "ShardlineSidecar",
            dependencies: [
                "ShardlineCore",
                "ShardlineConfigFile",
                "ShardlineObservability",
                "ShardlineHTTP1",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The proxy's lean HTTP/1 framing layer: heads parsed in place from `ByteBuffer`s, bodies
        // framed as byte counts, heads re-emitted with edits spliced in. Pure (no I/O) and on
        // NIOCore alone, so it is unit-tested and fuzzed (Fuzz/) without sockets.
        .target(
            name: "ShardlineHTTP1",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // Kubernetes objects for a sharded service, and the safe order to change its shard count:
        // pure (flags in, objects out), so the CLI only parses flags and writes files.
        .target(
            name: "ShardlineGenerate",
            dependencies: ["ShardlineCore", .product(name: "Yams", package: "Yams")]
        ),
        // Sidecar injection: the pod mutation (pure, on a generic JSON tree so unknown fields
        // survive), `shardline inject`'s YAML documents, the admission webhook (NIO + TLS) and
        // `shardline certs`. Never imports the sidecar.
        .target(
            name: "ShardlineInject",
            dependencies: [
                "ShardlineCore",
                "ShardlineObservability",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Shard-side half of the protocol: depends on the core only, so any server framework can use it.
        .target(name: "ShardlineShard", dependencies: ["ShardlineCore"]),
        .target(
            name: "ShardlineShardHummingbird",
            dependencies: [
                "ShardlineShard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The example key-value shard server (what the demo and e2e run as shard pods).
        .target(
            name: "ShardlineExampleShard",
            dependencies: [
                "ShardlineCore",
                "ShardlineShard",
                "ShardlineShardHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // `shardline sidecar`'s flags, validation, help and run, shared by the CLI and the
        // `shardline-sidecar` binary so the two take exactly the same command.
        .target(
            name: "ShardlineSidecarCommand",
            dependencies: [
                "ShardlineCore",
                "ShardlineSidecar",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Only the sidecar's own dependencies: no AsyncHTTPClient, Hummingbird, NIOSSL, X509, Crypto.
        .executableTarget(
            name: "shardline-sidecar",
            dependencies: [
                "ShardlineSidecarCommand",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "shardline",
            dependencies: [
                "ShardlineCore",
                "ShardlineConfigFile",
                "ShardlineSidecar",
                "ShardlineSidecarCommand",
                "ShardlineGenerate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `shardline demo` (Sources/shardline/Demo): stand-in shards and a client.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "ShardlineInject",
                "ShardlineExampleShard",
                "ShardlineShard",
                // `shardline demo`: the example shard servers, driven through the sidecar.
                "ShardlineShardHummingbird",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Test doubles and probes more than one test target uses (the 421-answering shard of the
        // sidecar's and the SDK's resharding tests; the Python-peer check of the vector and the
        // simulated-cluster tests). Only test targets depend on it.
        .target(
            name: "ShardlineTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/Support"
        ),
        .testTarget(name: "ShardlineCoreTests", dependencies: ["ShardlineCore", "ShardlineTestSupport"]),
        .testTarget(
            name: "ShardlineHTTP1Tests",
            dependencies: ["ShardlineHTTP1", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "ShardlineGenerateTests",
            dependencies: ["ShardlineGenerate", "ShardlineCore", .product(name: "Yams", package: "Yams")]
        ),
        // Runs the built `shardline` and `shardline-sidecar` binaries: the exact output shapes
        // scripts rely on.
        .testTarget(name: "ShardlineCLITests", dependencies: ["shardline", "shardline-sidecar", "ShardlineTestSupport", .product(name: "Yams", package: "Yams")]),
        // The SDK's tests; `shardline` so the real sidecar binary is built for the agreement test.
        .testTarget(
            name: "ShardlineSDKTests",
            dependencies: [
                "ShardlineTestSupport",
                "Shardline",
                "shardline",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ShardlineInjectTests",
            dependencies: [
                "ShardlineInject",
                "ShardlineCore",
                "ShardlineObservability",
                "shardline",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ShardlineShardTests", dependencies: ["ShardlineShard", "ShardlineCore"]),
        .testTarget(
            name: "ShardlineExampleShardTests",
            dependencies: [
                "ShardlineExampleShard",
                "ShardlineShardHummingbird",
                "ShardlineShard",
                "ShardlineCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ShardlineSidecarTests",
            dependencies: [
                "ShardlineTestSupport",
                "ShardlineSidecar",
                "ShardlineCore",
                "ShardlineConfigFile",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
