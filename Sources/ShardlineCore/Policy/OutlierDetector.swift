/// Outlier detection for one shard: after `consecutiveFailures` failures in a row the shard is
/// ejected (failed fast, no connect attempt) for a window that starts at `baseEjection` and
/// doubles each time the shard is ejected again without having recovered, up to `maxEjection`.
/// When the window ends, exactly one request is let through as a probe; its success restores the
/// shard, its failure ejects it again for the next, longer window.
///
/// Only transport failures count (connect failures, connections lost before a response, response
/// timeouts). A 5xx answer is the shard speaking: the shard is reachable, and with sharding there
/// is no other pod to send the key to anyway.
///
/// A value type driven by events with the time passed in, so it is tested without clocks and the
/// SDK can drive the same one.
public struct OutlierDetector: Sendable, Equatable {
    public struct Settings: Sendable, Equatable {
        public var consecutiveFailures: Int
        public var baseEjection: Duration
        public var maxEjection: Duration

        public init(consecutiveFailures: Int, baseEjection: Duration, maxEjection: Duration) {
            self.consecutiveFailures = max(1, consecutiveFailures)
            self.baseEjection = baseEjection
            self.maxEjection = max(baseEjection, maxEjection)
        }

        public init(_ settings: OutlierSettings) {
            self.init(consecutiveFailures: settings.consecutiveFailures, baseEjection: settings.baseEjection, maxEjection: settings.maxEjection)
        }
    }

    public enum State: Sendable, Equatable {
        /// Requests flow; `failures` transport failures in a row so far.
        case healthy(failures: Int)
        /// Failed fast until `until`; this is ejection number `ejections` since the shard was last healthy.
        case ejected(until: ContinuousClock.Instant, ejections: Int)
        /// The window ended and one probe request is out; everything else is still failed fast.
        /// A probe that never reports (its client went away) is replaced after `deadline`.
        case probing(deadline: ContinuousClock.Instant, ejections: Int)
    }

    /// What to do with a request about to be sent to the shard.
    public enum Admission: Sendable, Equatable {
        case allow
        /// Allow it as the probe: report its outcome with `probe: true`.
        case probe
        /// Fail it fast: the shard is ejected until `until` (or a probe is out).
        case reject(until: ContinuousClock.Instant)
    }

    /// What the caller should do after an outcome was reported.
    public enum Transition: Sendable, Equatable {
        case none
        /// The shard was just ejected (count it, log it) for `duration`.
        case ejected(duration: Duration)
        /// A probe succeeded and the shard is healthy again.
        case restored
    }

    public let settings: Settings
    public private(set) var state: State = .healthy(failures: 0)

    public init(settings: Settings) {
        self.settings = settings
    }

    public func isEjected(at now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .healthy: return false
        case .ejected(let until, _): return now < until
        case .probing: return true
        }
    }

    public mutating func admit(at now: ContinuousClock.Instant) -> Admission {
        switch state {
        case .healthy:
            return .allow
        case .ejected(let until, let ejections):
            guard now >= until else { return .reject(until: until) }
            state = .probing(deadline: now + settings.maxEjection, ejections: ejections)
            return .probe
        case .probing(let deadline, let ejections):
            guard now >= deadline else { return .reject(until: deadline) }
            state = .probing(deadline: now + settings.maxEjection, ejections: ejections)
            return .probe
        }
    }

    /// The request got a response (any status): the shard is reachable.
    public mutating func recordSuccess(probe: Bool, at now: ContinuousClock.Instant) -> Transition {
        switch state {
        case .healthy:
            state = .healthy(failures: 0)
            return .none
        case .probing where probe:
            state = .healthy(failures: 0)
            return .restored
        case .ejected, .probing:
            // A request admitted before the ejection finished late: the probe decides, not it.
            return .none
        }
    }

    /// The request failed at the transport level.
    public mutating func recordFailure(probe: Bool, at now: ContinuousClock.Instant) -> Transition {
        switch state {
        case .healthy(let failures):
            guard failures + 1 >= settings.consecutiveFailures else {
                state = .healthy(failures: failures + 1)
                return .none
            }
            return eject(number: 1, at: now)
        case .probing(_, let ejections) where probe:
            return eject(number: ejections + 1, at: now)
        case .ejected, .probing:
            return .none
        }
    }

    /// The probe ended without a verdict (its client went away first): let the next request probe.
    public mutating func recordAbandoned(probe: Bool, at now: ContinuousClock.Instant) {
        guard probe, case .probing(_, let ejections) = state else { return }
        state = .ejected(until: now, ejections: ejections)
    }

    private mutating func eject(number: Int, at now: ContinuousClock.Instant) -> Transition {
        let duration = ejectionDuration(number: number)
        state = .ejected(until: now + duration, ejections: number)
        return .ejected(duration: duration)
    }

    /// `baseEjection * 2^(number-1)`, capped at `maxEjection` (and without overflowing).
    public func ejectionDuration(number: Int) -> Duration {
        var duration = settings.baseEjection
        var doublings = max(0, number - 1)
        while doublings > 0 && duration < settings.maxEjection {
            duration *= 2
            doublings -= 1
        }
        return min(duration, settings.maxEjection)
    }
}
