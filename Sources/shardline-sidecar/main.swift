#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ShardlineConfigFile
import ShardlineCore
import ShardlineSidecar

// `shardline-sidecar sidecar --config PATH [...]` and `shardline-sidecar validate PATH`: the
// `shardline` commands the proxy benchmark runs, with the options and meaning `shardline sidecar`
// has, in a binary that links only the sidecar. Anything else is refused with a usage line (no
// ArgumentParser here: its absence is the point of this target).

func usage(_ problem: String) -> Never {
    print("shardline-sidecar: \(problem)\nusage: shardline-sidecar sidecar --config PATH [--listen H:P] [--admin H:P] [--log-level L] [--config-poll-ms N] [--threads N] | validate PATH")
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { usage("a command is needed") }
arguments.removeFirst()

switch command {
case "validate":
    guard arguments.count == 1 else { usage("validate takes one config path") }
    do {
        let snapshot = try ConfigFile.read(path: arguments[0], followsUpdates: false)
        _ = try ConfigLoader.load(yaml: snapshot.text, source: arguments[0])
        print("\(arguments[0]): valid")
    } catch {
        print("\(arguments[0]): \(error)")
        exit(1)
    }
case "sidecar":
    var config: String?
    var threads: Int?
    var listen: HostPort?
    var admin: HostPort?
    var logLevel: SidecarSettings.LogLevel?
    var pollMs = 500
    while let flag = arguments.first {
        arguments.removeFirst()
        guard let value = arguments.first else { usage("\(flag) needs a value") }
        arguments.removeFirst()
        switch flag {
        case "--config", "-c": config = value
        case "--listen":
            guard let address = HostPort(parsing: value) else { usage("--listen must be host:port, not \(value)") }
            listen = address
        case "--admin":
            guard let address = HostPort(parsing: value) else { usage("--admin must be host:port, not \(value)") }
            admin = address
        case "--log-level":
            guard let level = SidecarSettings.LogLevel(rawValue: value) else { usage("--log-level: unknown level \(value)") }
            logLevel = level
        case "--config-poll-ms":
            guard let ms = Int(value), ms >= 0 else { usage("--config-poll-ms must be a whole number of milliseconds, not \(value)") }
            pollMs = ms
        case "--threads":
            guard let count = Int(value), (1...256).contains(count) else { usage("--threads must be in 1...256, not \(value)") }
            threads = count
        default: usage("unknown option \(flag)")
        }
    }
    guard let config else { usage("sidecar needs --config PATH") }
    var options = SidecarOptions(configPath: config)
    options.eventLoopThreads = threads
    options.listen = listen
    options.admin = admin
    options.logLevel = logLevel
    options.configPollInterval = pollMs > 0 ? .milliseconds(pollMs) : nil
    let status = await SidecarProcess.run(options: options, startedAt: .now)
    exit(status)
default:
    usage("unknown command \(command)")
}
