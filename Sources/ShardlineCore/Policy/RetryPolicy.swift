/// When a failed attempt to forward a request may be tried again.
///
/// A retry must never make the shard see a request twice that the client sent once, unless
/// seeing it twice is harmless. So a request is retried only when the failed attempt provably
/// never reached the shard (the connection was never established, or was found closed before any
/// byte of the request was written to it, as Go's `nothingWrittenError`), or when the method is
/// idempotent (RFC 9110 9.2.2) and nothing of the request body has left yet, which is what lets
/// the proxy replay it without keeping the body. Nothing is retried once any byte of the response
/// has gone to the client. A timeout waiting for the response head is not retried: the shard is
/// slow, and asking it again would double its load and the client's wait.
///
/// The sidecar drives this per request; the SDK drives the same type, so both retry alike.
public struct RetryPolicy: Sendable, Equatable {
    /// Extra attempts after the first (`sidecar.retries`).
    public var maxRetries: Int

    public init(maxRetries: Int) {
        self.maxRetries = max(0, maxRetries)
    }

    /// The methods RFC 9110 9.2.2 defines as idempotent. Matched case-sensitively, as methods are.
    public static let idempotentMethods: Set<String> = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]

    /// The retry state of one request, starting before its first attempt.
    public func start(method: String) -> RetryState {
        RetryState(maxRetries: maxRetries, idempotent: Self.idempotentMethods.contains(method))
    }
}

/// One request's progress as far as retrying is concerned. Feed it what happened; it answers
/// whether another attempt is allowed.
public struct RetryState: Sendable, Equatable {
    /// How a single attempt failed.
    public enum Failure: Sendable, Equatable {
        /// No connection to the shard could be made (refused, unreachable, name not resolved,
        /// connect timeout): the request never left.
        case connectFailed
        /// A kept-alive connection turned out closed before any byte of the request was written
        /// to it (the shard closed it while idle): the shard never saw the request. Such attempts
        /// do not count against `maxRetries`, since the request was never sent; at most
        /// `maxClosedBeforeWrite` of them are made, so a pool full of dead connections cannot
        /// keep a request going round.
        case closedBeforeWrite
        /// The connection broke after the request (or part of it) was written and before a
        /// complete response head arrived.
        case connectionLost
        /// The response head did not arrive in time.
        case responseTimeout
    }

    /// Why no further attempt is made.
    public enum GiveUpReason: String, Sendable, Equatable {
        case retriesExhausted = "retries_exhausted"
        case notIdempotent = "not_idempotent"
        case requestBodySent = "request_body_sent"
        case responseStarted = "response_started"
        case responseTimeout = "response_timeout"
    }

    public enum Decision: Sendable, Equatable {
        case retry
        case giveUp(GiveUpReason)
    }

    /// Attempts on connections found closed before anything was written that may be made again.
    public static let maxClosedBeforeWrite = 4

    public let maxRetries: Int
    public let idempotent: Bool
    /// Attempts that have failed so far (those that never sent anything included).
    public private(set) var failedAttempts = 0
    /// Of `failedAttempts`, those on a connection found closed before anything was written.
    public private(set) var closedBeforeWriteAttempts = 0
    public private(set) var requestBodySent = false
    public private(set) var responseStarted = false

    init(maxRetries: Int, idempotent: Bool) {
        self.maxRetries = maxRetries
        self.idempotent = idempotent
    }

    /// The first request-body byte was handed to the shard's connection: from now on the body
    /// cannot be replayed.
    public mutating func requestBodyWasSent() {
        requestBodySent = true
    }

    /// The first response byte was handed to the client: from now on nothing can be retried.
    public mutating func responseWasStarted() {
        responseStarted = true
    }

    /// An attempt failed: may another be made?
    public mutating func attemptFailed(_ failure: Failure) -> Decision {
        failedAttempts += 1
        if responseStarted { return .giveUp(.responseStarted) }
        switch failure {
        case .closedBeforeWrite:
            closedBeforeWriteAttempts += 1
            return closedBeforeWriteAttempts <= Self.maxClosedBeforeWrite ? .retry : .giveUp(.retriesExhausted)
        case .connectFailed:
            break
        case .connectionLost:
            guard idempotent else { return .giveUp(.notIdempotent) }
            guard !requestBodySent else { return .giveUp(.requestBodySent) }
        case .responseTimeout:
            return .giveUp(.responseTimeout)
        }
        return failedAttempts - closedBeforeWriteAttempts <= maxRetries ? .retry : .giveUp(.retriesExhausted)
    }
}
