import Testing
@testable import ShardlineSidecar

@Suite("Downstream exchange state machine")
struct DownstreamExchangeStateMachineTests {
    final class Request {}
    final class Connection: WritabilityReporting {
        var isWritable = true
    }
    typealias Machine = DownstreamExchangeStateMachine<Request, Connection>

    /// A machine with `request` routed and forwarding on `connection`.
    func forwarding(_ request: Request, on connection: Connection) -> Machine {
        var machine = Machine()
        let accepted = machine.requestHeadReceived()
        #expect(accepted)
        machine.leaseStarted(request)
        machine.attached(request, to: connection)
        return machine
    }

    func isIdle(_ machine: Machine) -> Bool {
        if case .idle = machine.state { return true }
        return false
    }

    func isDone(_ machine: Machine) -> Bool {
        if case .done = machine.state { return true }
        return false
    }

    func discardAllowance(_ machine: Machine) -> Int? {
        if case .discarding(let allowance) = machine.state { return allowance }
        return nil
    }

    @Test("a forwarded exchange: body up, end flushed with the response timer armed, the answer's end makes it idle")
    func plainExchange() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        guard case .forward(let sent, let on) = machine.requestBodyReceived(bytes: 10) else {
            Issue.record("the body should go up")
            return
        }
        #expect(sent === request && on === connection)
        guard case .flush(let flushed, let arm) = machine.requestEndReceived() else {
            Issue.record("the end should flush the shard's connection")
            return
        }
        #expect(flushed === connection && arm)
        machine.responseStarted()
        let end = machine.responseEnded(closeAfterResponse: false) {
            Issue.record("a request that ended leaves no body to decide about")
            return .closeLingering
        }
        #expect(end == .init(close: false, early: false))
        #expect(isIdle(machine))
    }

    @Test("the client is not read while no connection is leased; the read held is issued once one is")
    func readsHeldWhileLeasing() {
        let request = Request(), connection = Connection()
        var machine = Machine()
        _ = machine.requestHeadReceived()
        machine.leaseStarted(request)
        let reads = machine.readRequested()
        #expect(!reads)
        let resumes = machine.resumeReading()
        #expect(!resumes)
        machine.attached(request, to: connection)
        let resumes2 = machine.resumeReading()
        #expect(resumes2)
        let resumes3 = machine.resumeReading()
        #expect(!resumes3, "a held read is issued once")
    }

    @Test("while the request body streams, the client is read only while the shard's connection takes more")
    func readsFollowUpstreamWritability() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        connection.isWritable = false
        let reads = machine.readRequested()
        #expect(!reads)
        let resumes = machine.resumeReading()
        #expect(!resumes)
        connection.isWritable = true
        let resumes2 = machine.resumeReading()
        #expect(resumes2)
        connection.isWritable = false
        _ = machine.requestEndReceived()
        let reads2 = machine.readRequested()
        #expect(reads2, "after the request ended the client is read (for the next request, or a close)")
    }

    @Test("body parts that come before a connection is leased are kept, and the request's end is remembered")
    func bodyBeforeLease() {
        let request = Request(), connection = Connection()
        var machine = Machine()
        _ = machine.requestHeadReceived()
        machine.leaseStarted(request)
        guard case .keep(let kept) = machine.requestBodyReceived(bytes: 5) else {
            Issue.record("the body should be kept")
            return
        }
        #expect(kept === request)
        guard case .none = machine.requestEndReceived() else {
            Issue.record("nothing to flush without a connection")
            return
        }
        #expect(machine.requestEnded)
        machine.attached(request, to: connection)
        #expect(machine.requestEnded)
    }

    @Test("a lease that completes for a request no longer waiting is not this exchange's")
    func staleLease() {
        let first = Request(), second = Request()
        var machine = Machine()
        _ = machine.requestHeadReceived()
        machine.leaseStarted(first)
        #expect(machine.awaitsUpstream(first))
        #expect(!machine.awaitsUpstream(second))
        machine.finished()
        #expect(!machine.awaitsUpstream(first))
    }

    @Test("an early answer with a short body still coming: the rest is read and dropped, then the next request is read")
    func earlyAnswerDiscards() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        _ = machine.requestBodyReceived(bytes: 10)
        machine.responseStarted()
        let end = machine.responseEnded(closeAfterResponse: false) { .discard(30) }
        #expect(end == .init(close: false, early: true))
        #expect(discardAllowance(machine) == 30)
        guard case .drop = machine.requestBodyReceived(bytes: 20) else {
            Issue.record("the rest of the body should be dropped")
            return
        }
        #expect(discardAllowance(machine) == 10)
        guard case .resumeReading = machine.requestEndReceived() else {
            Issue.record("the end of the dropped body should let the next request be read")
            return
        }
        #expect(isIdle(machine))
        let accepted = machine.requestHeadReceived()
        #expect(accepted)
    }

    @Test("more body than announced after an early answer closes lingering")
    func discardOverrun() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        machine.responseStarted()
        _ = machine.responseEnded(closeAfterResponse: false) { .discard(4) }
        guard case .closeLingering = machine.requestBodyReceived(bytes: 5) else {
            Issue.record("bytes beyond the allowance should close lingering")
            return
        }
        #expect(isDone(machine))
    }

    @Test("an early answer with a long or unknown rest says close, and lingers")
    func earlyAnswerLingers() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        machine.responseStarted()
        let end = machine.responseEnded(closeAfterResponse: false) { .closeLingering }
        #expect(end == .init(close: true, early: true))
        #expect(isDone(machine))
    }

    @Test("an early answer on a connection that closes anyway does not discard")
    func earlyAnswerClosing() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        machine.responseStarted()
        let end = machine.responseEnded(closeAfterResponse: true) { .discard(3) }
        #expect(end == .init(close: true, early: true))
        #expect(isDone(machine))
    }

    @Test("a held 421: its end or its connection's close leaves nothing leased; the replay leases again and forwards anew")
    func misdirectedHoldThenReplay() {
        let request = Request(), first = Connection(), second = Connection()
        var machine = forwarding(request, on: first)
        _ = machine.requestEndReceived()
        machine.misdirectedHeld()
        #expect(machine.exchange(on: first)?.progress == .misdirectedHeld)
        machine.misdirectedEnded()
        #expect(machine.awaitsUpstream(request))
        #expect(machine.exchange(on: first) == nil, "the 421's connection is given back")
        let reads = machine.readRequested()
        #expect(!reads, "the client is not read while the config is re-read")
        machine.leaseStarted(request)
        machine.attached(request, to: second)
        #expect(machine.exchange(on: second)?.progress == .awaitingHead)
        #expect(machine.requestEnded, "the replayed request had ended, and stays ended")
        guard case .flush = machine.requestEndReceived() else {
            Issue.record("a forwarding exchange flushes")
            return
        }
    }

    @Test("a held 421 whose connection closes re-reads the config")
    func misdirectedHoldCut() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        machine.misdirectedHeld()
        guard case .rereadConfig(let held) = machine.upstreamClosed(connection) else {
            Issue.record("the config should be re-read")
            return
        }
        #expect(held === request)
        #expect(machine.awaitsUpstream(request))
    }

    @Test("the shard's connection closing before the response head: the request is sent again or answered; after it: abort")
    func upstreamClosed() {
        let request = Request(), connection = Connection(), other = Connection()
        var before = forwarding(request, on: connection)
        let closed = before.upstreamClosed(other)
        #expect(closed == nil, "another connection's close is not this exchange's")
        guard case .lost(let lost) = before.upstreamClosed(connection) else {
            Issue.record("a close before the head loses the attempt")
            return
        }
        #expect(lost === request)
        #expect(before.responseHeadOverdue() != nil, "still the current exchange until it is sent again or answered")

        var after = forwarding(request, on: connection)
        after.responseStarted()
        guard case .abort = after.upstreamClosed(connection) else {
            Issue.record("a close mid-response aborts")
            return
        }
        #expect(isDone(after))
    }

    @Test("the response timer concerns only an exchange whose final head has not come")
    func responseTimeout() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        #expect(machine.responseHeadOverdue()?.connection === connection)
        machine.responseStarted()
        #expect(machine.responseHeadOverdue() == nil)
        guard case .flush(_, let arm) = machine.requestEndReceived() else {
            Issue.record("a forwarding exchange flushes")
            return
        }
        #expect(!arm, "no response timer once the head came")
    }

    @Test("a client that half-closes between requests is closed at once; mid-exchange after the answer")
    func halfClosedClient() {
        var idle = Machine()
        let closesNow = idle.inputClosedReceived()
        #expect(closesNow)
        #expect(isDone(idle))

        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        _ = machine.requestEndReceived()
        let closesNow2 = machine.inputClosedReceived()
        #expect(!closesNow2)
        machine.responseStarted()
        let end = machine.responseEnded(closeAfterResponse: false) { .none }
        #expect(end.close)
        #expect(isDone(machine))

        // Waiting for a connection, then answered locally (the shard could not be reached).
        var answered = Machine()
        _ = answered.requestHeadReceived()
        answered.leaseStarted(request)
        let closesNow3 = answered.inputClosedReceived()
        #expect(!closesNow3)
        let closes = answered.answered(close: false, requestEnded: true, discardAllowance: 100)
        #expect(closes)
    }

    @Test("a local answer: idle next, or dropping the rest of the body, or closed")
    func localAnswers() {
        var ended = Machine()
        _ = ended.requestHeadReceived()
        let closes = ended.answered(close: false, requestEnded: true, discardAllowance: 100)
        #expect(!closes)
        #expect(isIdle(ended))

        var early = Machine()
        _ = early.requestHeadReceived()
        let closes2 = early.answered(close: false, requestEnded: false, discardAllowance: 100)
        #expect(!closes2)
        #expect(discardAllowance(early) == 100)

        var closing = Machine()
        _ = closing.requestHeadReceived()
        let closes3 = closing.answered(close: true, requestEnded: false, discardAllowance: 100)
        #expect(closes3)
        #expect(isDone(closing))
    }

    @Test("a broken request: answered before any answer went out, aborted after, closed lingering while discarding")
    func brokenRequest() {
        var idle = Machine()
        guard case .answer = idle.requestBroke() else {
            Issue.record("between requests a broken one is answered")
            return
        }
        let request = Request(), connection = Connection()
        var waiting = Machine()
        _ = waiting.requestHeadReceived()
        waiting.leaseStarted(request)
        guard case .answerRequest(let answered) = waiting.requestBroke() else {
            Issue.record("a request waiting for a connection is answered")
            return
        }
        #expect(answered === request)
        guard case .lease = waiting.abandoned() else {
            Issue.record("its lease is given back")
            return
        }

        var started = forwarding(request, on: connection)
        started.responseStarted()
        guard case .abort = started.requestBroke() else {
            Issue.record("a started answer cannot be replaced")
            return
        }
        guard case .exchange(_, let held, let responseStarted) = started.abandoned() else {
            Issue.record("its connection is given back")
            return
        }
        #expect(held === connection && responseStarted)

        var discarding = forwarding(request, on: connection)
        discarding.responseStarted()
        _ = discarding.responseEnded(closeAfterResponse: false) { .discard(10) }
        guard case .closeLingering = discarding.requestBroke() else {
            Issue.record("a broken rest of an answered request closes lingering")
            return
        }
        #expect(isDone(discarding))
    }

    @Test("a second head during an exchange is refused (the decoder delivers one at a time)")
    func headDuringExchange() {
        let request = Request(), connection = Connection()
        var machine = forwarding(request, on: connection)
        let accepted = machine.requestHeadReceived()
        #expect(!accepted)
        #expect(machine.exchange(on: connection) != nil, "the exchange is untouched")
    }
}
