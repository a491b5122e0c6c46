import Logging
import NIOCore
import NIOPosix
import ShardlineConfigFile
import ShardlineCore

/// `shardline sidecar` as a process: JSON logging and metrics set up once, an event loop group
/// sized to the CPUs the container may use, the sidecar run to its end, and an exit status.
public enum SidecarProcess {
    /// Runs the sidecar until a graceful shutdown completes.
    ///
    /// - Returns: 0 after a graceful shutdown; 1 when the config cannot be read or is invalid
    ///   (the error, naming each field and line, goes to stderr as text) or a listener cannot bind
    ///   (a `critical` log line says which).
    public static func run(options: SidecarOptions, startedAt: ContinuousClock.Instant = .now) async -> Int32 {
        let levelControl = SidecarLogging.bootstrap(level: Logger.Level(options.logLevel ?? .info))
        let logger = Logger(label: "shardline.sidecar")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.eventLoopThreads ?? System.coreCount)
        var status: Int32 = 0
        do {
            let sidecar = try await Sidecar(
                options: options, registry: MetricsBootstrap.processRegistry(), group: group,
                logger: logger, levelControl: levelControl, startedAt: startedAt
            )
            try await sidecar.run()
            logger.info("stopped")
        } catch let error as ConfigError {
            writeStandardError(error.description)
            status = 1
        } catch let error as ConfigFileError {
            writeStandardError(error.description)
            status = 1
        } catch {
            logger.critical("sidecar failed", metadata: ["error": .string("\(error)")])
            status = 1
        }
        try? await group.shutdownGracefully()
        return status
    }

    private static func writeStandardError(_ message: String) {
        FileDescriptorLogSink(fileDescriptor: 2).write(line: message)
    }
}
