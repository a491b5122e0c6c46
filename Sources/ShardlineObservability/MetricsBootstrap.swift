import Metrics
import Prometheus
import Synchronization

/// The process's Prometheus registry, behind swift-metrics. `MetricsSystem.bootstrap` may run
/// once per process (a second call traps), and a test process starts many sidecars, so the
/// bootstrap happens on first use and every later caller gets the same registry.
public enum MetricsBootstrap {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Latency buckets for a loopback hop plus one pod-to-pod hop: the library default starts at
    /// 5 ms, where a healthy sidecar request would already be in its top percentile.
    public static let requestDurationBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// The registry `/metrics` emits, bootstrapping swift-metrics onto it on the first call.
    public static func processRegistry() -> PrometheusCollectorRegistry {
        bootstrapped.withLock { registry in
            if let registry { return registry }
            let created = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: created)
            factory.defaultDurationHistogramBuckets = requestDurationBuckets
            MetricsSystem.bootstrap(factory)
            registry = created
            return created
        }
    }
}
