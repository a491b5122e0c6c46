import Synchronization

/// Whether the sidecar should receive traffic, as `/readyz` reports it to the kubelet.
///
/// Ready means the config is loaded and every listener is bound. Draining (after SIGTERM) is
/// never ready again: the pod is leaving, and a probe that flipped back would only confuse the
/// endpoints controller.
public final class SidecarReadiness: Sendable {
    public enum Status: Sendable, Equatable {
        case ready
        /// Listeners are not bound yet.
        case starting
        /// Graceful shutdown has begun.
        case draining
    }

    private let draining = Atomic<Bool>(false)
    private let listenersBound: @Sendable () -> Bool

    /// - Parameter listenersBound: whether every traffic listener is bound and accepting.
    public init(listenersBound: @escaping @Sendable () -> Bool) {
        self.listenersBound = listenersBound
    }

    public var status: Status {
        if draining.load(ordering: .acquiring) { return .draining }
        return listenersBound() ? .ready : .starting
    }

    public var isDraining: Bool {
        draining.load(ordering: .acquiring)
    }

    public func markDraining() {
        draining.store(true, ordering: .releasing)
    }
}
