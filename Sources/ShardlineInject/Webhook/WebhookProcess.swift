import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShardlineCore
import ShardlineObservability

/// How `shardline webhook` is started.
public struct WebhookOptions: Sendable {
    public var certificatePath: String
    public var keyPath: String
    public var listen = HostPort(host: "0.0.0.0", port: 8443)
    public var settings = InjectionSettings()
    public var certificatePollInterval: Duration = .seconds(1)
    public var logLevel: Logger.Level = .info
    /// Whether this process owns SIGTERM/SIGINT; off when a test process embeds the webhook.
    public var handlesSignals = true
    public var eventLoopThreads: Int?

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

/// `shardline webhook` as a process: the sidecar's JSON logs, metrics registry and signal handling
/// (one `ServiceGroup`: SIGTERM drains and exits 0), the HTTPS server and the certificate reloader.
public enum WebhookProcess {
    public static func run(options: WebhookOptions, onBound: @escaping @Sendable (SocketAddress?) -> Void = { _ in }) async -> Int32 {
        SidecarLogging.bootstrap(level: options.logLevel)
        let logger = Logger(label: "shardline.webhook")
        let certificate: ServingCertificate
        do throws(WebhookStartError) {
            certificate = try ServingCertificate(certificatePath: options.certificatePath, keyPath: options.keyPath)
        } catch {
            FileDescriptorLogSink(fileDescriptor: 2).write(line: "shardline webhook: \(error.description)")
            onBound(nil)
            return 1
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.eventLoopThreads ?? System.coreCount)
        let routes = WebhookRoutes(
            reviewer: AdmissionReviewer(objects: ObjectInjector(pods: PodInjector(settings: options.settings))),
            registry: MetricsBootstrap.processRegistry(), logger: logger
        )
        let server = WebhookServer(address: options.listen, certificate: certificate, routes: routes, group: group, logger: logger, onBound: onBound)
        let reloader = CertificateReloader(certificate: certificate, interval: options.certificatePollInterval, logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: server, serviceName: "webhook"),
                .init(service: reloader, serviceName: "certificate-reloader"),
            ],
            gracefulShutdownSignals: options.handlesSignals ? [.sigterm, .sigint] : [],
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        let serviceGroup = ServiceGroup(configuration: configuration)
        var status: Int32 = 0
        do {
            try await serviceGroup.run()
            logger.info("stopped")
        } catch {
            logger.critical("webhook failed", metadata: ["error": .string("\(error)")])
            status = 1
        }
        try? await group.shutdownGracefully()
        return status
    }
}
