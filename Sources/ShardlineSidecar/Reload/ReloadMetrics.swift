import Prometheus

/// The reload series on `/metrics`: which config generation is serving, and how reloads went.
/// An alert on `increase(shardline_config_reloads_total{result="failure"}[5m]) > 0` catches a bad
/// ConfigMap that every sidecar refused (and is therefore not serving).
struct ReloadMetrics: Sendable {
    let generation: Gauge
    let successes: Counter
    let failures: Counter

    init(registry: PrometheusCollectorRegistry) {
        generation = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "shardline", subsystem: "config", metricName: "generation", unitName: "",
            helpText: "The serving config's generation: 1 at start, +1 per accepted reload."
        ))
        let reloads = MetricNameDescriptor(
            namespace: "shardline", subsystem: "config", metricName: "reloads", unitName: "total",
            helpText: "Config reloads by result: success (a new config is serving) or failure (refused; the previous config keeps serving)."
        )
        successes = registry.makeCounter(descriptor: reloads, labels: [("result", "success")])
        failures = registry.makeCounter(descriptor: reloads, labels: [("result", "failure")])
    }
}
