import ArgumentParser
import Logging
import ShardlineCore
import ShardlineExampleShard
import ShardlineShard

struct ShardServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard-server",
        abstract: "Run the example shard server: a key-value service that keeps only its own keys.",
        discussion: """
        GET, PUT and DELETE on any path (e.g. /users/alice/profile) read, write and delete the \
        value stored at that path. Each request's shard key is checked against the config: a key \
        another shard owns gets 421 Misdirected Request with x-shardline-owner (the owner's \
        ordinal) and x-shardline-topology (this shard's placement fingerprint), so a client with \
        a stale config can correct itself. During a resharding (a service with `previous:`), a \
        miss on a key whose owner changed is read through from the previous owner named by \
        x-shardline-previous-shard / x-shardline-previous-address, and the value is kept here. \
        /healthz and /readyz are answered by every shard.

        The shard's ordinal is --ordinal, or else read from the pod's hostname (users-2 is 2; \
        the name before the ordinal must be the service's statefulSet). The config file is \
        re-read when it changes; an invalid new config is logged and the old one keeps serving.

        For tests and demos only, --test-endpoints serves GET /debug/state (the shard's \
        ordinal, topology fingerprint, local key count and counters of 421s, accepted writes, \
        hand-overs and read-throughs), GET /debug/keys (every path held locally, without any \
        read-through) and PUT /debug/delay (a body of milliseconds, 0...60000: every key request \
        waits that long first, a slow shard; --test-delay-ms sets it at start). Never enable it \
        in production: it lists every key and lets any caller slow the shard down.

        Prints `listening on HOST:PORT shard N` once bound. SIGTERM or SIGINT: finish in-flight \
        requests and exit 0. Exit status 1 when the config, the ordinal or the listener is bad.

        Example:
          shardline shard-server --config shardline.yaml --ordinal 2 --listen 127.0.0.1:8082
          curl -X PUT --data-binary v1 -H 'Host: users' http://127.0.0.1:8082/users/alice/profile
        """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("The Shardline config (YAML), the same file the clients use.", valueName: "file"))
    var config: String

    @Option(help: ArgumentHelp("This shard's ordinal. Default: read from the hostname (users-2 is 2).", valueName: "n"))
    var ordinal: String?

    @Option(help: ArgumentHelp("The service this shard belongs to; needed when the config has more than one.", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("Listen address; port 0 picks a free port (printed).", valueName: "host:port"))
    var listen: String = "0.0.0.0:8080"

    @Option(help: ArgumentHelp("How often to check the config file for a new version, in milliseconds; 0 never.", valueName: "ms"))
    var configPollMs: Int = 1000

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    @Flag(help: "For tests and demos only: serve /debug/state, /debug/keys and PUT /debug/delay (see above).")
    var testEndpoints = false

    @Option(help: ArgumentHelp("For tests only (needs --test-endpoints): delay every key request by this many milliseconds, a slow shard.", valueName: "ms"))
    var testDelayMs: Int = 0

    func validate() throws {
        if let ordinal {
            do {
                _ = try ShardOrdinal.parse(ordinal: ordinal, source: "--ordinal")
            } catch {
                throw ValidationError(error.message)
            }
        }
        guard HostPort(parsing: listen) != nil else {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT; e.g. 0.0.0.0:8080 or 127.0.0.1:0")
        }
        guard (0...3_600_000).contains(configPollMs) else {
            throw ValidationError("--config-poll-ms must be in 0...3600000 (0: never re-read)")
        }
        guard (0...60_000).contains(testDelayMs) else {
            throw ValidationError("--test-delay-ms must be in 0...60000")
        }
        if testDelayMs > 0 && !testEndpoints {
            throw ValidationError("--test-delay-ms is a test hook; it needs --test-endpoints")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level '\(logLevel)' is not a level; use trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() async throws {
        var options = ShardServerOptions(configPath: config, listen: HostPort(parsing: listen)!)
        options.ordinal = try ordinal.map { try ShardOrdinal.parse(ordinal: $0, source: "--ordinal") }
        options.service = service
        options.configPollInterval = configPollMs > 0 ? .milliseconds(configPollMs) : nil
        options.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        options.testEndpoints = testEndpoints
        options.testDelay = .milliseconds(testDelayMs)
        let status = await ShardServerProcess.run(options: options)
        if status != 0 { throw ExitCode(status) }
    }
}
