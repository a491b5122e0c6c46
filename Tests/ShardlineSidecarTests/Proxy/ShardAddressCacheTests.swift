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
        // A failure at the current answer drops it: the name is looked up again.
        cache.invalidate(pod, failed: try address(1002))
        resolver.set(pod.host, .loopback(port: 1003))
        #expect(try await cache.address(of: pod, on: loop).get() == address(1003))
        #expect(resolver.lookupCount(pod.host) == 3)
    }

    @Test("a name with several addresses is used in turn, and a failure drops only the address that failed")
    func severalAddresses() async throws {
        let resolver = FakeResolver()
        let cache = ShardAddressCache(resolver: resolver, refreshInterval: .seconds(60))
        resolver.set(pod.host, .several(ports: [2001, 2002, 2003]))
        let (first, second, third) = (try address(2001), try address(2002), try address(2003))
        var seen: [SocketAddress] = []
        for _ in 0..<6 { seen.append(try await cache.address(of: pod, on: loop).get()) }
        #expect(seen == [first, second, third, first, second, third])
        cache.invalidate(pod, failed: second)
        seen = []
        for _ in 0..<4 { seen.append(try await cache.address(of: pod, on: loop).get()) }
        #expect(Set(seen) == [first, third])
        #expect(resolver.lookupCount(pod.host) == 1, "the other addresses stay cached")
    }

    @Test("after a connect failure, a name that still resolves to the failed address fails at once instead of connecting again; later it is tried again")
    func deadAddressNotRetried() async throws {
        let resolver = FakeResolver()
        let cache = ShardAddressCache(resolver: resolver, refreshInterval: .seconds(60), failedAddressHold: .seconds(4))
        resolver.set(pod.host, .loopback(port: 3001))
        #expect(try await cache.address(of: pod, on: loop).get() == address(3001))
        cache.invalidate(pod, failed: try address(3001))
        // The retry looks the name up again (the pod may have moved) ...
        await #expect(throws: UpstreamConnectError.self) { try await cache.address(of: pod, on: loop).get() }
        #expect(resolver.lookupCount(pod.host) == 2)
        // ... and while the hold lasts, without asking DNS again.
        await #expect(throws: UpstreamConnectError.self) { try await cache.address(of: pod, on: loop).get() }
        #expect(resolver.lookupCount(pod.host) == 2)
        // A lost connection (not a connect failure) does not hold its address back.
        cache.invalidate(pod, failed: try address(3001), connectFailed: false)
        // Once the hold is over, the address is tried again (the outlier detector's probe).
        try await Task.sleep(for: .milliseconds(4100))
        #expect(try await cache.address(of: pod, on: loop).get() == address(3001))
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

    @Test("a shard a probe brought back has no failed connects left to recheck")
    func recoveredShardIsNotRechecked() async throws {
        let resolver = FakeResolver()
        let cache = ShardAddressCache(resolver: resolver, refreshInterval: .milliseconds(100))
        resolver.set(pod.host, .loopback(port: 1001))
        _ = try await cache.address(of: pod, on: loop).get()
        cache.invalidate(pod, failed: try address(1001))
        cache.recovered(pod)
        try await Task.sleep(for: .milliseconds(150))
        let lookups = resolver.lookupCount(pod.host)
        cache.recheck(pod, on: loop) {}
        #expect(resolver.lookupCount(pod.host) == lookups, "a recovered pod's old failures no longer ask DNS")

        // A new failure is on the record again, from its own address.
        cache.invalidate(pod, failed: try address(1001))
        try await Task.sleep(for: .milliseconds(150))
        cache.recheck(pod, on: loop) {}
        try await loop.submit {}.get()
        #expect(resolver.lookupCount(pod.host) == lookups + 1)
    }
}
