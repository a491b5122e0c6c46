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
        var pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: TimeAmount(settings.idleTimeout),
            concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maxConnectionsPerShard
        )
        pool.retryConnectionEstablishment = false
        return HTTPClient.Configuration(
            tlsConfiguration: nil, redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(settings.connectTimeout)), connectionPool: pool,
            proxy: nil, ignoreUncleanSSLShutdown: false, decompression: .disabled
        )
    }
}

