import Testing
@testable import ShardlineSidecar

@Suite("What becomes of a request body the answer came before")
struct UnreadRequestBodyTests {
    @Test("a short, announced rest is read and dropped, and the connection kept")
    func shortRestDiscarded() {
        #expect(UnreadRequestBody.decide(contentLength: 1000, received: 200, awaitingContinue: false, allowance: 1 << 20) == .discard(800))
        #expect(UnreadRequestBody.decide(contentLength: 1 << 20, received: 0, awaitingContinue: false, allowance: 1 << 20) == .discard(1 << 20))
        #expect(UnreadRequestBody.decide(contentLength: 10, received: 10, awaitingContinue: false, allowance: 0) == .discard(0))
    }

    @Test("a long rest, a chunked body of unknown length, or a client waiting for 100 Continue: Connection: close and a lingering close")
    func otherwiseClose() {
        #expect(UnreadRequestBody.decide(contentLength: (1 << 20) + 1, received: 0, awaitingContinue: false, allowance: 1 << 20) == .closeLingering)
        #expect(UnreadRequestBody.decide(contentLength: nil, received: 0, awaitingContinue: false, allowance: 1 << 20) == .closeLingering)
        #expect(UnreadRequestBody.decide(contentLength: 5, received: 0, awaitingContinue: true, allowance: 1 << 20) == .closeLingering)
    }
}
