import NIOCore
import NIOPosix
import ShardlineConfigFile
import ShardlineCore
import Synchronization

/// Turns a shard's host name into socket addresses. Injectable so tests can change a shard's
/// address without DNS.
protocol ShardAddressResolver: Sendable {
    /// Must not block `eventLoop`; the future completes on it.
    func resolve(host: String, port: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[SocketAddress]>
}

/// The system resolver (`getaddrinfo`, so `/etc/hosts`, search domains and the cluster DNS all
/// apply), run on its own threads: `getaddrinfo` blocks, and an event loop that blocks stalls
/// every connection on it. Every address of the answer is kept (a Service name has one per pod),
/// in the resolver's order.
final class SystemAddressResolver: ShardAddressResolver {
    private let threadPool: NIOThreadPool

    /// A lookup of a name whose DNS server does not answer holds a thread for the resolver's
    /// timeout; lookups are coalesced per name (see `ShardAddressCache`), so such a name costs one
    /// thread and the others keep resolving.
    init(threads: Int = 4) {
        threadPool = NIOThreadPool(numberOfThreads: threads)
    }

    /// Starts the lookup threads; until then every lookup fails.
    func start() {
        threadPool.start()
    }

    func resolve(host: String, port: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[SocketAddress]> {
        threadPool.runIfActive(eventLoop: eventLoop) {
            try Self.lookUp(host: host, port: port)
        }
    }

    /// All TCP addresses of `host`, duplicates dropped (the lookup the SDK makes too).
    static func lookUp(host: String, port: Int) throws -> [SocketAddress] {
        let answer: [ShardNameLookup.Address]
        do throws(ShardNameLookup.Failure) {
            answer = try ShardNameLookup.addresses(of: host, port: port)
        } catch {
            throw UpstreamConnectError(message: error.description)
        }
        return try answer.map { try SocketAddress(ipAddress: $0.ip, port: port) }
    }

    func shutdown() async {
        try? await threadPool.shutdownGracefully()
    }
}

/// Resolved shard addresses, shared by all event loops. An answer is used for
/// `refreshInterval`, then resolved again on the next connect. A name with several addresses (a
/// Service rather than a pod) is used in turn, each connect taking the next. A failed connect drops
/// the address that failed and only that one; when none is left the name is looked up again, so
/// a pod that came back with a new IP is found on the next attempt. While a fresh answer is being
/// fetched, a stale one is not used: a connect waits for the new answer (or fails with it).
/// Concurrent lookups of one name share a single query.
///
/// An address that failed is not connected to again for `failedAddressHold` (the connect
/// timeout): a retry after a connect failure looks the name up again, and if the name still gives
/// only addresses that just failed (a dead pod whose record still names it), it fails at once
/// instead of waiting a second connect timeout on the same dead address.
///
/// Failed addresses are also remembered so that a shard failed fast by outlier detection can be
/// looked up again (`recheck`) and let back in as soon as DNS names a different pod, instead of
/// waiting out an ejection window earned by the pod that went away.
final class ShardAddressCache: Sendable {
    private struct Entry: Sendable {
        var addresses: [SocketAddress]
        var resolvedAt: ContinuousClock.Instant
        /// Rotates through several A/AAAA answers.
        var next = 0
    }

    private struct State: Sendable {
        var entries: [PodAddress: Entry] = [:]
        var inFlight: [PodAddress: EventLoopFuture<[SocketAddress]>] = [:]
        var failed: [PodAddress: Failed] = [:]
        /// When a failed-fast name is looked up again, and whether the answer ends its ejection:
        /// the core's rule, which the SDK follows too.
        var recheck: EjectionRecheck
    }

    /// The addresses connects to the name failed at, and when (for `failedAddressHold`).
    private struct Failed: Sendable {
        var addresses: [SocketAddress: ContinuousClock.Instant]
    }

    private enum Lookup {
        case cached(SocketAddress)
        case allFailedRecently(SocketAddress)
        case pending(EventLoopFuture<[SocketAddress]>)
        case started(EventLoopFuture<[SocketAddress]>)
    }

    private let resolver: any ShardAddressResolver
    private let refreshInterval: Duration
    private let failedAddressHold: Duration
    private let state: Mutex<State>

    init(resolver: any ShardAddressResolver, refreshInterval: Duration, failedAddressHold: Duration = .seconds(1)) {
        self.resolver = resolver
        self.refreshInterval = refreshInterval
        self.failedAddressHold = failedAddressHold
        self.state = Mutex(State(recheck: EjectionRecheck(interval: refreshInterval)))
    }

    /// - Parameter fresh: ask DNS even when a cached answer is still within `refreshInterval`,
    ///   and return its first address whether or not it failed recently (for `recheck`).
    func address(of pod: PodAddress, on eventLoop: any EventLoop, fresh: Bool = false) -> EventLoopFuture<SocketAddress> {
        // A literal IP needs no lookup.
        if let literal = try? SocketAddress(ipAddress: pod.host, port: pod.port) {
            return eventLoop.makeSucceededFuture(literal)
        }
        let now = ContinuousClock.now
        let hold = failedAddressHold
        let lookup: Lookup = state.withLock { state in
            if !fresh, var entry = state.entries[pod], now - entry.resolvedAt < refreshInterval, !entry.addresses.isEmpty {
                let pick = Self.pick(from: entry.addresses, startingAt: entry.next, avoiding: state.failed[pod], now: now, hold: hold)
                entry.next = (pick ?? entry.next) &+ 1
                state.entries[pod] = entry
                if let index = pick { return .cached(entry.addresses[index]) }
                return .allFailedRecently(entry.addresses[0])
            }
            if let pending = state.inFlight[pod] { return .pending(pending) }
            // Started under the lock, so concurrent callers find it in flight.
            let started = resolver.resolve(host: pod.host, port: pod.port, on: eventLoop)
            state.inFlight[pod] = started
            return .started(started)
        }
        let answer: EventLoopFuture<[SocketAddress]>
        switch lookup {
        case .cached(let address):
            return eventLoop.makeSucceededFuture(address)
        case .allFailedRecently(let address):
            return eventLoop.makeFailedFuture(Self.stillFailing(pod, address))
        case .pending(let pending):
            answer = pending.hop(to: eventLoop)
        case .started(let started):
            started.whenComplete { result in
                self.state.withLock { state in
                    state.inFlight[pod] = nil
                    if case .success(let addresses) = result, !addresses.isEmpty {
                        // The caller that started the lookup takes the first address.
                        state.entries[pod] = Entry(addresses: addresses, resolvedAt: .now, next: 1)
                    }
                }
            }
            answer = started
        }
        return answer.flatMapThrowing { addresses in
            guard let first = addresses.first else {
                throw UpstreamConnectError(message: "the name \(pod.host) resolved to no address")
            }
            if fresh { return first }
            let failed = self.state.withLock { $0.failed[pod] }
            guard let index = Self.pick(from: addresses, startingAt: 0, avoiding: failed, now: .now, hold: hold) else {
                throw Self.stillFailing(pod, first)
            }
            return addresses[index]
        }
    }

    /// The first address from `start` on (in turn) that did not fail within `hold`.
    private static func pick(
        from addresses: [SocketAddress], startingAt start: Int, avoiding failed: Failed?, now: ContinuousClock.Instant, hold: Duration
    ) -> Int? {
        let count = addresses.count
        for offset in 0..<count {
            let index = (start &+ offset) % count
            guard let failedAt = failed?.addresses[addresses[index]], now - failedAt < hold else { return index }
        }
        return nil
    }

    /// How `EjectionRecheck` tells addresses apart: IP and port (a test's fake DNS moves a name
    /// by port; a real pod moves by IP).
    private static func identity(_ address: SocketAddress) -> String {
        "\(address.ipAddress ?? address.description):\(address.port ?? 0)"
    }

    private static func stillFailing(_ pod: PodAddress, _ address: SocketAddress) -> UpstreamConnectError {
        UpstreamConnectError(
            message: "\(pod.host) still resolves only to addresses that just failed (\(address.ipAddress ?? "?")); not connecting again"
        )
    }

    /// Drops the answers for every address not in `addresses` (a reload removed them).
    func forget(keeping addresses: Set<PodAddress>) {
        state.withLock { state in
            state.entries = state.entries.filter { addresses.contains($0.key) }
            state.failed = state.failed.filter { addresses.contains($0.key) }
            state.recheck.forget(keeping: addresses)
        }
    }

    /// A connect to `pod` at `address` failed (or a connection to it was lost): that address is
    /// dropped from the name's answer (the whole answer when it was the last, so the name is looked
    /// up again next time), and remembered for `failedAddressHold` and for `recheck`. A failure
    /// reported late, after the name was looked up again and now resolves elsewhere, leaves the new
    /// answer alone.
    /// - Parameters:
    ///   - address: nil when the failure came before an address was chosen.
    ///   - connectFailed: the address could not be connected to; false for a connection that was
    ///     made and then lost, whose address is not held back from the next connect.
    func invalidate(_ pod: PodAddress, failed address: SocketAddress?, connectFailed: Bool = true) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard let address else {
                state.entries[pod] = nil
                return
            }
            if var entry = state.entries[pod], let index = entry.addresses.firstIndex(of: address) {
                entry.addresses.remove(at: index)
                state.entries[pod] = entry.addresses.isEmpty ? nil : entry
            }
            var failed = state.failed[pod] ?? Failed(addresses: [:])
            failed.addresses = failed.addresses.filter { now - $0.value < refreshInterval + failedAddressHold }
            // A lost connection's address is remembered for `recheck` only: its hold is already over.
            failed.addresses[address] = connectFailed ? now : now - failedAddressHold
            state.failed[pod] = failed
            state.recheck.connectFailed(pod, at: [Self.identity(address)], now: now)
        }
    }

    /// A probe request to `pod` got an answer and its ejection ended: its failed connects are
    /// off the record, so a later ejection starts `recheck` from the addresses that fail then,
    /// not from ones the pod has since answered on (the SDK reports the same to the same rule).
    func recovered(_ pod: PodAddress) {
        state.withLock { $0.recheck.recovered(pod) }
    }

    /// For a shard that is failed fast: asks DNS again, at most once per `refreshInterval`, and
    /// calls `moved` when the name now resolves to an address other than those that failed (the
    /// pod came back elsewhere). Never blocks; `moved` runs on `eventLoop`.
    func recheck(_ pod: PodAddress, on eventLoop: any EventLoop, moved: @escaping @Sendable () -> Void) {
        let now = ContinuousClock.now
        guard state.withLock({ $0.recheck.lookUpDue(pod, now: now) }) else { return }
        address(of: pod, on: eventLoop, fresh: true).whenSuccess { address in
            let isNew = self.state.withLock { state in
                guard state.recheck.answered(pod, addresses: [Self.identity(address)]) else { return false }
                state.failed[pod] = nil
                return true
            }
            if isNew { moved() }
        }
    }
}

/// Why a connection to a shard could not be made, in words for the error body and the log.
struct UpstreamConnectError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
