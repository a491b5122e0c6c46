import Logging

/// The access log (`sidecar.accessLog`): one line per request the proxy answered or forwarded,
/// whoever answered it, so a request that failed is never missing from it.
///
/// Lines are written at info whatever `logLevel` is, as nginx's `access_log` ignores
/// `error_log`'s level.
struct AccessLog: Sendable {
    /// Nil when `sidecar.accessLog` is off.
    private let logger: Logger?

    init(logger: Logger, enabled: Bool) {
        var logger = logger
        logger.logLevel = .info
        self.logger = enabled ? logger : nil
    }

    /// Whether lines are written: when not, the caller need not compose the fields.
    var isEnabled: Bool { logger != nil }

    /// - Parameters:
    ///   - method: nil when no request head was decoded (a `408` for a head that never finished).
    ///   - aborted: the response was cut short (the client or the shard went away mid-answer).
    func record(
        method: String?, path: String?, host: String?, status: Int, duration: Duration, target: ShardTarget?, aborted: Bool
    ) {
        guard let logger else { return }
        let millis = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": .string(method ?? "-"),
            "path": .string(path ?? "-"),
            "host": .string(host ?? ""),
            "status": .stringConvertible(status),
            "duration_ms": .stringConvertible((millis * 1000).rounded() / 1000),
        ]
        if let target {
            metadata["service"] = .string(target.service)
            metadata["shard"] = .stringConvertible(target.shard)
            metadata["upstream"] = .string(target.address.description)
        }
        if aborted { metadata["aborted"] = "true" }
        logger.info("request", metadata: metadata)
    }
}
