import Synchronization

/// The outlier state of every shard address, shared by all event loops so a shard that one
/// connection found dead is failed fast for all of them. Keyed by address, not by service and
/// ordinal: a reload that moves an ordinal to a new address starts it healthy.
///
/// The sidecar and the SDK each keep one, so a shard is ejected and probed the same way whichever
/// of them sends to it.
public final class ShardHealth: Sendable {
    private let settings: OutlierDetector.Settings
    private let detectors = Mutex<[PodAddress: OutlierDetector]>([:])
    /// How many addresses have a detector stored, written under the lock: while none has (every
    /// shard healthy, the common case), `admit` and `recordSuccess` answer without taking the lock,
    /// which every request on every event loop would otherwise contend for.
    private let tracked = Atomic<Int>(0)

    public init(settings: OutlierSettings) {
        self.settings = OutlierDetector.Settings(settings)
    }

    public func admit(_ address: PodAddress, at now: ContinuousClock.Instant = .now) -> OutlierDetector.Admission {
        guard tracked.load(ordering: .acquiring) > 0 else { return .allow }
        return detectors.withLock { detectors in
            guard var detector = detectors[address] else { return .allow }
            let admission = detector.admit(at: now)
            detectors[address] = detector
            return admission
        }
    }

    public func recordSuccess(_ address: PodAddress, probe: Bool, at now: ContinuousClock.Instant = .now) -> OutlierDetector.Transition {
        guard tracked.load(ordering: .acquiring) > 0 else { return .none }
        return detectors.withLock { detectors in
            // Healthy shards with no failures are not stored: the common path stays a lookup miss.
            guard var detector = detectors[address] else { return .none }
            let transition = detector.recordSuccess(probe: probe, at: now)
            if detector.state == .healthy(failures: 0) {
                detectors[address] = nil
            } else {
                detectors[address] = detector
            }
            tracked.store(detectors.count, ordering: .releasing)
            return transition
        }
    }

    public func recordFailure(_ address: PodAddress, probe: Bool, at now: ContinuousClock.Instant = .now) -> OutlierDetector.Transition {
        detectors.withLock { detectors in
            var detector = detectors[address] ?? OutlierDetector(settings: settings)
            let transition = detector.recordFailure(probe: probe, at: now)
            detectors[address] = detector
            tracked.store(detectors.count, ordering: .releasing)
            return transition
        }
    }

    /// Drops the state of every address not in `addresses` (a reload removed them; should one come
    /// back, it starts healthy, as a new address does).
    public func forget(keeping addresses: Set<PodAddress>) {
        detectors.withLock { detectors in
            detectors = detectors.filter { addresses.contains($0.key) }
            tracked.store(detectors.count, ordering: .releasing)
        }
    }

    /// The address is healthy again from now on (it names a new pod).
    public func reset(_ address: PodAddress) {
        detectors.withLock { detectors in
            detectors.removeValue(forKey: address)
            tracked.store(detectors.count, ordering: .releasing)
        }
    }

    public func recordAbandoned(_ address: PodAddress, probe: Bool, at now: ContinuousClock.Instant = .now) {
        guard probe else { return }
        detectors.withLock { detectors in
            detectors[address]?.recordAbandoned(probe: probe, at: now)
        }
    }
}
