import NIOCore
import ShardlineCore
import ShardlineHTTP1

/// What the proxy records of each exchange: the metrics and the access-log line (once per
/// request), what the shards' health learns from a connection that failed or answered, and the
/// debug line of a retry. On `ProxyServices`, whose parts these are, so that no connection holds a
/// copy of them.
extension ProxyServices {
    /// Metrics and the access-log line, once per routed request.
    func recordCompleted(_ request: ProxyRequest, status: Int, aborted: Bool = false) {
        guard !request.completed else { return }
        request.completed = true
        let duration = ContinuousClock.now - request.startedAt
        metrics.requestCompleted(service: request.target.service, shard: request.target.shard, status: status, duration: duration)
        guard accessLog.isEnabled else { return }
        let head = request.downstreamHead
        accessLog.record(
            method: head.string(head.methodRange), path: request.path, host: request.authority ?? head.host.map { head.string($0.value) },
            status: status, duration: duration, target: request.target, aborted: aborted
        )
    }

    /// Metrics and the access-log line for a head the parser refused (no method or path to
    /// name): counted like any other answer, so a client sending broken requests shows up.
    func recordRefusedHead(status: Int, startedAt: ContinuousClock.Instant) {
        let duration = ContinuousClock.now - startedAt
        metrics.requestCompleted(service: nil, shard: nil, status: status, duration: duration)
        accessLog.record(method: nil, path: nil, host: nil, status: status, duration: duration, target: nil, aborted: false)
    }

    /// Metrics and the access-log line for a request answered before it was routed.
    func recordUnrouted(_ head: HTTP1RequestHead, status: Int, receivedAt: ContinuousClock.Instant) {
        let duration = ContinuousClock.now - receivedAt
        metrics.requestCompleted(service: nil, shard: nil, status: status, duration: duration)
        guard accessLog.isEnabled else { return }
        accessLog.record(
            method: head.string(head.methodRange), path: head.string(head.target), host: head.host.map { head.string($0.value) },
            status: status, duration: duration, target: nil, aborted: false
        )
    }

    /// The shard failed this request's attempt (connect, lost connection, timeout): the outlier
    /// detector counts it, and may eject the shard.
    func recordTransportFailure(_ request: ProxyRequest) {
        let transition = shards.health.recordFailure(request.target.address, probe: request.probe)
        request.probe = false
        if case .ejected(let duration) = transition {
            metrics.shardEjected(request.target)
            logger.warning("shard ejected after repeated failures", metadata: [
                "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
                "upstream": .string(request.target.address.description), "ejection": .string(ConfigDuration.format(duration)),
            ])
        }
    }

    /// The shard answered: a probe that does restores an ejected shard.
    func recordTransportSuccess(_ request: ProxyRequest) {
        if case .restored = shards.health.recordSuccess(request.target.address, probe: request.probe) {
            shards.restored(request.target.address)
            logger.info("shard restored after a successful probe", metadata: [
                "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
                "upstream": .string(request.target.address.description),
            ])
        }
        request.probe = false
    }

    func logRetry(_ request: ProxyRequest, reason: String) {
        logger.debug("retrying request", metadata: [
            "service": .string(request.target.service), "shard": .stringConvertible(request.target.shard),
            "upstream": .string(request.target.address.description), "reason": .string(reason),
            "attempt": .stringConvertible(request.retry.failedAttempts + 1),
        ])
    }
}
