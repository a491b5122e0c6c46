import Logging
import NIOCore
import ShardlineCore
import Synchronization

/// What the proxy knows about shard addresses beyond any one connection: whether each is
/// failing (outlier state), what its name resolves to (DNS answers) and how long it keeps idle
/// connections (keep-alive), and the two rules that tie them together: a reload forgets removed
/// addresses, and a failed-fast shard whose name moves to a new pod is let back in.
final class ShardState: Sendable {
    let health: ShardHealth
    let addresses: ShardAddressCache
    let keepAlive = ShardKeepAlive()
    private let logger: Logger
    /// The newest router generation whose removed addresses were forgotten.
    private let forgottenGeneration = Atomic<Int>(1)

    init(health: ShardHealth, addresses: ShardAddressCache, logger: Logger) {
        self.health = health
        self.addresses = addresses
        self.logger = logger
    }

    /// A reload changed the topology: forget the cached DNS answers and outlier state of the
    /// addresses it removed, once per generation whichever loop sees the generation first.
    func forgetRemovedAddresses(_ snapshot: RouterStore.Snapshot) {
        var seen = forgottenGeneration.load(ordering: .relaxed)
        while seen < snapshot.generation {
            let (exchanged, current) = forgottenGeneration.compareExchange(
                expected: seen, desired: snapshot.generation, ordering: .relaxed
            )
            if exchanged {
                addresses.forget(keeping: snapshot.addresses)
                health.forget(keeping: snapshot.addresses)
                keepAlive.forget(keeping: snapshot.addresses)
                return
            }
            seen = current
        }
    }

    /// A probe request to `address` succeeded and `ShardHealth` let the shard back in.
    func restored(_ address: PodAddress) {
        addresses.recovered(address)
    }

    /// A request was failed fast for `target`: if DNS now names another pod for it (a restarted
    /// StatefulSet pod comes back on a new IP), the ejection earned by the old pod ends, so the new
    /// one gets traffic within about `dnsRefreshInterval` of its record, not after the ejection
    /// window (up to `outlier.maxEjection`).
    func recheckEjected(_ target: ShardTarget, on eventLoop: any EventLoop) {
        addresses.recheck(target.address, on: eventLoop) { [health, logger] in
            health.reset(target.address)
            logger.info("shard resolves to a new address; failing fast ends", metadata: [
                "service": .string(target.service), "shard": .stringConvertible(target.shard),
                "upstream": .string(target.address.description),
            ])
        }
    }
}

/// Each shard address's `KeepAlivePolicy`, shared by every event loop's pool: the first idle
/// connection a shard closes teaches all of them.
final class ShardKeepAlive: Sendable {
    private let policies = Mutex<[PodAddress: KeepAlivePolicy]>([:])

    func mayReuse(_ address: PodAddress, idleFor idle: Duration, announcedTimeout: Duration?) -> Bool {
        let policy = policies.withLock { $0[address] } ?? KeepAlivePolicy()
        return policy.mayReuse(idleFor: idle, announcedTimeout: announcedTimeout)
    }

    func shardClosedIdleConnection(_ address: PodAddress, after idle: Duration) {
        guard idle >= KeepAlivePolicy.shortestLearnedTimeout else { return }
        policies.withLock { $0[address, default: KeepAlivePolicy()].shardClosedIdleConnection(after: idle) }
    }

    func forget(keeping addresses: Set<PodAddress>) {
        policies.withLock { policies in
            policies = policies.filter { addresses.contains($0.key) }
        }
    }
}
