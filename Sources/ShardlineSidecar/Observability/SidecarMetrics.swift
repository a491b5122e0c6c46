import Metrics
import ShardlineCore
import Synchronization

/// The proxy's metrics, emitted through swift-metrics (the process bootstraps the Prometheus
/// backend; without one they cost nothing). Names and labels are part of the sidecar's contract
/// with dashboards, so they live here in one place.
///
/// Handles are made once per label set and kept: asking the backend for a handle costs a lock,
/// label validation and a lookup, which is too much to pay on every request.
final class SidecarMetrics: Sendable {
    // The names are shared with the SDK (`MetricNames` in the core), so one dashboard serves both.
    static let requests = MetricNames.requests
    static let requestDuration = MetricNames.requestDuration
    static let connectErrors = MetricNames.connectErrors
    static let openConnections = MetricNames.openConnections
    static let ejections = MetricNames.ejections

    /// `service` and `shard` for a request that matched no service (or was refused before routing).
    static let unrouted = MetricNames.unrouted

    private struct RequestKey: Hashable {
        var service: String
        var shard: Int?
        var status: Int
    }

    private struct Handles {
        var requests: [RequestKey: Counter] = [:]
        var durations: [String: Metrics.Timer] = [:]
    }

    let downstreamConnections = Meter(label: SidecarMetrics.openConnections, dimensions: [("side", "downstream")])
    let upstreamConnections = Meter(label: SidecarMetrics.openConnections, dimensions: [("side", "upstream")])
    private let handles = Mutex(Handles())

    /// One request answered, by a shard or by the proxy itself.
    func requestCompleted(service: String?, shard: Int?, status: Int, duration: Duration) {
        let service = service ?? Self.unrouted
        let (counter, timer) = handles.withLock { handles in
            let key = RequestKey(service: service, shard: shard, status: status)
            let counter = handles.requests[key] ?? {
                let made = Counter(label: Self.requests, dimensions: [
                    ("service", service), ("shard", shard.map(String.init) ?? Self.unrouted), ("status", String(status)),
                ])
                handles.requests[key] = made
                return made
            }()
            let timer = handles.durations[service] ?? {
                let made = Metrics.Timer(label: Self.requestDuration, dimensions: [("service", service)], preferredDisplayUnit: .seconds)
                handles.durations[service] = made
                return made
            }()
            return (counter, timer)
        }
        counter.increment()
        timer.recordNanoseconds(duration.wholeNanoseconds)
    }

    func connectFailed(_ target: ShardTarget) {
        Counter(label: Self.connectErrors, dimensions: [("service", target.service), ("shard", String(target.shard))]).increment()
    }

    /// A shard's 421, followed (`MetricNames.misdirectedRetried`) or returned to the client.
    func misdirected(service: String, outcome: String) {
        Counter(label: MetricNames.misdirected, dimensions: [("service", service), ("outcome", outcome)]).increment()
    }

    func shardEjected(_ target: ShardTarget) {
        Counter(label: Self.ejections, dimensions: [("service", target.service), ("shard", String(target.shard))]).increment()
    }
}
