import Logging
import Metrics
import Prometheus
import ShardlineCore

/// One HTTP answer of the webhook.
public struct WebhookResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    static func json(_ status: Int, _ value: JSONValue) -> WebhookResponse {
        WebhookResponse(status: status, contentType: "application/json", body: Array(value.serialized().utf8))
    }
}

/// The webhook's endpoints as a function of method, path and body. The server only moves bytes.
public struct WebhookRoutes: Sendable {
    public static let mutatePath = "/mutate"
    /// The entry of the MutatingWebhookConfiguration whose namespace selector matches
    /// `shardline.io/injection: enabled`: pods there are injected unless they opt out.
    public static let mutateNamespacePath = "/mutate/namespace"
    /// The API server caps a request at 3 MiB; an AdmissionReview holds the object twice at most.
    public static let maximumBodyBytes = 7 * 1024 * 1024

    let reviewer: AdmissionReviewer
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    public init(reviewer: AdmissionReviewer, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.reviewer = reviewer
        self.registry = registry
        self.logger = logger
    }

    public func respond(method: String, target: String, body: [UInt8]) -> WebhookResponse {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        switch path {
        case Self.mutatePath, Self.mutateNamespacePath:
            guard method == "POST" else { return .json(405, Self.error("method not allowed", "\(path) takes POST with an AdmissionReview")) }
            return admit(body: body, namespaceOptedIn: path == Self.mutateNamespacePath)
        case "/healthz":
            return .json(200, .object([("status", .string("ok"))]))
        case "/metrics":
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return WebhookResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: buffer)
        default:
            return .json(404, Self.error("not found", "endpoints: POST \(Self.mutatePath), POST \(Self.mutateNamespacePath), GET /healthz, GET /metrics"))
        }
    }

    private func admit(body: [UInt8], namespaceOptedIn: Bool) -> WebhookResponse {
        let started = ContinuousClock.now
        let answer = reviewer.review(body: body, namespaceOptedIn: namespaceOptedIn)
        let elapsed = ContinuousClock.now - started
        guard let outcome = answer.outcome else {
            Counter(label: WebhookMetrics.badRequests).increment()
            logger.warning("bad AdmissionReview", metadata: ["reason": .string(answer.detail ?? "")])
            return .json(answer.status, answer.body)
        }
        WebhookMetrics.admission(outcome, dryRun: answer.dryRun).increment()
        Metrics.Timer(label: WebhookMetrics.duration, dimensions: [], preferredDisplayUnit: .seconds).recordInterval(elapsed)
        var metadata: Logger.Metadata = [
            "uid": .string(answer.uid ?? ""), "outcome": .string(outcome.rawValue), "dryRun": .stringConvertible(answer.dryRun),
        ]
        if let object = answer.object { metadata["object"] = .string(object) }
        if let detail = answer.detail { metadata["detail"] = .string(detail) }
        switch outcome {
        case .error: logger.error("admission failed inside the webhook; allowed without a patch", metadata: metadata)
        case .refused: logger.warning("admission refused injection; allowed unchanged", metadata: metadata)
        case .injected, .skipped: logger.info("admission", metadata: metadata)
        }
        return .json(answer.status, answer.body)
    }

    static func error(_ error: String, _ message: String) -> JSONValue {
        .object([("error", .string(error)), ("message", .string(message))])
    }
}

extension Metrics.Timer {
    fileprivate func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
