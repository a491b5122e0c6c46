import Testing
import ShardlineCore

@Suite("RetryPolicy")
struct RetryPolicyTests {
    @Test("a connect failure is retried for any method, up to the retry budget")
    func connectFailureRetriedForAnyMethod() {
        for method in ["GET", "POST", "PATCH", "CUSTOM"] {
            var state = RetryPolicy(maxRetries: 2).start(method: method)
            #expect(state.attemptFailed(.connectFailed) == .retry, "\(method)")
            #expect(state.attemptFailed(.connectFailed) == .retry, "\(method)")
            #expect(state.attemptFailed(.connectFailed) == .giveUp(.retriesExhausted), "\(method)")
        }
    }

    @Test("no retries configured means the first failure is final")
    func zeroRetries() {
        var state = RetryPolicy(maxRetries: 0).start(method: "GET")
        #expect(state.attemptFailed(.connectFailed) == .giveUp(.retriesExhausted))
    }

    @Test("a lost connection is retried only for idempotent methods", arguments: ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])
    func lostConnectionIdempotent(method: String) {
        var state = RetryPolicy(maxRetries: 1).start(method: method)
        #expect(state.attemptFailed(.connectionLost) == .retry)
    }

    @Test("a POST (or any non-idempotent method) that may have reached the shard is never retried", arguments: ["POST", "PATCH", "CONNECT", "get", "LOCK"])
    func lostConnectionNotIdempotent(method: String) {
        var state = RetryPolicy(maxRetries: 5).start(method: method)
        #expect(state.attemptFailed(.connectionLost) == .giveUp(.notIdempotent))
    }

    @Test("an idempotent request whose body started streaming cannot be replayed")
    func bodySentBlocksRetry() {
        var state = RetryPolicy(maxRetries: 3).start(method: "PUT")
        state.requestBodyWasSent()
        #expect(state.attemptFailed(.connectionLost) == .giveUp(.requestBodySent))
    }

    @Test("nothing is retried once the response reached the client")
    func responseStartedBlocksRetry() {
        var state = RetryPolicy(maxRetries: 3).start(method: "GET")
        state.responseWasStarted()
        #expect(state.attemptFailed(.connectFailed) == .giveUp(.responseStarted))
        var lost = RetryPolicy(maxRetries: 3).start(method: "GET")
        lost.responseWasStarted()
        #expect(lost.attemptFailed(.connectionLost) == .giveUp(.responseStarted))
    }

    @Test("a response timeout is not retried")
    func responseTimeoutNotRetried() {
        var state = RetryPolicy(maxRetries: 3).start(method: "GET")
        #expect(state.attemptFailed(.responseTimeout) == .giveUp(.responseTimeout))
    }

    @Test("connect failures and lost connections share one budget")
    func sharedBudget() {
        var state = RetryPolicy(maxRetries: 2).start(method: "DELETE")
        #expect(state.attemptFailed(.connectFailed) == .retry)
        #expect(state.attemptFailed(.connectionLost) == .retry)
        #expect(state.attemptFailed(.connectFailed) == .giveUp(.retriesExhausted))
        #expect(state.failedAttempts == 3)
    }

    @Test("a negative budget is read as zero")
    func negativeBudget() {
        #expect(RetryPolicy(maxRetries: -4).maxRetries == 0)
    }

    @Test("a connection found closed before anything was written is retried for any method, body or not, without using the budget")
    func closedBeforeWriteRetried() {
        for method in ["GET", "POST", "PATCH"] {
            var state = RetryPolicy(maxRetries: 0).start(method: method)
            state.requestBodyWasSent()
            for _ in 0..<RetryState.maxClosedBeforeWrite {
                #expect(state.attemptFailed(.closedBeforeWrite) == .retry, "\(method)")
            }
            #expect(state.attemptFailed(.closedBeforeWrite) == .giveUp(.retriesExhausted), "\(method)")
        }
        var state = RetryPolicy(maxRetries: 1).start(method: "GET")
        #expect(state.attemptFailed(.closedBeforeWrite) == .retry)
        #expect(state.attemptFailed(.connectFailed) == .retry)
        #expect(state.attemptFailed(.connectFailed) == .giveUp(.retriesExhausted))
    }

    @Test("nothing is retried once the response has started, not even a request never written")
    func closedBeforeWriteAfterResponse() {
        var state = RetryPolicy(maxRetries: 3).start(method: "GET")
        state.responseWasStarted()
        #expect(state.attemptFailed(.closedBeforeWrite) == .giveUp(.responseStarted))
    }
}
