/// The metric names and label values the sidecar and the SDK both emit, so one dashboard and one
/// alert serve a fleet that mixes them. Part of the contract with dashboards: change with care.
///
/// Labels: `requests` has `service`, `shard`, `status`; `requestDuration` has `service`;
/// `connectErrors` and `ejections` have `service`, `shard`; `openConnections` has `side`;
/// `misdirected` has `service` and `outcome` (`misdirectedRetried` or `misdirectedSurfaced`).
public enum MetricNames {
    public static let requests = "shardline_requests_total"
    public static let requestDuration = "shardline_request_duration_seconds"
    public static let connectErrors = "shardline_upstream_connect_errors_total"
    public static let openConnections = "shardline_open_connections"
    public static let ejections = "shardline_ejections_total"
    /// One per `421 Misdirected Request` a shard answered (SPEC.md 11.5): followed with one retry
    /// to the re-read config's owner, or returned to the caller. A retry that gets a 421 again
    /// counts once more, as surfaced.
    public static let misdirected = "shardline_misdirected_total"
    public static let misdirectedRetried = "retried"
    public static let misdirectedSurfaced = "surfaced"

    /// `service` and `shard` for a request that matched no service (or was refused before routing).
    public static let unrouted = "none"
}
