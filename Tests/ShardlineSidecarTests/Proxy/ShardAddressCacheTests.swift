import NIOCore
import NIOPosix
import ShardlineCore
import Synchronization
import Testing
@testable import ShardlineSidecar

@Suite("Shard address cache")
struct ShardAddressCacheTests {
    let pod = PodAddress(host: "users-1.users.default.svc.cluster.local", port: 8080)
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    func address(_ port: Int) throws -> SocketAddress { try SocketAddress(ipAddress: "127.0.0.1", port: port) }

    @Test("a failure reported late, for an address the name no longer resolves to, leaves the new answer cached")
    func lateFailureKeepsNewAnswer() async throws {
        let resolver = FakeResolver()
        let cache = ShardAddressCache(resolver: resolver, refreshInterval: .seconds(60))
        resolver.set(pod.host, .loopback(port: 1001))
        #expect(try await cache.address(of: pod, on: loop).get() == address(1001))
        // The connect to 1001 times out: dropped, so the retry looks the name up again.
        cache.invalidate(pod, failed: try address(1001))
        resolver.set(pod.host, .loopback(port: 1002))
        #expect(try await cache.address(of: pod, on: loop).get() == address(1002))
        // The first connect's own error arrives now; the fresh answer must survive it.
        cache.invalidate(pod, failed: try address(1001))
        #expect(try await cache.address(of: pod, on: loop).get() == address(1002))
        #expect(resolver.lookupCount(pod.host) == 2)
        // A failure at the current answer drops it.
        cache.invalidate(pod, failed: try address(1002))
        _ = try await cache.address(of: pod, on: loop).get()
        #expect(resolver.lookupCount(pod.host) == 3)
    }

    @Test("recheck asks DNS at most once per refreshInterval, and reports a move only to another address")
    func recheck() async throws {
        let resolver = FakeResolver()
        let cache = ShardAddressCache(resolver: resolver, refreshInterval: .milliseconds(300))
        let moves = Atomic<Int>(0)
        resolver.set(pod.host, .loopback(port: 1001))
        _ = try await cache.address(of: pod, on: loop).get()
        // Nothing failed yet: nothing to recheck.
        cache.recheck(pod, on: loop) { moves.add(1, ordering: .relaxed) }
        #expect(resolver.lookupCount(pod.host) == 1)

        cache.invalidate(pod, failed: try address(1001))
        cache.recheck(pod, on: loop) { moves.add(1, ordering: .relaxed) }
        #expect(resolver.lookupCount(pod.host) == 1, "within refreshInterval of the failure")
        try await Task.sleep(for: .milliseconds(350))
        // DNS still names the failed pod: a lookup, no move.
        cache.recheck(pod, on: loop) { moves.add(1, ordering: .relaxed) }
        cache.recheck(pod, on: loop) { moves.add(1, ordering: .relaxed) }
        try await loop.submit {}.get()
        #expect(resolver.lookupCount(pod.host) == 2)
        #expect(moves.load(ordering: .relaxed) == 0)

        resolver.set(pod.host, .loopback(port: 1002))
        try await Task.sleep(for: .milliseconds(350))
        cache.recheck(pod, on: loop) { moves.add(1, ordering: .relaxed) }
        try await loop.submit {}.get()
        #expect(moves.load(ordering: .relaxed) == 1)
        #expect(resolver.lookupCount(pod.host) == 3)
        #expect(try await cache.address(of: pod, on: loop).get() == address(1002))
        // Once moved, there is no failure left to recheck.
        try await Task.sleep(for: .milliseconds(350))
        let lookups = resolver.lookupCount(pod.host)
        cache.recheck(pod, on: loop) { moves.add(1, ordering: .relaxed) }
        #expect(resolver.lookupCount(pod.host) == lookups)
    }
}
