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
    ],
    targets: [
        // The algorithm quality table (moved fraction and peak-to-mean load, N = 1...64):
        // swift run -c release placement-quality
        .executableTarget(
            name: "placement-quality",
            dependencies: [.product(name: "ShardlineCore", package: "shardline")],
            path: "Sources/placement-quality"
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
