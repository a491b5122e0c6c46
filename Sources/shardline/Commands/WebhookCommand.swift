import ArgumentParser
import ShardlineCore
import ShardlineInject
import Logging

struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Run the sidecar injector: a Kubernetes mutating admission webhook over HTTPS.",
        discussion: """
        Serves AdmissionReview admission.k8s.io/v1 over HTTPS (TLS 1.2+):
          POST /mutate             pods that say shardline.io/inject: enabled get the sidecar
          POST /mutate/namespace   for namespaces labelled shardline.io/injection: enabled:
                                   every pod unless it says shardline.io/inject: disabled
          GET  /healthz            200 while running
          GET  /metrics            Prometheus: shardline_webhook_admissions_total{outcome,dry_run}, ...
        The answer is allowed: true with the sidecar as a base64 JSONPatch; the mutation is the \
        one `shardline inject` makes. A body that is not an AdmissionReview gets 400; any other \
        problem (a pod that cannot take the sidecar, an internal error) is allowed without a \
        patch, logged and counted, so pod creation never waits on the injector. dryRun requests \
        get the same answer (the webhook has no side effects).

        The certificate and key are re-read when the files change (a cert-manager rotation); \
        connections already open keep the certificate they started with. SIGTERM: stop \
        accepting, finish requests in flight, exit 0. Logs are JSON lines on stdout.

        Example:
          shardline certs --service shardline-injector --namespace shardline-system --output certs
          shardline webhook --cert certs/tls.crt --key certs/tls.key --listen 127.0.0.1:8443
        """
    )

    @Option(help: ArgumentHelp("The serving certificate (PEM; a chain may follow the leaf).", valueName: "file"))
    var cert: String

    @Option(help: ArgumentHelp("The serving certificate's private key (PEM).", valueName: "file"))
    var key: String

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen: String = "0.0.0.0:8443"

    @Option(help: ArgumentHelp("How often to check the certificate files for a new version, in milliseconds.", valueName: "ms"))
    var certPollMs: Int = 1000

    @Option(help: ArgumentHelp("The webhook's own log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "info"

    @OptionGroup(title: "Sidecar defaults")
    var injection: InjectionOptions

    func validate() throws {
        if HostPort(parsing: listen) == nil {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT; e.g. 0.0.0.0:8443")
        }
        guard (100...3_600_000).contains(certPollMs) else { throw ValidationError("--cert-poll-ms must be in 100...3600000") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level '\(logLevel)' is not a level; use one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var options = WebhookOptions(certificatePath: cert, keyPath: key)
        options.listen = HostPort(parsing: listen)!
        options.settings = injection.settings
        options.certificatePollInterval = .milliseconds(certPollMs)
        options.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let status = await WebhookProcess.run(options: options)
        if status != 0 { throw ExitCode(status) }
    }
}
