import Testing
import ShardlineCore

@Suite("KeepAlivePolicy")
struct KeepAlivePolicyTests {
    @Test("with nothing known about the shard, any idle connection may be reused")
    func unknownShard() {
        let policy = KeepAlivePolicy()
        #expect(policy.mayReuse(idleFor: .seconds(3600), announcedTimeout: nil))
    }

    @Test("an announced Keep-Alive timeout stops reuse half of it (at most 1 s) before it")
    func announcedTimeout() {
        let policy = KeepAlivePolicy()
        #expect(policy.mayReuse(idleFor: .milliseconds(999), announcedTimeout: .seconds(2)))
        #expect(!policy.mayReuse(idleFor: .milliseconds(1000), announcedTimeout: .seconds(2)))
        #expect(policy.mayReuse(idleFor: .milliseconds(499), announcedTimeout: .seconds(1)))
        #expect(!policy.mayReuse(idleFor: .milliseconds(500), announcedTimeout: .seconds(1)))
        #expect(policy.mayReuse(idleFor: .milliseconds(73_900), announcedTimeout: .seconds(75)))
        #expect(!policy.mayReuse(idleFor: .seconds(74), announcedTimeout: .seconds(75)))
        #expect(!policy.mayReuse(idleFor: .zero, announcedTimeout: .zero))
    }

    @Test("the first idle close teaches the shard's idle timeout; the shortest one wins")
    func learnsFromIdleCloses() {
        var policy = KeepAlivePolicy()
        policy.shardClosedIdleConnection(after: .milliseconds(2010))
        #expect(policy.learnedIdleTimeout == .milliseconds(2010))
        #expect(policy.mayReuse(idleFor: .milliseconds(1009), announcedTimeout: nil))
        #expect(!policy.mayReuse(idleFor: .milliseconds(1010), announcedTimeout: nil))
        policy.shardClosedIdleConnection(after: .seconds(5))
        #expect(policy.learnedIdleTimeout == .milliseconds(2010))
        policy.shardClosedIdleConnection(after: .seconds(1))
        #expect(policy.learnedIdleTimeout == .seconds(1))
    }

    @Test("closes right after a connection went idle (a restarting shard) teach nothing")
    func ignoresImmediateCloses() {
        var policy = KeepAlivePolicy()
        policy.shardClosedIdleConnection(after: .milliseconds(20))
        #expect(policy.learnedIdleTimeout == nil)
        #expect(policy.mayReuse(idleFor: .seconds(60), announcedTimeout: nil))
    }

    @Test("Keep-Alive header values", arguments: [
        (["timeout=5, max=100"], 5), (["max=100,timeout=2"], 2), (["Timeout = 7"], 7), (["max=3"], nil),
        (["timeout=soon"], nil), (["timeout=-1"], nil), ([], nil), (["", "timeout=9"], 9),
    ] as [([String], Int?)])
    func headerParsing(values: [String], seconds: Int?) {
        #expect(KeepAlivePolicy.announcedTimeout(keepAliveValues: values.map { Substring($0) }) == seconds.map { .seconds($0) })
    }
}
