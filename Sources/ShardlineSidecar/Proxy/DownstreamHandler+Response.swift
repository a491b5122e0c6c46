import Logging
import NIOCore
import NIOHTTP1
import ShardlineCore
import ShardlineHTTP1

/// The response phase of `DownstreamHandler`: what the shard's connection delivers (its heads,
/// body and end, as `UpstreamDelegate`), its close, the response timeout, a shard's 421 (the
/// decisions are `MisdirectedFollower`'s) and the switch to a tunnel after a 101. Every event goes
/// through the exchange's state machine first; the bytes go out through `ClientResponder`.
extension DownstreamHandler {
    var acceptsResponseData: Bool {
        context?.channel.isWritable ?? false
    }

    func upstream(_ connection: UpstreamConnection, received part: UpstreamResponsePart) {
        guard let context, let (request, progress) = exchange.exchange(on: connection) else { return }
        if progress == .misdirectedHeld {
            absorbMisdirected(part, request: request, connection: connection, context: context)
            return
        }
        switch part {
        case .head(let head, let framing):
            responseHeadReceived(head, framing: framing, request: request, progress: progress, connection: connection, context: context)
        case .body(let buffer):
            if request.heldResponseBody != nil {
                request.heldResponseBody?.append(buffer)
            } else {
                responder.writeBody(buffer, request: request)
            }
        case .end:
            if request.responseHead?.status == 101 && request.isUpgrade {
                switchToTunnel(request, connection: connection, context: context)
            } else {
                responseEndReceived(request: request, connection: connection, context: context)
            }
        }
    }

    private func responseHeadReceived(
        _ head: HTTP1ResponseHead, framing: HTTP1BodyFraming, request: ProxyRequest, progress: Exchange.ResponseProgress,
        connection: UpstreamConnection, context: ChannelHandlerContext
    ) {
        if head.isInformational {
            // `100 Continue` and friends go to the client as they come; the final head follows.
            guard progress != .started else { return }
            request.retry.responseWasStarted()
            if head.status == 100 { request.continueRelayed = true }
            responder.writeInformational(head, request: request)
            return
        }
        responseDeadline?.clear()
        services.recordTransportSuccess(request)
        if head.status == 101 && !request.isUpgrade {
            // Switching protocols nobody asked for: the connection no longer speaks HTTP.
            connection.pool.release(connection, reusable: false)
            respondToRequest(request, .switchedUnasked(request.target), close: true, context: context)
            return
        }
        request.retry.responseWasStarted()
        let clientIsHTTP10 = request.downstreamHead.version == .http1_0
        request.responseFraming = framing
        request.clientBodyEncoding = ClientBodyEncoding.decide(framing: framing, clientIsHTTP10: clientIsHTTP10)
        connection.handler.payloadOnly = request.clientBodyEncoding == .dechunk
        if head.status == 421 && !request.isUpgrade && MisdirectedFollower(services: services).holds(head, request: request, requestEnded: exchange.requestEnded) {
            exchange.misdirectedHeld()
            return
        }
        request.responseHead = head
        exchange.responseStarted()
        let upgraded = head.status == 101
        // After an upgrade request the decoder stops parsing the client's bytes; unless the shard
        // agreed to switch protocols, the connection cannot carry another request.
        request.closeAfterResponse = !request.downstreamHead.isKeepAlive || (request.isUpgrade && !upgraded) || exchange.inputClosed
            || ClientBodyEncoding.needsClose(framing: framing, encoding: request.clientBodyEncoding)
        if !exchange.requestEnded && !upgraded {
            // Answered before the request ended: whether the client's connection can stay open
            // depends on whether this is the whole answer, which the rest of this read may tell.
            // Held until then (one read's worth at most).
            request.heldResponseBody = []
            return
        }
        responder.writeHead(request, close: request.closeAfterResponse, flush: upgraded)
    }

    private func responseEndReceived(request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        // The shard answered before the whole request arrived: the rest of the request goes
        // nowhere, and the client's connection stays open only if that rest is short and coming.
        let end = exchange.responseEnded(closeAfterResponse: request.closeAfterResponse) {
            request.unreadBodyDisposal(allowance: Self.discardAllowance)
        }
        let close = end.close, early = end.early
        responder.releaseHeld(request, close: close)
        let head = request.responseHead
        let reusable = !early && (head?.isKeepAlive ?? false)
        var announced: Duration?
        if reusable, let head, let field = head.firstField(.keepAlive) {
            announced = KeepAlivePolicy.announcedTimeout(keepAliveValues: [Substring(head.string(field.value))])
        }
        connection.pool.release(connection, reusable: reusable, announcedIdleTimeout: announced)
        services.recordCompleted(request, status: head?.status ?? 502)
        responder.writeTerminator(request)
        finishResponse(close: close, linger: early, context: context)
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        guard let context, let (request, _) = exchange.exchange(on: connection) else { return }
        // The answer continues beyond this read: it goes out now, and the connection's fate is
        // decided when it ends.
        responder.releaseHeld(request, close: request.closeAfterResponse)
        context.flush()
    }

    func upstreamBecameWritable(_ connection: UpstreamConnection) {
        guard let context, exchange.exchange(on: connection) != nil else { return }
        resumeReadingIfHeld(context: context)
    }

    func upstreamClosed(_ connection: UpstreamConnection) {
        guard let context, let closed = exchange.upstreamClosed(connection) else { return }
        responseDeadline?.clear()
        connection.pool.release(connection, reusable: false)
        switch closed {
        case .rereadConfig(let held):
            // The 421's head arrived, so the shard refused the request; only its body was cut.
            held.misdirectedHold?.bodyComplete = false
            rereadConfig(held, context: context)
            return
        case .abort(let started):
            // Mid-response: the client has part of an answer that cannot be completed.
            services.recordCompleted(started, status: started.responseHead?.status ?? 502, aborted: true)
            context.close(promise: nil)
            return
        case .lost(let request):
            attemptFailed(request, services.connectionLost(request, on: connection), context: context)
        }
    }

    func responseTimedOut() {
        guard let context, let (request, connection) = exchange.responseHeadOverdue() else { return }
        connection.pool.release(connection, reusable: false)
        services.recordTransportFailure(request)
        _ = request.retry.attemptFailed(.responseTimeout)
        respondToRequest(request, .responseTimeout(request.target, after: services.settings.responseHeaderTimeout), context: context)
    }

    // MARK: A shard's 421 (SPEC.md 11.5): MisdirectedFollower decides

    /// The held 421's body, then its end: the connection goes back, the config is re-read.
    private func absorbMisdirected(_ part: UpstreamResponsePart, request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        switch part {
        case .head:
            break
        case .body(let buffer):
            request.misdirectedHold?.append(buffer, limit: Self.replayableBodyBytes)
        case .end:
            exchange.misdirectedEnded()
            connection.pool.release(connection, reusable: request.misdirectedHold?.head.isKeepAlive ?? false)
            rereadConfig(request, context: context)
        }
    }

    /// Nothing is leased while the config is re-read; then the request is routed again with the
    /// re-read config, unless the client went away meanwhile.
    private func rereadConfig(_ request: ProxyRequest, context: ChannelHandlerContext) {
        MisdirectedFollower(services: services).rereadConfig(on: context.eventLoop) { [weak self] snapshot in
            guard let self, let context = self.context, self.exchange.awaitsUpstream(request) else { return }
            self.configReread(request, snapshot: snapshot, context: context)
        }
    }

    private func configReread(_ request: ProxyRequest, snapshot: RouterStore.Snapshot, context: ChannelHandlerContext) {
        guard request.misdirected != nil, request.misdirectedHold != nil else { return }
        pools?.follow(snapshot)
        let disposition = route(request.downstreamHead, snapshot: snapshot, context: context)
        switch MisdirectedFollower(services: services).configReread(request, disposition: disposition, generation: snapshot.generation) {
        case .retry:
            attempt(request, context: context)
        case .answer(let response):
            respondToRequest(request, response, context: context)
        case .surface(let hold):
            writeHeldMisdirected(request, hold: hold, context: context)
        case .none:
            break
        }
    }

    /// The 421 held while the config was re-read goes to the client: its head marked with why,
    /// and its body, or this proxy's JSON if the shard's was longer than the bound or cut off.
    private func writeHeldMisdirected(_ request: ProxyRequest, hold: MisdirectedHold, context: ChannelHandlerContext) {
        request.misdirectedHold = nil
        request.responseHead = hold.head
        let close = !request.downstreamHead.isKeepAlive || exchange.inputClosed
            || ClientBodyEncoding.needsClose(framing: request.responseFraming, encoding: request.clientBodyEncoding)
        responder.writeHeldMisdirected(request, hold: hold, close: close)
        _ = exchange.answered(close: close, requestEnded: true, discardAllowance: Self.discardAllowance)
        services.recordCompleted(request, status: 421)
        finishResponse(close: close, context: context)
    }

    // MARK: Upgrade

    /// The shard switched protocols: both connections become a byte tunnel (`TunnelHandler.splice`).
    private func switchToTunnel(_ request: ProxyRequest, connection: UpstreamConnection, context: ChannelHandlerContext) {
        exchange.finished()
        services.recordCompleted(request, status: 101)
        connection.pool.detach(connection)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        context.flush()
        do {
            try TunnelHandler.splice(client: context, responseWriter: responseWriter, headWatcher: headWatcher, shard: connection)
        } catch {
            services.logger.warning("could not switch a connection to a tunnel", metadata: ["error": "\(error)"])
            connection.channel.close(promise: nil)
            context.close(promise: nil)
            return
        }
        connection.channel.read()
        context.channel.read()
    }
}
