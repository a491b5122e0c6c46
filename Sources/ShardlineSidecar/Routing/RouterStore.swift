import ShardlineCore
import Synchronization

/// The live routing table. A reload swaps in a whole new `ShardRouter`; a request takes one
/// snapshot when it is routed and keeps it, so requests in flight finish on the topology they
/// started with.
public final class RouterStore: Sendable {
    public struct Snapshot: Sendable {
        public let router: ShardRouter
        /// Starts at 1 and grows by one per accepted reload (exported as a metric).
        public let generation: Int
        /// Every shard address of every service: what the proxy may keep pools, cached DNS
        /// answers and outlier state for. Computed once per generation, off the request path.
        public let addresses: Set<PodAddress>
        /// Each service's topology fingerprint and, during a resharding, the previous owner of a
        /// key: the headers a forwarded request carries (SPEC.md 11.5). Built with the router.
        public let ownership: OwnershipResolver

        init(router: ShardRouter, generation: Int, addresses: Set<PodAddress>) {
            self.router = router
            self.generation = generation
            self.addresses = addresses
            self.ownership = OwnershipResolver(config: router.config)
        }

        static func addresses(of router: ShardRouter) -> Set<PodAddress> {
            Set(router.config.services.flatMap(\.topology.addresses))
        }
    }

    private let state: Mutex<Snapshot>

    public init(_ router: ShardRouter) {
        state = Mutex(Snapshot(router: router, generation: 1, addresses: Snapshot.addresses(of: router)))
    }

    public var current: Snapshot {
        state.withLock { $0 }
    }

    /// Installs `router` and returns its generation.
    @discardableResult
    public func replace(with router: ShardRouter) -> Int {
        // The address set is built outside the lock; the generation is only known inside it.
        let addresses = Snapshot.addresses(of: router)
        return state.withLock { snapshot in
            snapshot = Snapshot(router: router, generation: snapshot.generation + 1, addresses: addresses)
            return snapshot.generation
        }
    }
}
