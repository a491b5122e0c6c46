/// Where one client connection is in its current exchange, and what each event moves it to:
/// the lifecycle `DownstreamHandler` follows, free of I/O, so each transition has a unit test.
///
/// An exchange is routed (or answered locally), waits for a connection to its shard, is forwarded
/// (request up, response down), and ends: back to idle for the next request, to reading and
/// dropping the rest of a request body that was answered early, or to done (closed, or handed to
/// a tunnel). The events come from the client's connection (head, body, end, half-close, a broken
/// request), from the pool (a lease), and from the shard's connection (a final head, its end, a
/// close); each returns what the handler is to do, and the handler does only that. What an
/// exchange carries (the heads, the bodies, the retry and 421 state) stays in `Request`; what
/// this type knows is only how far the exchange got.
///
/// Generic over the request and the connection, which it only hands back (and compares by
/// identity), so that its tests need neither a channel nor a pool.
struct DownstreamExchangeStateMachine<Request: AnyObject, Connection: WritabilityReporting> {
    enum State {
        /// Between requests.
        case idle
        /// Answered before the request ended (locally, or early by the shard); the rest of the
        /// request body is read and dropped, up to `allowance` bytes, beyond which the connection
        /// closes lingering.
        case discarding(allowance: Int)
        /// Routed; waiting for the pool to hand over a connection, or (after a shard's 421) for
        /// the config to be re-read: either way nothing is leased and the client is not read.
        case awaitingUpstream(Request)
        case forwarding(Request, Connection, ResponseProgress)
        /// Handed over to a byte tunnel, or closed: nothing more to do here.
        case done
    }

    /// How far the shard's answer to the current attempt got.
    enum ResponseProgress: Equatable {
        /// No final head yet (a `100 Continue` may have gone through).
        case awaitingHead
        /// The final head is a 421 held back: its body is read, and the config is re-read at its end.
        case misdirectedHeld
        /// The final head was taken (written to the client, or held for the rest of its read).
        case started
    }

    private(set) var state = State.idle
    /// The client half-closed: it sends nothing more, so the connection closes after the current answer.
    private(set) var inputClosed = false
    /// The current request's body was read to its end.
    private(set) var requestEnded = false
    /// A read of the client was asked for while reads were held; it is issued once they are not.
    private var readPending = false

    /// The current exchange's connection to its shard, while one is leased.
    var connection: Connection? {
        if case .forwarding(_, let connection, _) = state { return connection }
        return nil
    }

    // MARK: Reading the client

    /// The client's connection is read only while the shard's can take more, and not at all while
    /// no connection is leased yet: what sits in memory is at most one read.
    var holdsReads: Bool {
        switch state {
        case .awaitingUpstream:
            return true
        case .forwarding(_, let connection, _):
            return !requestEnded && !connection.isWritable
        case .idle, .discarding, .done:
            return false
        }
    }

    /// A read was asked for: true to read now; false, and it is remembered for `resumeReading()`.
    mutating func readRequested() -> Bool {
        if holdsReads {
            readPending = true
            return false
        }
        return true
    }

    /// True when a held read is to be issued now.
    mutating func resumeReading() -> Bool {
        guard readPending, !holdsReads else { return false }
        readPending = false
        return true
    }

    // MARK: The request

    /// A request head arrived. False when an exchange is in progress: the decoder below delivers
    /// one request at a time, so that is a bug there, and the only safe answer is to close.
    mutating func requestHeadReceived() -> Bool {
        guard case .idle = state else { return false }
        requestEnded = false
        return true
    }

    enum RequestBodyAction {
        /// No connection yet: kept until one is leased.
        case keep(Request)
        case forward(Request, Connection)
        /// Nobody wants it (answered already, and short enough to read through).
        case drop
        /// Answered already, and more came than was announced: close lingering.
        case closeLingering
    }

    mutating func requestBodyReceived(bytes: Int) -> RequestBodyAction {
        switch state {
        case .awaitingUpstream(let request):
            return .keep(request)
        case .forwarding(let request, let connection, _):
            return .forward(request, connection)
        case .discarding(let allowance):
            let left = allowance - bytes
            if left < 0 {
                state = .done
                return .closeLingering
            }
            state = .discarding(allowance: left)
            return .drop
        case .idle, .done:
            return .drop
        }
    }

    enum RequestEndAction {
        case none
        /// The body's last bytes go up; the shard's answer is due from now on, unless it started.
        case flush(Connection, armResponseTimeout: Bool)
        /// The early-answered request is over: the next one may be read.
        case resumeReading
    }

    mutating func requestEndReceived() -> RequestEndAction {
        switch state {
        case .awaitingUpstream:
            requestEnded = true
            return .none
        case .forwarding(_, let connection, let progress):
            requestEnded = true
            return .flush(connection, armResponseTimeout: progress != .started)
        case .discarding:
            state = .idle
            return .resumeReading
        case .idle, .done:
            return .none
        }
    }

    /// The client half-closed. True: nothing is in progress, so the connection closes now;
    /// otherwise it closes after the current answer.
    mutating func inputClosedReceived() -> Bool {
        inputClosed = true
        switch state {
        case .idle, .discarding:
            state = .done
            return true
        case .awaitingUpstream, .forwarding, .done:
            return false
        }
    }

    enum BrokenRequestAction {
        /// No request in progress: a local answer (400 and friends), then close.
        case answer
        /// The request was answered already; the rest of its body is broken: close lingering,
        /// without a second answer.
        case closeLingering
        /// Nothing of an answer went out yet: give up the exchange and answer it locally.
        case answerRequest(Request)
        /// Part of the shard's answer went out, and it cannot be completed: give up and close.
        case abort
        case close
    }

    /// The client's bytes stopped being HTTP (a parse error) in the middle of whatever this was.
    mutating func requestBroke() -> BrokenRequestAction {
        switch state {
        case .idle:
            return .answer
        case .discarding:
            state = .done
            return .closeLingering
        case .awaitingUpstream(let request):
            return .answerRequest(request)
        case .forwarding(let request, _, let progress):
            return progress == .started ? .abort : .answerRequest(request)
        case .done:
            return .close
        }
    }

    // MARK: Leasing a connection

    /// The request is to be sent (the first attempt, or again): nothing is leased until the pool
    /// hands over a connection.
    mutating func leaseStarted(_ request: Request) {
        state = .awaitingUpstream(request)
    }

    /// False once the request no longer waits for a connection (the client left, or it was
    /// answered): a connection that comes now goes back unused.
    func awaitsUpstream(_ request: Request) -> Bool {
        if case .awaitingUpstream(let current) = state { return current === request }
        return false
    }

    /// The pool handed over `connection`: the request goes up on it.
    mutating func attached(_ request: Request, to connection: Connection) {
        state = .forwarding(request, connection, .awaitingHead)
    }

    // MARK: The response

    /// The current exchange's request and progress, when `connection` is its connection (a part
    /// from any other, say one already given back, is not this exchange's).
    func exchange(on connection: Connection) -> (request: Request, progress: ResponseProgress)? {
        guard case .forwarding(let request, let current, let progress) = state, current === connection else { return nil }
        return (request, progress)
    }

    /// The final head was taken.
    mutating func responseStarted() {
        guard case .forwarding(let request, let connection, _) = state else { return }
        state = .forwarding(request, connection, .started)
    }

    /// The final head is a 421 the proxy holds back while it re-reads the config.
    mutating func misdirectedHeld() {
        guard case .forwarding(let request, let connection, _) = state else { return }
        state = .forwarding(request, connection, .misdirectedHeld)
    }

    /// The held 421 ended: its connection goes back, and nothing is leased while the config is re-read.
    mutating func misdirectedEnded() {
        guard case .forwarding(let request, _, _) = state else { return }
        state = .awaitingUpstream(request)
    }

    struct ResponseEnd: Equatable {
        /// The client's connection closes after this answer.
        var close: Bool
        /// The answer came before the request ended: the shard's connection carries part of a
        /// request and cannot be reused, and a close lingers.
        var early: Bool
    }

    /// The shard's answer ended.
    /// - Parameters:
    ///   - closeAfterResponse: the exchange itself ends the connection (HTTP/1.0, `Connection:
    ///     close`, a refused upgrade, a body delimited by the close).
    ///   - unreadBody: what becomes of the rest of the request body, asked only when it had not ended.
    mutating func responseEnded(closeAfterResponse: Bool, unreadBody: () -> UnreadRequestBody) -> ResponseEnd {
        let early = !requestEnded
        let leftover = early ? unreadBody() : .none
        let close = closeAfterResponse || inputClosed || leftover == .closeLingering
        switch leftover {
        case .none:
            state = close ? .done : .idle
        case .discard(let bytes):
            state = close ? .done : .discarding(allowance: bytes)
        case .closeLingering:
            state = .done
        }
        return ResponseEnd(close: close, early: early)
    }

    enum UpstreamClosedAction {
        /// The held 421's connection closed: its head said enough; the config is re-read.
        case rereadConfig(Request)
        /// Mid-response: the client has part of an answer that cannot be completed; close.
        case abort(Request)
        /// Before any answer: the request is sent again or answered locally.
        case lost(Request)
    }

    /// The current exchange's connection closed; nil when `connection` is not it.
    mutating func upstreamClosed(_ connection: Connection) -> UpstreamClosedAction? {
        guard case .forwarding(let request, let current, let progress) = state, current === connection else { return nil }
        switch progress {
        case .misdirectedHeld:
            state = .awaitingUpstream(request)
            return .rereadConfig(request)
        case .started:
            state = .done
            return .abort(request)
        case .awaitingHead:
            return .lost(request)
        }
    }

    /// The response head did not come in time: the exchange and its connection, if it was still due.
    func responseHeadOverdue() -> (request: Request, connection: Connection)? {
        guard case .forwarding(let request, let connection, let progress) = state, progress != .started else { return nil }
        return (request, connection)
    }

    // MARK: Ends

    /// This proxy answered (or passed on a held 421): the connection is idle next, reads and
    /// drops the rest of the request body, or closes. Returns whether it closes.
    mutating func answered(close: Bool, requestEnded: Bool, discardAllowance: Int) -> Bool {
        let close = close || inputClosed
        state = close ? .done : (requestEnded ? .idle : .discarding(allowance: discardAllowance))
        return close
    }

    enum Abandoned {
        case nothing
        /// The pool is still to hand over a connection: the lease is cancelled.
        case lease(Request)
        /// The connection goes back broken; `responseStarted` tells whether the shard answered.
        case exchange(Request, Connection, responseStarted: Bool)
    }

    /// What the exchange holds, to be given back when it ends without an answer from the proxy
    /// (the client left, or its request broke). The state is left as it is.
    func abandoned() -> Abandoned {
        switch state {
        case .awaitingUpstream(let request):
            return .lease(request)
        case .forwarding(let request, let connection, let progress):
            return .exchange(request, connection, responseStarted: progress == .started)
        case .idle, .discarding, .done:
            return .nothing
        }
    }

    /// Nothing more happens on this connection (it closed, or became a tunnel).
    mutating func finished() {
        state = .done
    }
}

/// A connection whose writability gates reading the client.
protocol WritabilityReporting: AnyObject {
    var isWritable: Bool { get }
}

extension UpstreamConnection: WritabilityReporting {}
