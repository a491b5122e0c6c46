import Testing
import ShardlineCore

@Suite("MisdirectedPolicy (421)")
struct MisdirectedPolicyTests {
    let mine = TopologyFingerprint(value: 1)
    let theirs = TopologyFingerprint(value: 2)

    func start(bodyReplayable: Bool = true) -> MisdirectedState {
        MisdirectedPolicy().start(fingerprint: mine, shard: 1, bodyReplayable: bodyReplayable)
    }

    @Test("a 421 from a shard with another topology: re-read, then retry once on the new owner")
    func rereadAndRetry() {
        var state = start()
        #expect(state.received(MisdirectedResponse(owner: 3, fingerprint: theirs)) == .rereadConfig)
        #expect(state.configReread(fingerprint: theirs, shard: 3) == .retry(shard: 3))
        #expect(state.shard == 3)
        #expect(state.fingerprint == theirs)
    }

    @Test("a second 421 after the retry is surfaced, never followed: no loop")
    func neverLoops() {
        var state = start()
        _ = state.received(MisdirectedResponse(owner: 3, fingerprint: theirs))
        _ = state.configReread(fingerprint: theirs, shard: 3)
        #expect(state.received(MisdirectedResponse(owner: 1, fingerprint: TopologyFingerprint(value: 9))) == .surface(.alreadyRetried))
        #expect(state.received(MisdirectedResponse(owner: 1, fingerprint: TopologyFingerprint(value: 9))) == .surface(.unexpectedCall))
    }

    @Test("the same fingerprint on both sides: re-reading cannot help")
    func samePlacement() {
        var state = start()
        #expect(state.received(MisdirectedResponse(owner: 3, fingerprint: mine)) == .surface(.samePlacement))
    }

    @Test("an unchanged config after the re-read surfaces the 421")
    func configUnchanged() {
        var state = start()
        #expect(state.received(MisdirectedResponse(owner: 3, fingerprint: theirs)) == .rereadConfig)
        #expect(state.configReread(fingerprint: mine, shard: 1) == .surface(.configUnchanged))
    }

    @Test("a changed config that still routes to the refusing shard is not retried")
    func sameShardAgain() {
        var state = start()
        _ = state.received(MisdirectedResponse(owner: 3, fingerprint: theirs))
        #expect(state.configReread(fingerprint: TopologyFingerprint(value: 7), shard: 1) == .surface(.sameShardAgain))
    }

    @Test("a 421 without Shardline's headers is not a shard's")
    func notFromShard() {
        var noHeaders = start()
        #expect(noHeaders.received(MisdirectedResponse(ownerHeader: nil, topologyHeader: nil)) == .surface(.notFromShard))
        var noOwner = start()
        #expect(noOwner.received(MisdirectedResponse(ownerHeader: "x", topologyHeader: theirs.headerValue)) == .surface(.notFromShard))
        var badTopology = start()
        #expect(badTopology.received(MisdirectedResponse(ownerHeader: "2", topologyHeader: "nope")) == .surface(.notFromShard))
    }

    @Test("a non-replayable body is surfaced; a POST with a kept body is retried (a 421 was not processed)")
    func bodies() {
        var streamed = start(bodyReplayable: false)
        #expect(streamed.received(MisdirectedResponse(owner: 3, fingerprint: theirs)) == .surface(.bodyNotReplayable))
        var kept = start(bodyReplayable: true)
        #expect(kept.received(MisdirectedResponse(ownerHeader: "3", topologyHeader: theirs.headerValue)) == .rereadConfig)
        #expect(kept.configReread(fingerprint: theirs, shard: 3) == .retry(shard: 3))
    }

    @Test("configReread out of order is reported, not trapped")
    func outOfOrder() {
        var state = start()
        #expect(state.configReread(fingerprint: theirs, shard: 3) == .surface(.unexpectedCall))
    }

    @Test("header parsing: owner is a non-negative integer, topology 16 lowercase hex digits")
    func parsing() {
        #expect(MisdirectedResponse(ownerHeader: " 2 ", topologyHeader: "0000000000000002") == MisdirectedResponse(owner: 2, fingerprint: theirs))
        #expect(MisdirectedResponse(ownerHeader: "-1", topologyHeader: nil).owner == nil)
        for reason in [MisdirectedState.SurfaceReason.notFromShard, .samePlacement, .configUnchanged, .sameShardAgain, .alreadyRetried, .bodyNotReplayable, .unexpectedCall] {
            #expect(!reason.message.isEmpty)
        }
    }
}
