import AsyncHTTPClient
import Foundation
import NIOCore
import Shardline

// The SDK's cost per request, next to what it replaces: the same GETs, one at a time over kept-alive
// connections, through
//   direct:  plain AsyncHTTPClient straight to the right backend (URLs routed before timing: the floor)
//   sdk:     ShardlineClient.execute (routing, health check, metrics, AsyncHTTPClient)
//   sidecar: plain AsyncHTTPClient to the sidecar on loopback (Host: users), which routes and forwards
// Rounds interleave them so drift on a shared machine hits them alike. Two more paths, not timed
// unless asked for (`--modes direct,headers,routed,sdk`), split the SDK's cost into its parts:
//   headers: `direct` plus the two headers the SDK adds (x-shardline-shard, x-shardline-topology)
//   routed:  `headers` with the URL routed per request (client.route, then the URL built)
//
// Usage: sdk-latency --backends P0,P1,P2 --sidecar PORT [--requests N] [--warmup N]

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

guard let backendList = option("--backends"), let sidecarPort = option("--sidecar").flatMap(Int.init) else {
    print("usage: sdk-latency --backends P0,P1,P2 --sidecar PORT [--requests N] [--warmup N]")
    exit(64)
}
let requests = option("--requests").flatMap(Int.init) ?? 20_000
let warmup = option("--warmup").flatMap(Int.init) ?? 2_000
let endpoints = backendList.split(separator: ",").map { "127.0.0.1:\($0)" }

let config = try ShardlineConfig.service("users", urlShardPattern: "^/users/([^/]*)/", endpoints: endpoints)
let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .shardline(config.sidecar))
let client = ShardlineClient(config: config, httpClient: httpClient)

let paths = (0..<1000).map { "/users/key-\($0)/profile" }
let directURLs = try paths.map { path in
    "http://\(try client.route(HTTPClientRequest(url: "http://users\(path)")).address)\(path)"
}
let fingerprint = OwnershipResolver(config: config).fingerprint(service: 0).headerValue

// The routing step alone, without the network: what the SDK's decision costs per request.
let routeStart = ContinuousClock.now
var routed = 0
for index in 0..<100_000 {
    routed &+= try client.route(HTTPClientRequest(url: "http://users\(paths[index % paths.count])")).shard
}
let routeMicroseconds = Double((ContinuousClock.now - routeStart).components.attoseconds) / 1e12 + Double((ContinuousClock.now - routeStart).components.seconds) * 1e6
print(String(format: "client.route alone: %.2f µs per request (100,000 routed, checksum %d)", routeMicroseconds / 100_000, routed))

enum Mode: String, CaseIterable { case direct, sdk, sidecar, headers, routed }
// `--modes sdk` (or any comma-separated subset) times only those paths, so a profiler attached
// to this process sees one path's work.
let modes = try (option("--modes") ?? "direct,sdk,sidecar").split(separator: ",").map { name in
    guard let mode = Mode(rawValue: String(name)) else { throw SDKBenchError("unknown mode '\(name)'; modes: direct, sdk, sidecar, headers, routed") }
    return mode
}

func send(_ mode: Mode, _ index: Int) async throws {
    let path = paths[index % paths.count]
    let response: HTTPClientResponse
    switch mode {
    case .direct:
        var request = HTTPClientRequest(url: directURLs[index % paths.count])
        request.headers.add(name: "host", value: "users")
        response = try await httpClient.execute(request, timeout: .seconds(10))
    case .sdk:
        response = try await client.execute(HTTPClientRequest(url: "http://users\(path)"), timeout: .seconds(10))
    case .headers:
        var request = HTTPClientRequest(url: directURLs[index % paths.count])
        request.headers.add(name: "host", value: "users")
        request.headers.add(name: ShardlineHeaders.shard, value: String(index % 3))
        request.headers.add(name: ShardlineHeaders.topology, value: fingerprint)
        response = try await httpClient.execute(request, timeout: .seconds(10))
    case .routed:
        let decision = try client.route(HTTPClientRequest(url: "http://users\(path)"))
        var request = HTTPClientRequest(url: "http://\(decision.address)\(path)")
        request.headers.add(name: "host", value: "users")
        request.headers.add(name: ShardlineHeaders.shard, value: String(decision.shard))
        request.headers.add(name: ShardlineHeaders.topology, value: fingerprint)
        response = try await httpClient.execute(request, timeout: .seconds(10))
    case .sidecar:
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(sidecarPort)\(path)")
        request.headers.add(name: "host", value: "users")
        response = try await httpClient.execute(request, timeout: .seconds(10))
    }
    guard response.status == .ok else { throw SDKBenchError("\(mode.rawValue): status \(response.status.code) for \(path)") }
    _ = try await response.body.collect(upTo: 1 << 16)
}

struct SDKBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The timed rounds, off the main actor (top-level code runs on it): as in a server, where a
/// request is sent from a task, each request's time has no hop to the main thread and back in it.
@concurrent func timedRounds(modes: [Mode], warmup: Int, requests: Int) async throws -> [Mode: [Double]] {
    var samples: [Mode: [Double]] = [:]
    let clock = ContinuousClock()
    for round in 0..<(warmup + requests) {
        // Rotate the order so no mode always runs right after another.
        for offset in 0..<modes.count {
            let mode = modes[(round + offset) % modes.count]
            let start = clock.now
            try await send(mode, round)
            let elapsed = clock.now - start
            if round >= warmup {
                let (seconds, attoseconds) = elapsed.components
                samples[mode, default: []].append(Double(seconds) * 1e6 + Double(attoseconds) / 1e12)
            }
        }
    }
    return samples
}
let samples = try await timedRounds(modes: modes, warmup: warmup, requests: requests)

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

let directP50 = samples[.direct].map { percentile($0, 0.5) }
print("requests per mode: \(requests) (after \(warmup) warm-up), one at a time, keep-alive, 3 nginx backends on loopback")
print("| path | p50 (µs) | p99 (µs) | p50 vs direct |")
print("| --- | --- | --- | --- |")
for mode in modes {
    let values = samples[mode]!
    let p50 = percentile(values, 0.5)
    let ratio = directP50.map { String(format: "%+.1f%%", (p50 / $0 - 1) * 100) } ?? "—"
    print("| \(mode.rawValue) | \(String(format: "%.1f", p50)) | \(String(format: "%.1f", percentile(values, 0.99))) | \(mode == .direct ? "—" : ratio) |")
}
var usage = rusage()
getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
let cpuMicroseconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
print(String(format: "process CPU (user+system, warm-up included): %.1f µs per request", cpuMicroseconds / Double((warmup + requests) * modes.count)))
// `.get()`: in top-level code the bare call resolved to the EventLoopFuture overload, unawaited.
try await httpClient.shutdown().get()
