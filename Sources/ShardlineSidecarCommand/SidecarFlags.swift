import ArgumentParser
import ShardlineCore
import ShardlineSidecar

/// The sidecar's flags, their validation and its run, in one place for the two executables that
/// start it: `shardline sidecar` (the CLI, with every other command) and `shardline-sidecar` (the
/// sidecar alone, what the injected container runs: without the webhook's TLS, the SDK's HTTP
/// client and the example shard's server in the binary, its code pages take less memory in every
/// client pod). Each executable's command is an `@OptionGroup` of this and the configuration below.
public struct SidecarFlags: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The Shardline config (YAML), e.g. a mounted ConfigMap.", valueName: "file"))
    var config: String

    @Option(help: ArgumentHelp("Traffic listener, overriding the config's sidecar.listen (default 127.0.0.1:15001).", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("Admin listener, overriding the config's sidecar.admin (default 127.0.0.1:15090).", valueName: "host:port"))
    var admin: String?

    @Option(help: ArgumentHelp("Log level, overriding the config's sidecar.logLevel (default info): \(Self.levelNames).", valueName: "level"))
    var logLevel: String?

    @Option(help: ArgumentHelp("How often to check the config file for a new version, in milliseconds; 0 checks only on SIGHUP.", valueName: "ms"))
    var configPollMs: Int = 500

    @Option(help: ArgumentHelp("Event loop threads. Default: one per CPU the container may use.", valueName: "n"))
    var threads: Int?

    public init() {}

    private static let levelNames = SidecarSettings.LogLevel.allCases.map(\.rawValue).joined(separator: ", ")

    public func validate() throws {
        if let listen, HostPort(parsing: listen) == nil {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT; e.g. 127.0.0.1:15001 or [::1]:15001")
        }
        if let admin, HostPort(parsing: admin) == nil {
            throw ValidationError("--admin '\(admin)' is not HOST:PORT; e.g. 127.0.0.1:15090")
        }
        if let logLevel, SidecarSettings.LogLevel(rawValue: logLevel) == nil {
            throw ValidationError("--log-level '\(logLevel)' is not a level; use one of \(Self.levelNames)")
        }
        guard (0...3_600_000).contains(configPollMs) else {
            throw ValidationError("--config-poll-ms must be in 0...3600000 (0: reload on SIGHUP only)")
        }
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be in 1...256")
        }
    }

    /// Runs the sidecar until SIGTERM or SIGINT; a start-up failure (config, bind) exits non-zero.
    public func run() async throws {
        let startedAt = ContinuousClock.now
        var options = SidecarOptions(configPath: config)
        options.listen = listen.flatMap(HostPort.init(parsing:))
        options.admin = admin.flatMap(HostPort.init(parsing:))
        options.logLevel = logLevel.flatMap(SidecarSettings.LogLevel.init(rawValue:))
        options.configPollInterval = configPollMs > 0 ? .milliseconds(configPollMs) : nil
        options.eventLoopThreads = threads
        let status = await SidecarProcess.run(options: options, startedAt: startedAt)
        if status != 0 { throw ExitCode(status) }
    }

    /// The command's name, abstract and `--help` text; `invocation` is how the user starts it
    /// (`shardline sidecar` or `shardline-sidecar`), used in the examples.
    public static func configuration(commandName: String, invocation: String) -> CommandConfiguration {
        CommandConfiguration(
            commandName: commandName,
            abstract: "Run the sharding sidecar: a loopback HTTP proxy that sends each request straight to its shard's pod.",
            discussion: """
            The application sends plain HTTP to the sidecar (default 127.0.0.1:15001) with the \
            service's name as the Host; the sidecar extracts the shard key, picks the shard with the \
            config's placement algorithm, and forwards to the StatefulSet pod's stable DNS name. A \
            service with a `listenPort` also gets its own listener, whatever the Host.

            Admin listener (default 127.0.0.1:15090): /healthz (200 while running), /readyz (200 once \
            every listener is bound; 503 while starting and while draining), /metrics (Prometheus), \
            /config (the effective config as JSON).

            The config file is re-read when it changes (a mounted ConfigMap's update is seen within \
            --config-poll-ms) and on SIGHUP; an invalid new config is logged and refused while the \
            old one keeps serving. Listener addresses change only with a restart. SIGTERM or SIGINT: \
            stop accepting, finish in-flight requests within sidecar.drainTimeout (default 20s), exit \
            0. Logs are JSON lines on stdout.

            `shardline sidecar` and `shardline-sidecar` are the same command; the second is a binary \
            with the sidecar alone (what the injected container runs), smaller in memory.

            Exit status: 0 after a graceful shutdown; 1 when the config cannot be read or is invalid \
            (every problem is printed to stderr with its field path and line) or a listener cannot \
            bind.

            Example:
              \(invocation) --config /etc/shardline/config.yaml
              curl -H 'Host: users' http://127.0.0.1:15001/users/alice/profile
              curl http://127.0.0.1:15090/config
            """
        )
    }
}
