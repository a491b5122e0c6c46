import ArgumentParser
import Foundation
import ServiceLifecycle
import Logging
import Synchronization

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run it all locally: three shard servers, the sidecar, requests, a live reshard to four.",
        discussion: """
        No cluster needed. Starts three example shard servers (the key-value server of \
        `shardline shard-server`) on loopback and the real sidecar in front of them (service \
        `users`, pattern '^/users/([^/]*)/', jump). Writes --keys keys through the sidecar and reads \
        them back, showing which shard answered next to the shard the core predicts (PATHs are \
        sent too). Then reshards to four under load, in the safe order: a fourth shard is started \
        and ready, the shards get the four-shard config (with the three-shard list as `previous`), \
        then the sidecar does. It prints the fraction of keys that moved beside `shardline plan`'s, \
        the failed requests, and whether every key reads back its value from its new owner.

        Exit 0 only when every request reached its predicted shard, no request failed, the moved \
        fraction equals the plan's, every moved key is on the new shard and every key read back. \
        Ctrl-C stops everything cleanly.

        Examples:
          shardline demo
          shardline demo --keys 1000 /users/zoe/profile /healthz
        """
    )

    @Option(help: "Keys written before the reshard (10...5000).")
    var keys = 300

    @Argument(help: ArgumentHelp("Extra request paths to send through the sidecar for the table.", valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        guard (10...5000).contains(keys) else { throw ValidationError("--keys must be in 10...5000") }
        for path in paths where !path.hasPrefix("/") {
            throw ValidationError("'\(path)' is not a request path: it must start with '/'")
        }
    }

    func run() async throws {
        var options = LocalDemo.Options()
        options.keys = keys
        options.paths = paths
        let demo = DemoService(options: options)
        // Ctrl-C (SIGINT) and SIGTERM end the demo through a graceful shutdown: the demo is
        // cancelled, and stops its sidecar and shard servers on the way out.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: demo, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigint, .sigterm],
            logger: Logger(label: "shardline.demo", factory: { _ in SwiftLogNoOpLogHandler() })
        ))
        try await group.run()
        guard let report = demo.report else {
            print("Interrupted: stopped the sidecar and the shard servers.")
            throw ExitCode(130)
        }
        if report.allHeld {
            print("All of it held: every request reached its predicted shard, none failed during the reshard, the keys that moved are the ones the plan predicts, and every key read back.")
        } else {
            print("FAILED: not everything held (see above).")
            throw ExitCode(1)
        }
    }
}

/// The demo as a `Service`, so a signal cancels it the way it stops any service.
final class DemoService: Service, Sendable {
    let options: LocalDemo.Options
    private let result = Mutex<LocalDemo.Report?>(nil)

    init(options: LocalDemo.Options) {
        self.options = options
    }

    var report: LocalDemo.Report? { result.withLock { $0 } }

    func run() async throws {
        let options = options
        do {
            let report = try await cancelWhenGracefulShutdown {
                try await LocalDemo.run(options) { line in
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
            }
            result.withLock { $0 = report }
        } catch where Task.isShuttingDownGracefully || Task.isCancelled {
            // Interrupted: everything the demo started is stopped; `report` stays nil.
        }
    }
}
