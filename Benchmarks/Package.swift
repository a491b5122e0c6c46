// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so the main build and CI never compile the benchmark
// harness. Run: cd Benchmarks && swift package benchmark
let package = Package(
    name: "ShardlineBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "shardline", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The algorithm quality table (moved fraction and peak-to-mean load, N = 1...64):
        // swift run -c release placement-quality
        .executableTarget(
            name: "placement-quality",
            dependencies: [.product(name: "ShardlineCore", package: "shardline")],
            path: "Sources/placement-quality"
        ),
        // The SDK against plain AsyncHTTPClient and the sidecar (p50/p99 per request):
        // Benchmarks/sdk-bench.sh builds and runs it with the backends and the sidecar.
        .executableTarget(
            name: "sdk-latency",
            dependencies: [
                .product(name: "Shardline", package: "shardline"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/sdk-latency"
        ),
        .executableTarget(
            name: "RouterBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ShardlineCore", package: "shardline"),
            ],
            path: "Benchmarks/RouterBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
