import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import ShardlineCore
import ShardlineShard

/// What `shardline shard-server` was asked to do.
public struct ShardServerOptions: Sendable {
    public var configPath: String
    /// Explicit ordinal; nil reads it from `hostname` (`users-2` is 2).
    public var ordinal: Int?
    public var hostname: String?
    public var service: String?
    public var listen: HostPort
    /// How often the config file is checked for a new version; nil never.
    public var configPollInterval: Duration?
    public var logLevel: Logger.Level
    /// Serve the test endpoints of `ShardTestHooks` (`/debug/...`, the slow-shard delay).
    public var testEndpoints: Bool
    /// The slow-shard delay at start (needs `testEndpoints`).
    public var testDelay: Duration

    public init(configPath: String, listen: HostPort) {
        self.configPath = configPath
        self.listen = listen
        self.configPollInterval = .seconds(1)
        self.logLevel = .info
        self.testEndpoints = false
        self.testDelay = .zero
    }
}

/// Runs the example shard server as a process: reads the config, works out the ordinal, serves
/// until SIGTERM/SIGINT. Prints `listening on HOST:PORT shard N` on stdout once bound (the actual
/// port when asked for port 0), the line scripts and tests wait for.
public enum ShardServerProcess {
    /// The exit status: 0 after a clean shutdown, 1 when it cannot start.
    public static func run(options: ShardServerOptions) async -> Int32 {
        var logger = Logger(label: "shardline.shard-server")
        logger.logLevel = options.logLevel
        let ownership: ShardOwnership
        do {
            let text = try String(contentsOfFile: options.configPath, encoding: .utf8)
            let config = try ConfigLoader.load(yaml: text, source: options.configPath)
            if let ordinal = options.ordinal {
                ownership = try ShardOwnership(config: config, ordinal: ordinal, service: options.service)
            } else {
                let hostname = options.hostname ?? ProcessInfo.processInfo.hostName
                ownership = try ShardOwnership(config: config, hostname: hostname, service: options.service)
            }
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("shardline shard-server: \(error)\n".utf8))
            return 1
        } catch {
            FileHandle.standardError.write(Data("shardline shard-server: \(error)\n".utf8))
            return 1
        }
        let testHooks = options.testEndpoints ? ShardTestHooks() : nil
        testHooks?.delay = options.testDelay
        let server = ExampleShardServer(ownership: ownership, testHooks: testHooks)
        var services: [any Service] = []
        if let interval = options.configPollInterval {
            services.append(ShardConfigWatcher(
                path: options.configPath, ordinal: ownership.ordinal, service: ownership.service,
                interval: interval, ownership: server.ownership, logger: logger, testHooks: testHooks))
        }
        let ordinal = ownership.ordinal
        let app = server.makeApplication(listen: options.listen, services: services, logger: logger) { channel in
            let port = channel.localAddress?.port ?? options.listen.port
            FileHandle.standardOutput.write(Data("listening on \(HostPort(host: options.listen.host, port: port)) shard \(ordinal)\n".utf8))
        }
        do {
            try await app.runService()
            return 0
        } catch {
            FileHandle.standardError.write(Data("shardline shard-server: \(error)\n".utf8))
            return 1
        }
    }
}
