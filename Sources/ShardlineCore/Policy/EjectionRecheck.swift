/// When a failed-fast shard's name is looked up again, and what the answer means.
///
/// Outlier detection ejects a shard *address* (a pod's stable DNS name) for what the pod behind it
/// did. A StatefulSet pod that dies comes back under the same name on a new IP; the ejection it
/// earned would otherwise keep failing the new pod fast for the rest of its window (up to
/// `outlier.maxEjection`). So while a shard is failed fast, its name is looked up again, at most
/// once per `interval` (a failed-fast request must not cost a DNS query each), and the ejection
/// ends as soon as the name resolves to an address that did not fail.
///
/// The sidecar and the SDK both drive this one rule; each does its own lookup (the sidecar through
/// its address cache, the SDK through `getaddrinfo`) and reports the answer here. Addresses are
/// opaque strings that tell the answer's addresses apart (the SDK: the numeric IP; the sidecar:
/// IP and port).
public struct EjectionRecheck: Sendable {
    private struct Failed: Sendable {
        var addresses: Set<String>
        var checkedAt: ContinuousClock.Instant
    }

    /// The shortest time between two lookups of one name (the sidecar's `dnsRefreshInterval`).
    public let interval: Duration
    private var failed: [PodAddress: Failed] = [:]

    public init(interval: Duration) {
        self.interval = interval
    }

    /// A connect to `pod` failed at these addresses (what its name resolved to then). They are
    /// the ones a later answer must differ from.
    public mutating func connectFailed(_ pod: PodAddress, at addresses: some Sequence<String>, now: ContinuousClock.Instant) {
        var entry = failed[pod] ?? Failed(addresses: [], checkedAt: now)
        entry.addresses.formUnion(addresses)
        entry.checkedAt = now
        failed[pod] = entry
    }

    /// A request to `pod` was failed fast: true when its name should be looked up now (it has
    /// failed connects on record and was not looked up within `interval`). A true answer counts as
    /// the lookup, so concurrent requests start one lookup, not one each.
    public mutating func lookUpDue(_ pod: PodAddress, now: ContinuousClock.Instant) -> Bool {
        guard var entry = failed[pod], now - entry.checkedAt >= interval else { return false }
        entry.checkedAt = now
        failed[pod] = entry
        return true
    }

    /// The answer of a lookup `lookUpDue` asked for. True when the name now resolves to an address
    /// that did not fail: the pod came back elsewhere, its ejection should end, and its failures
    /// are forgotten here too. False (and nothing changes) when it still names only failed
    /// addresses, or nothing.
    public mutating func answered(_ pod: PodAddress, addresses: [String]) -> Bool {
        guard let entry = failed[pod] else { return false }
        guard addresses.contains(where: { !entry.addresses.contains($0) }) else { return false }
        failed[pod] = nil
        return true
    }

    /// Whether `pod` has failed connects on record.
    public func hasFailures(_ pod: PodAddress) -> Bool {
        failed[pod] != nil
    }

    /// Drops every pod not in `pods` (a reload removed them).
    public mutating func forget(keeping pods: Set<PodAddress>) {
        failed = failed.filter { pods.contains($0.key) }
    }

    /// Drops `pod`'s record (it answered again).
    public mutating func recovered(_ pod: PodAddress) {
        failed[pod] = nil
    }
}
