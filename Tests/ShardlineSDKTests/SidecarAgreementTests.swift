import AsyncHTTPClient
import Foundation
import NIOCore
import Shardline
import Testing

/// The SDK and the real sidecar binary, given the same config, send every request to the same
/// shard: 10,000 random paths (random keys, percent-encoded bytes, empty keys, paths the pattern
/// does not match, queries) go both ways to the same real backends on loopback, and each pair
/// must land on the same backend.
extension SDKEndToEnd {
@Suite("SDK and sidecar agree")
struct SidecarAgreementTests {
    /// A deterministic generator (SplitMix64), so a failure names a seed that reproduces it.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let plain = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@")
    static let escapes = ["%20", "%2F", "%2f", "%41", "%C3%A9", "%E2%82%AC", "%00", "%25", "%3F", "%F0%9F%98%80"]

    static func segment(_ random: inout Generator) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            if Int.random(in: 0..<5, using: &random) == 0 {
                text += escapes.randomElement(using: &random)!
            } else {
                text.append(plain.randomElement(using: &random)!)
            }
        }
        return text
    }

    static func path(_ random: inout Generator) -> String {
        var path: String
        switch Int.random(in: 0..<10, using: &random) {
        case 0: path = "/\(segment(&random))/\(segment(&random))"                // no match: hashPath
        case 1: path = "/users/\(segment(&random))"                              // no trailing slash: no match
        case 2: path = "/users//\(segment(&random))"                             // empty key: hashPath
        default: path = "/users/\(segment(&random))/\(segment(&random))"
        }
        if Int.random(in: 0..<4, using: &random) == 0 { path += "?q=\(segment(&random))" }
        return path
    }

    static let count = 10_000

    @Test func tenThousandRandomPathsLandOnTheSameBackend() async throws {
        try #require(SidecarBinary.isAvailable, "the shardline binary is missing at \(SidecarBinary.path); build it or set SHARDLINE_BIN")
        try await SDKTest.withShards(5) { shards in
            let directory = try SDKTest.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let configPath = directory.appendingPathComponent("config.yaml").path
            try usersYAML(endpoints: SDKTest.endpoints(shards)).write(toFile: configPath, atomically: true, encoding: .utf8)
            let sidecar = try await SidecarBinary.start(configPath: configPath)
            defer { sidecar.stop() }
            try await SDKTest.withHTTPClient { httpClient in
                let client = try ShardlineClient(configPath: configPath, httpClient: httpClient)
                var random = Generator(state: 0x5eed_0014)
                let paths = (0..<Self.count).map { _ in Self.path(&random) }

                let mismatches = try await withThrowingTaskGroup(of: [String].self) { group in
                    let lanes = 8
                    for lane in 0..<lanes {
                        group.addTask {
                            var mismatches: [String] = []
                            for index in stride(from: lane, to: paths.count, by: lanes) {
                                let path = paths[index]
                                let viaSDK = try await client.execute(HTTPClientRequest(url: "http://users\(path)"), timeout: .seconds(30))
                                var direct = HTTPClientRequest(url: "http://127.0.0.1:\(sidecar.port)\(path)")
                                direct.headers.add(name: "host", value: "users")
                                let viaSidecar = try await httpClient.execute(direct, timeout: .seconds(30))
                                let sdkBackend = viaSDK.headers.first(name: "x-backend") ?? "status \(viaSDK.status.code)"
                                let sidecarBackend = viaSidecar.headers.first(name: "x-backend") ?? "status \(viaSidecar.status.code)"
                                _ = try await viaSDK.body.collect(upTo: 1 << 16)
                                _ = try await viaSidecar.body.collect(upTo: 1 << 16)
                                if sdkBackend != sidecarBackend || viaSDK.status != .ok {
                                    mismatches.append("\(path): SDK -> \(sdkBackend), sidecar -> \(sidecarBackend)")
                                }
                            }
                            return mismatches
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(mismatches.isEmpty, "\(mismatches.count) of \(Self.count) differ, e.g. \(mismatches.prefix(5))")
                // Every backend got traffic: the comparison is not between two constant answers.
                for shard in shards {
                    #expect(paths.contains { (try? client.route(HTTPClientRequest(url: "http://users\($0)")).shard) == Int(shard.name.dropFirst(6)) })
                }
            }
        }
    }
}
}
