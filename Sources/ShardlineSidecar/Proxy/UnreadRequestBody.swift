/// What becomes of the rest of a request body once the answer to it is complete (the shard, or
/// the proxy, answered before the body ended), per RFC 9112 9.6.
///
/// Pure, so each case has a unit test.
enum UnreadRequestBody: Equatable, Sendable {
    /// The request had ended: nothing is left.
    case none
    /// Read and drop this many more bytes (the body's announced rest), then take the next request
    /// on the same connection.
    case discard(Int)
    /// Say `Connection: close` and close lingering: the rest is long, of unknown length (chunked),
    /// or may never come (the client waits for a `100 Continue` that the answer replaced).
    case closeLingering

    /// - Parameters:
    ///   - contentLength: the request's `Content-Length`; nil for a chunked body.
    ///   - received: body bytes read so far.
    ///   - awaitingContinue: the client asked for `100 Continue` and none was relayed, so it may
    ///     never send the body, and the connection would wait on it.
    ///   - allowance: the most the proxy reads and drops to keep a connection.
    static func decide(contentLength: Int?, received: Int, awaitingContinue: Bool, allowance: Int) -> UnreadRequestBody {
        guard let contentLength, !awaitingContinue else { return .closeLingering }
        let left = max(0, contentLength - received)
        return left <= allowance ? .discard(left) : .closeLingering
    }
}
