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
    }

    private let state: Mutex<Snapshot>

    public init(_ router: ShardRouter) {
        state = Mutex(Snapshot(router: router, generation: 1))
    }

    public var current: Snapshot {
        state.withLock { $0 }
    }

    /// Installs `router` and returns its generation.
    @discardableResult
    public func replace(with router: ShardRouter) -> Int {
        state.withLock { snapshot in
            snapshot = Snapshot(router: router, generation: snapshot.generation + 1)
            return snapshot.generation
        }
    }
}
