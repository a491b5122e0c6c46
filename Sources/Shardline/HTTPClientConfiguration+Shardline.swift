import AsyncHTTPClient
import NIOCore
import ShardlineCore

extension HTTPClient.Configuration {
    /// An AsyncHTTPClient configuration that gives the SDK the sidecar's transport settings from
    /// the config's `sidecar:` section: its connect timeout, idle timeout and per-shard connection
    /// limit, no connect retries inside AsyncHTTPClient (a refused connect fails at once, so the
    /// core's `RetryPolicy` and `OutlierDetector` decide, as in the sidecar), and redirects handed
    /// back to the caller (the sidecar does not follow them either).
    ///
    /// `HTTPClient.shared` keeps AsyncHTTPClient's defaults (10 s connect timeout, connects retried
    /// with back-off until the request's deadline); pass a client made from this configuration to
    /// get the sidecar's failure behaviour exactly.
    public static func shardline(_ settings: SidecarSettings = SidecarSettings()) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = TimeAmount(settings.connectTimeout)
        configuration.connectionPool = .init(
            idleTimeout: TimeAmount(settings.idleTimeout),
            concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maxConnectionsPerShard
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return configuration
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
