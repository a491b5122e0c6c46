import NIOCore
import ShardlineCore
import ShardlineHTTP1

/// One request on its way through the proxy: what was asked, where it goes, and how far it got.
final class ProxyRequest {
    let downstreamHead: HTTP1RequestHead
    /// The head (as bytes) and shard of the current attempt: a 421 followed to a new owner changes them.
    private(set) var upstreamHead: ByteBuffer
    /// The origin-form target and the absolute-form authority of the current attempt, for the access log.
    private(set) var path: String
    private(set) var authority: String?
    private(set) var target: ShardTarget
    /// The placement fingerprint the current attempt was routed with.
    private(set) var fingerprint: TopologyFingerprint
    let isUpgrade: Bool
    let startedAt = ContinuousClock.now
    var retry: RetryState
    /// This request is the outlier detector's probe of an ejected shard.
    var probe = false
    /// Body parts read before a connection was leased; sent on attach.
    var pendingBody: [ByteBuffer] = []
    var pendingLease: (pool: UpstreamPool, id: UpstreamPool.LeaseID)?
    /// The final response head (not a 1xx other than 101).
    var responseHead: HTTP1ResponseHead?
    /// How the final response's body is delimited, as the shard sent it.
    var responseFraming = HTTP1BodyFraming.none
    /// How that body goes to the client.
    var clientBodyEncoding = ClientBodyEncoding.asIs
    var closeAfterResponse = false
    var completed = false
    /// Request body bytes read from the client so far.
    var bodyBytesReceived = 0
    /// The shard relayed a `100 Continue`: a client that asked for one now sends its body.
    var continueRelayed = false
    /// Set while a final response head that came before the request ended is held back, with
    /// the body parts read with it (see `responseHeadReceived`).
    var heldResponseBody: [ByteBuffer]?
    /// The current attempt's head reached the shard's socket.
    var firstWriteConfirmed = false
    /// The current attempt's head could not be written: the connection was already closed.
    var nothingWritten = false
    /// Body parts written in the current attempt before its head was confirmed written, kept to
    /// be sent again if it was not.
    var unconfirmedBody: [ByteBuffer] = []
    /// The whole request body read so far, kept to be sent again after a 421; nil once it grew
    /// beyond `DownstreamHandler.replayableBodyBytes` (then it is not kept, and not replayable).
    private(set) var replayBody: [ByteBuffer]? = []
    private var replayBytes = 0
    /// Where the request is in the 421 policy, from its first 421 on.
    var misdirected: MisdirectedState?
    /// A 421 held back while the config is re-read.
    var misdirectedHold: MisdirectedHold?
    /// A 421 went to the client, for this reason.
    var misdirectedSurfaced: MisdirectedState.SurfaceReason?

    init(downstreamHead: HTTP1RequestHead, plan: RequestDisposition.ForwardPlan, retry: RetryState) {
        self.downstreamHead = downstreamHead
        self.upstreamHead = plan.upstreamHead
        self.path = plan.path
        self.authority = plan.authority
        self.target = plan.target
        self.fingerprint = plan.fingerprint
        self.isUpgrade = plan.isUpgrade
        self.retry = retry
    }

    /// The request goes up on `connection` (just leased): its head, then the body parts read
    /// while no connection was leased.
    ///
    /// On a connection that sat idle, whether the head reaches the socket tells whether anything
    /// of the request was written: one the shard closed fails it, and then the request can be
    /// sent again whatever its method (the body parts written meanwhile are kept for that). A
    /// connection busy a moment ago is not in doubt, and costs no promise.
    func send(on connection: UpstreamConnection, eventLoop: any EventLoop) {
        nothingWritten = false
        firstWriteConfirmed = connection.idleBeforeLease == nil
        var headWritten: EventLoopPromise<Void>?
        if !firstWriteConfirmed {
            let promise = eventLoop.makePromise(of: Void.self)
            promise.futureResult.assumeIsolated().whenComplete { [weak self] result in
                guard let self else { return }
                switch result {
                case .success:
                    self.firstWriteConfirmed = true
                    self.unconfirmedBody.removeAll()
                case .failure:
                    self.nothingWritten = true
                }
            }
            headWritten = promise
        }
        connection.handler.write(upstreamHead, promise: headWritten)
        for part in pendingBody {
            connection.handler.write(part)
            if part.readableBytes > 0 { retry.requestBodyWasSent() }
        }
        if !firstWriteConfirmed { unconfirmedBody = pendingBody }
        pendingBody.removeAll()
    }

    /// A part of the body, read from the client: counted, and kept for a replay while short enough.
    func bodyRead(_ buffer: ByteBuffer) {
        bodyBytesReceived += buffer.readableBytes
        keepForReplay(buffer, limit: DownstreamHandler.replayableBodyBytes)
    }

    /// A part of the body goes up on the current attempt's connection.
    func sendBody(_ buffer: ByteBuffer, on connection: UpstreamConnection) {
        connection.handler.write(buffer)
        if buffer.readableBytes > 0 {
            retry.requestBodyWasSent()
            if !firstWriteConfirmed { unconfirmedBody.append(buffer) }
        }
    }

    func keepForReplay(_ buffer: ByteBuffer, limit: Int) {
        guard replayBody != nil else { return }
        replayBytes += buffer.readableBytes
        if replayBytes > limit {
            replayBody = nil
        } else if buffer.readableBytes > 0 {
            replayBody?.append(buffer)
        }
    }

    /// The next attempt goes to `plan`'s shard, with the kept body, as a fresh exchange.
    func retarget(_ plan: RequestDisposition.ForwardPlan) {
        upstreamHead = plan.upstreamHead
        path = plan.path
        authority = plan.authority
        target = plan.target
        fingerprint = plan.fingerprint
        pendingBody = replayBody ?? []
        unconfirmedBody = []
        misdirectedHold = nil
        responseHead = nil
        responseFraming = .none
        clientBodyEncoding = .asIs
        heldResponseBody = nil
        closeAfterResponse = false
        continueRelayed = false
        probe = false
    }

    /// What to do with the rest of the request body when the answer is complete before it:
    /// see `UnreadRequestBody`.
    func unreadBodyDisposal(allowance: Int) -> UnreadRequestBody {
        let head = downstreamHead
        return UnreadRequestBody.decide(
            // Neither chunked nor a length: no body (RFC 9112 6.3).
            contentLength: head.isChunked ? nil : head.contentLength ?? 0,
            received: bodyBytesReceived,
            awaitingContinue: head.expectsContinue && !continueRelayed,
            allowance: allowance
        )
    }

}
