import Benchmark
import ShardlineCore

/// The routing budget: key extraction + hash + placement for the seed pattern in at most 100 ns
/// median (release build). Run: cd Benchmarks && swift package benchmark --target RouterBenchmarks
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        // Each sample runs 1,000 lookups and reports per lookup, so the timer's own cost
        // (about 170 ns a reading here) does not swamp a 20 ns operation.
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 20_000
    )

    let paths = [
        "/users/alice/profile",
        "/users/bob/settings/notifications",
        "/users/7f3a9c2e41b0d5e6/orders?page=2",
        "/users/carol/",
        "/users/a-much-longer-user-identifier-0042/avatar.png",
    ]
    let seed = try! PathPattern(#"^\/users\/([^\/]*)\/.*"#)
    let placement = Placement(algorithm: .jump, shardCount: 16)
    let router = ShardRouter(config: try! ConfigLoader.load(yaml: """
    services:
      - name: users
        hosts: [users]
        pattern: '^\\/users\\/([^\\/]*)\\/.*'
        statefulSet: users
        service: users
        port: 8080
        replicas: 16
    """))

    // The issue's budget: extract the key with the seed pattern, hash it, place it.
    Benchmark("extract+hash+place (seed pattern, jump, 16 shards)") { benchmark in
        for iteration in benchmark.scaledIterations {
            var path = paths[iteration % paths.count]
            let shard = path.withUTF8 { bytes -> Int in
                guard case .matched(let group) = seed.firstGroup(in: bytes) else { return -1 }
                return placement.shard(forKey: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[group])))
            }
            blackHole(shard)
        }
    }

    // What the sidecar calls per request: host lookup, target parsing, extraction, hash, placement.
    Benchmark("ShardRouter.route (seed pattern, jump, 16 shards)") { benchmark in
        for iteration in benchmark.scaledIterations {
            blackHole(router.route(host: "users", target: paths[iteration % paths.count]))
        }
    }

    Benchmark("pattern only (seed pattern)") { benchmark in
        for iteration in benchmark.scaledIterations {
            var path = paths[iteration % paths.count]
            blackHole(path.withUTF8 { seed.firstGroup(in: $0) })
        }
    }

    let keys = SampleKeys.generate(count: 1024)
    for algorithm in PlacementAlgorithm.allCases {
        let placement = Placement(algorithm: algorithm, serverNames: (0..<16).map { "10.0.0.\($0):8080" })
        Benchmark("hash+place \(algorithm.rawValue) (16 shards)") { benchmark in
            for iteration in benchmark.scaledIterations {
                var key = keys[iteration & 1023]
                blackHole(key.withUTF8 { placement.shard(forKey: UnsafeRawBufferPointer($0)) })
            }
        }
    }
}
