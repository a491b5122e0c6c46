/// When a failed attempt to forward a request may be tried again.
///
/// A retry must never make the shard see a request twice that the client sent once, unless
/// seeing it twice is harmless. So a request is retried only when the failed attempt provably
/// never reached the shard (the connection was never established), or when the method is
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

    public let maxRetries: Int
    public let idempotent: Bool
    /// Attempts that have failed so far.
    public private(set) var failedAttempts = 0
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
        case .connectFailed:
            break
        case .connectionLost:
            guard idempotent else { return .giveUp(.notIdempotent) }
            guard !requestBodySent else { return .giveUp(.requestBodySent) }
        case .responseTimeout:
            return .giveUp(.responseTimeout)
        }
        return failedAttempts <= maxRetries ? .retry : .giveUp(.retriesExhausted)
    }
}
