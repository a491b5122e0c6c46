import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ShardlineCore
import ShardlineSidecar

#if canImport(Glibc)
import Glibc
#endif

/// `shardline demo`: the whole request path on one machine, no cluster. Three stand-in shard pods
/// on loopback, the real sidecar in front of them, and requests sent through it; each answer is
/// checked against the shard the core's `ShardRouter` predicts. Part of the CLI, not of the sidecar
/// library: it drives the sidecar from outside, through its public API, as a user would.
enum LocalDemo {
    struct Outcome: Sendable {
        var path: String
        var key: String?
        var predicted: Int?
        var answeredBy: Int?
        var status: Int
        var agrees: Bool { predicted == answeredBy }
    }

    static let defaultPaths = [
        "/users/alice/profile", "/users/bob/settings", "/users/oscar/orders?page=2",
        "/users/al%69ce/avatar.png", "/users/peggy/", "/users/erin/feed", "/healthz",
    ]

    /// Runs the demo and returns one outcome per path, in order.
    static func run(paths: [String], shards: Int = 3) async throws -> [Outcome] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var servers: [DemoShardServer] = []
        do {
            for ordinal in 0..<shards {
                servers.append(try await DemoShardServer.bind(ordinal: ordinal, group: group))
            }
            let directory = try TemporaryDirectory()
            let configPath = directory.path + "/shardline.yaml"
            try writeFile(configPath, contents: demoConfig(ports: servers.map(\.port)))
            let router = ShardRouter(config: try ConfigLoader.load(yaml: demoConfig(ports: servers.map(\.port))))

            var options = SidecarOptions(configPath: configPath)
            options.listen = HostPort(host: "127.0.0.1", port: 0)
            options.admin = HostPort(host: "127.0.0.1", port: 0)
            options.handlesSignals = false
            options.configPollInterval = nil
            let quiet = Logger(label: "shardline.demo", factory: { _ in SwiftLogNoOpLogHandler() })
            let sidecar = try await Sidecar(options: options, registry: PrometheusCollectorRegistry(), group: group, logger: quiet)

            let outcomes = try await withThrowingTaskGroup(of: [Outcome]?.self) { tasks in
                for server in servers { tasks.addTask { await server.serve(); return nil } }
                tasks.addTask { try await sidecar.run(); return nil }
                tasks.addTask {
                    guard let proxy = await sidecar.proxyAddresses().first, let port = proxy.port else {
                        throw DemoError("the sidecar bound no listener")
                    }
                    var outcomes: [Outcome] = []
                    for path in paths {
                        let expected = try? router.route(host: "users", target: path).get()
                        let (status, shard) = try await DemoClient.get(port: port, host: "users", path: path, group: group)
                        outcomes.append(Outcome(path: path, key: expected?.key, predicted: expected?.shard, answeredBy: shard, status: status))
                    }
                    return outcomes
                }
                var result: [Outcome] = []
                while let next = try await tasks.next() {
                    if let outcomes = next {
                        result = outcomes
                        await sidecar.triggerGracefulShutdown()
                        for server in servers { try? await server.channel.channel.close() }
                    }
                }
                return result
            }
            try? await group.shutdownGracefully()
            return outcomes
        } catch {
            for server in servers { try? await server.channel.channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
    }

    static func demoConfig(ports: [Int]) -> String {
        """
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]*)/'
            onMiss: hashPath
            algorithm: jump
            endpoints: [\(ports.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]
        """
    }

    private static func writeFile(_ path: String, contents: String) throws {
        guard let file = fopen(path, "w") else { throw DemoError("cannot write \(path)") }
        defer { fclose(file) }
        fputs(contents, file)
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A directory under /tmp that is removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/shardline-demo-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap(mkdtemp) }) else {
            throw DemoError("cannot create a temporary directory")
        }
        path = String(cString: made)
    }

    deinit {
        _ = unlink(path + "/shardline.yaml")
        _ = rmdir(path)
    }
}

/// One GET through the sidecar, on its own connection.
enum DemoClient {
    static func get(port: Int, host: String, path: String, group: any EventLoopGroup) async throws -> (status: Int, shard: Int?) {
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: HTTPHeaders([("host", host), ("connection", "close")]))
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var status = 0
            var shard: Int?
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    shard = response.headers.first(name: "x-demo-shard").flatMap { Int($0) }
                case .body:
                    break
                case .end:
                    return (status, shard)
                }
            }
            return (status, shard)
        }
    }
}
