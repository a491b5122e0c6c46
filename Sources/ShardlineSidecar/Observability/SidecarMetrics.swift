import Metrics

/// The proxy's metrics, emitted through swift-metrics (the process bootstraps the Prometheus
/// backend; without one they cost nothing). Names and labels are part of the sidecar's contract
/// with dashboards, so they live here in one place.
struct SidecarMetrics: Sendable {
    static let requests = "shardline_requests_total"
    static let requestDuration = "shardline_request_duration_seconds"
    static let connectErrors = "shardline_upstream_connect_errors_total"
    static let openConnections = "shardline_open_connections"
    static let ejections = "shardline_ejections_total"

    /// `service` and `shard` for a request that matched no service (or was refused before routing).
    static let unrouted = "none"

    let downstreamConnections = Meter(label: SidecarMetrics.openConnections, dimensions: [("side", "downstream")])
    let upstreamConnections = Meter(label: SidecarMetrics.openConnections, dimensions: [("side", "upstream")])

    /// One request answered, by a shard or by the proxy itself.
    func requestCompleted(service: String?, shard: Int?, status: Int, duration: Duration) {
        let service = service ?? Self.unrouted
        Counter(label: Self.requests, dimensions: [
            ("service", service), ("shard", shard.map(String.init) ?? Self.unrouted), ("status", String(status)),
        ]).increment()
        let (seconds, attoseconds) = duration.components
        Metrics.Timer(label: Self.requestDuration, dimensions: [("service", service)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func connectFailed(_ target: ShardTarget) {
        Counter(label: Self.connectErrors, dimensions: [("service", target.service), ("shard", String(target.shard))]).increment()
    }

    func shardEjected(_ target: ShardTarget) {
        Counter(label: Self.ejections, dimensions: [("service", target.service), ("shard", String(target.shard))]).increment()
    }
}
