import AsyncHTTPClient
import Foundation
import NIOCore
import Shardline

// Usage: shardline-example HOST:PORT... (the shard pods, shard 0 first)
//    or: shardline-example --config /etc/shardline/config.yaml
// Sends GET http://users/users/<name>/profile for a few names and prints, for each, the shard the
// SDK chose and what the pod answered.
let arguments = Array(CommandLine.arguments.dropFirst())
guard !arguments.isEmpty else {
    print("usage: shardline-example HOST:PORT... | --config FILE")
    exit(64)
}

let client: ShardlineClient
do {
    if arguments.first == "--config", arguments.count == 2 {
        client = try ShardlineClient(configPath: arguments[1])
    } else {
        // Metaparticle's two lines, plus where the shards are.
        let config = try ShardlineConfig.service("users", urlShardPattern: #"^/users/([^/]*)/.*"#, endpoints: arguments)
        client = ShardlineClient(config: config)
    }
} catch {
    print("error: \(error)")
    exit(1)
}

for name in ["alice", "bob", "carol", "dave", "erin"] {
    let request = HTTPClientRequest(url: "http://users/users/\(name)/profile")
    do {
        let decision = try client.route(request)
        let response = try await client.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        print("\(name) -> shard \(decision.shard) (\(decision.address)): \(response.status.code) \(String(buffer: body))")
    } catch let error as ShardlineError {
        print("\(name) -> error \(error.code.rawValue): \(error.message)")
    } catch {
        print("\(name) -> error \(error)")
    }
}
