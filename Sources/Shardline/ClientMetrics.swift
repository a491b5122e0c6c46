import Metrics
import Synchronization

/// The SDK's metrics, with the sidecar's names and labels (`MetricNames` in the core), so one
/// dashboard shows a fleet that mixes sidecars and SDK clients. Through swift-metrics: the
/// application bootstraps whichever backend it uses; without one they cost nothing.
///
/// A request the SDK fails itself is counted with the status the sidecar would have answered
/// (404 unknown service, 400 no key, 503 shard unavailable, 502 connection lost, 504 timeout), so
/// the two read alike. The duration is measured to the response head: the body is the caller's to
/// stream.
final class ClientMetrics: Sendable {
    private struct RequestKey: Hashable {
        var service: String
        var shard: Int?
        var status: Int
    }

    private struct Handles {
        var requests: [RequestKey: Counter] = [:]
        var durations: [String: Metrics.Timer] = [:]
    }

    /// Handles are made once per label set: asking the backend for one costs a lock and a lookup.
    private let handles = Mutex(Handles())
    private let factory: any MetricsFactory

    /// - Parameter factory: nil: the process's (`MetricsSystem.bootstrap`).
    init(factory: (any MetricsFactory)?) {
        self.factory = factory ?? MetricsSystem.factory
    }

    func requestCompleted(service: String?, shard: Int?, status: Int, duration: Duration) {
        let service = service ?? MetricNames.unrouted
        let (counter, timer) = handles.withLock { handles in
            let key = RequestKey(service: service, shard: shard, status: status)
            let counter = handles.requests[key] ?? {
                let made = Counter(label: MetricNames.requests, dimensions: [
                    ("service", service), ("shard", shard.map(String.init) ?? MetricNames.unrouted), ("status", String(status)),
                ], factory: factory)
                handles.requests[key] = made
                return made
            }()
            let timer = handles.durations[service] ?? {
                let made = Metrics.Timer(label: MetricNames.requestDuration, dimensions: [("service", service)], preferredDisplayUnit: .seconds, factory: factory)
                handles.durations[service] = made
                return made
            }()
            return (counter, timer)
        }
        counter.increment()
        let (seconds, attoseconds) = duration.components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func connectFailed(service: String, shard: Int) {
        Counter(label: MetricNames.connectErrors, dimensions: [("service", service), ("shard", String(shard))], factory: factory).increment()
    }

    /// A shard's 421, followed (`MetricNames.misdirectedRetried`) or surfaced as `misdirected`.
    func misdirected(service: String, outcome: String) {
        Counter(label: MetricNames.misdirected, dimensions: [("service", service), ("outcome", outcome)], factory: factory).increment()
    }

    func shardEjected(service: String, shard: Int) {
        Counter(label: MetricNames.ejections, dimensions: [("service", service), ("shard", String(shard))], factory: factory).increment()
    }
}
