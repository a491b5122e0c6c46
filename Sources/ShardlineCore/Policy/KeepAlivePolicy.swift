/// When an idle keep-alive connection to a shard may carry another request.
///
/// Shards close idle connections on their own schedule (nginx `keepalive_timeout`, gunicorn 2 s,
/// Node.js 5 s), and a request written to a connection the shard is closing at that moment is
/// lost: the shard resets it, and whether it read the request first cannot be known, so a POST
/// cannot be sent again. The only safe way out of that race is not to enter it: a connection is
/// not reused once it has been idle for nearly as long as the shard keeps idle connections, which
/// the shard may say (`Keep-Alive: timeout=N`) or which is learnt from the first idle connection
/// it closes. A connection older than that is closed and a fresh one opened instead.
///
/// Pure and per shard address: the sidecar's pools and the SDK feed it what they see.
public struct KeepAlivePolicy: Sendable, Equatable {
    /// Closes seen sooner than this after a connection went idle are not taken as the shard's idle
    /// timeout (a shard restarting closes every connection at once, however long each was idle).
    public static let shortestLearnedTimeout: Duration = .milliseconds(500)

    /// The shortest idle time after which the shard was seen closing a connection on its own.
    public private(set) var learnedIdleTimeout: Duration?

    public init() {}

    /// An idle connection to the shard was closed by the shard after `idle`.
    public mutating func shardClosedIdleConnection(after idle: Duration) {
        guard idle >= Self.shortestLearnedTimeout else { return }
        learnedIdleTimeout = min(learnedIdleTimeout ?? idle, idle)
    }

    /// Whether a connection idle for `idle` may be reused; `announcedTimeout` is what the shard's
    /// last response on it said in `Keep-Alive: timeout=N`.
    public func mayReuse(idleFor idle: Duration, announcedTimeout: Duration?) -> Bool {
        if let announcedTimeout, idle >= Self.reuseLimit(forIdleTimeout: announcedTimeout) { return false }
        if let learnedIdleTimeout, idle >= Self.reuseLimit(forIdleTimeout: learnedIdleTimeout) { return false }
        return true
    }

    /// How long before the shard's idle timeout a connection stops being reused: half the timeout,
    /// at most a second. Wide, because a learnt timeout is the idle time at which the close was
    /// *seen*, late by however busy both sides were, and because the two sides' clocks start a
    /// little apart; a connection replaced early costs one connect, one reused too late a request.
    public static func reuseLimit(forIdleTimeout timeout: Duration) -> Duration {
        timeout - min(timeout / 2, .seconds(1))
    }

    /// The `timeout` parameter of `Keep-Alive` header values (`timeout=5, max=100`), in whole
    /// seconds as RFC 2068 19.7.1.1 gives it; nil when absent or not a number.
    public static func announcedTimeout(keepAliveValues values: [Substring]) -> Duration? {
        for value in values {
            for parameter in value.split(separator: ",") {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingSpaces.lowercased() == "timeout" else { continue }
                guard let seconds = Int(pair[1].trimmingSpaces), seconds >= 0 else { return nil }
                return .seconds(seconds)
            }
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result = result.dropFirst() }
        while result.last == " " || result.last == "\t" { result = result.dropLast() }
        return result
    }
}
