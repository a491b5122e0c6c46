import ShardlineCore

/// What becomes of a request whose attempt at its shard failed: sent again (the retry policy
/// allows it; the request was marked for it), or answered by the proxy.
enum FailedAttempt {
    case retry
    case answer(LocalResponse)
}

/// What a failed attempt means for the shard (the outlier detector, the keep-alive policy, the
/// address cache) and for the request. On `ProxyServices`, whose parts these are.
extension ProxyServices {
    /// The pool could not hand over a connection.
    func leaseFailed(_ request: ProxyRequest, _ error: UpstreamPool.LeaseError) -> FailedAttempt {
        switch error.failure {
        case .connectFailed:
            metrics.connectFailed(request.target)
            recordTransportFailure(request)
            if case .retry = request.retry.attemptFailed(.connectFailed) {
                logRetry(request, reason: error.reason)
                return .retry
            }
            return .answer(.shardUnavailable(request.target, reason: error.reason))
        case .queueFull, .queueTimeout:
            shards.health.recordAbandoned(request.target.address, probe: request.probe)
            return .answer(.shardOverloaded(request.target, reason: error.reason))
        case .shuttingDown:
            shards.health.recordAbandoned(request.target.address, probe: request.probe)
            return .answer(.shardUnavailable(request.target, reason: error.reason))
        }
    }

    /// The shard's connection closed before any answer to the request.
    func connectionLost(_ request: ProxyRequest, on connection: UpstreamConnection) -> FailedAttempt {
        if request.nothingWritten {
            // A kept-alive connection the shard had closed: the request never left, so it goes
            // again, on another connection, whatever its method; the shard did nothing wrong.
            request.pendingBody = request.unconfirmedBody
            request.unconfirmedBody = []
            if case .retry = request.retry.attemptFailed(.closedBeforeWrite) {
                logRetry(request, reason: "the kept-alive connection was closed before the request was written")
                return .retry
            }
            return .answer(.connectionLost(request.target))
        }
        if connection.requestsServed > 1, let idle = connection.idleBeforeLease {
            // Most likely closed idle just as the request went out: connections idle that long
            // are not reused again.
            shards.keepAlive.shardClosedIdleConnection(request.target.address, after: idle)
        }
        if connection.requestsServed <= 1 {
            // A fresh connection lost: the shard (or its pod) failed. A kept-alive one lost before
            // any answer is most likely the shard closing it idle just as the request went out,
            // which says nothing about the shard's health.
            recordTransportFailure(request)
        }
        // Either way, a pod that restarted drops its connections and may come back elsewhere:
        // look it up again (the address stays usable: nothing failed to connect).
        shards.addresses.invalidate(request.target.address, failed: connection.channel.remoteAddress, connectFailed: false)
        if case .retry = request.retry.attemptFailed(.connectionLost) {
            logRetry(request, reason: "the connection closed before a response")
            return .retry
        }
        return .answer(.connectionLost(request.target))
    }
}
