import NIOCore
import NIOPosix
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
/// every connection on it.
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
            [try SocketAddress.makeAddressResolvingHost(host, port: port)]
        }
    }

    func shutdown() async {
        try? await threadPool.shutdownGracefully()
    }
}

/// Resolved shard addresses, shared by all event loops. An answer is used for
/// `refreshInterval`, then resolved again on the next connect; a failed connect drops it at once,
/// so a pod that came back with a new IP is found on the next attempt. While a fresh answer is
/// being fetched, a stale one is not used: a connect waits for the new answer (or fails with it).
/// Concurrent lookups of one name share a single query.
///
/// A dropped answer is remembered as the one that failed, so that a shard failed fast by outlier
/// detection can be looked up again (`recheck`) and let back in as soon as DNS names a different
/// pod, instead of waiting out an ejection window earned by the pod that went away.
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
    }

    /// The address a connect to the name failed at, and when `recheck` last asked DNS about it.
    private struct Failed: Sendable {
        var address: SocketAddress
        var checkedAt: ContinuousClock.Instant
    }

    private enum Lookup {
        case cached(SocketAddress)
        case pending(EventLoopFuture<[SocketAddress]>)
        case started(EventLoopFuture<[SocketAddress]>)
    }

    private let resolver: any ShardAddressResolver
    private let refreshInterval: Duration
    private let state = Mutex(State())

    init(resolver: any ShardAddressResolver, refreshInterval: Duration) {
        self.resolver = resolver
        self.refreshInterval = refreshInterval
    }

    /// - Parameter fresh: ask DNS even when a cached answer is still within `refreshInterval`.
    func address(of pod: PodAddress, on eventLoop: any EventLoop, fresh: Bool = false) -> EventLoopFuture<SocketAddress> {
        // A literal IP needs no lookup.
        if let literal = try? SocketAddress(ipAddress: pod.host, port: pod.port) {
            return eventLoop.makeSucceededFuture(literal)
        }
        let now = ContinuousClock.now
        let lookup: Lookup = state.withLock { state in
            if !fresh, var entry = state.entries[pod], now - entry.resolvedAt < refreshInterval, !entry.addresses.isEmpty {
                let address = entry.addresses[entry.next % entry.addresses.count]
                entry.next &+= 1
                state.entries[pod] = entry
                return .cached(address)
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
        case .pending(let pending):
            answer = pending.hop(to: eventLoop)
        case .started(let started):
            started.whenComplete { result in
                self.state.withLock { state in
                    state.inFlight[pod] = nil
                    if case .success(let addresses) = result, !addresses.isEmpty {
                        state.entries[pod] = Entry(addresses: addresses, resolvedAt: .now)
                    }
                }
            }
            answer = started
        }
        return answer.flatMapThrowing { addresses in
            guard let first = addresses.first else {
                throw UpstreamConnectError(message: "the name \(pod.host) resolved to no address")
            }
            return first
        }
    }

    /// Drops the answers for every address not in `addresses` (a reload removed them).
    func forget(keeping addresses: Set<PodAddress>) {
        state.withLock { state in
            state.entries = state.entries.filter { addresses.contains($0.key) }
            state.failed = state.failed.filter { addresses.contains($0.key) }
        }
    }

    /// A connect to `pod` at `address` failed (or a connection to it was lost): look the name up
    /// again next time, and remember the address for `recheck`. A failure reported late, after the
    /// name was already looked up again and now resolves elsewhere, leaves the new answer alone.
    /// - Parameter address: nil when the failure came before an address was chosen.
    func invalidate(_ pod: PodAddress, failed address: SocketAddress?) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard let address else {
                state.entries[pod] = nil
                return
            }
            if let entry = state.entries[pod], entry.addresses.contains(address) {
                state.entries[pod] = nil
            }
            state.failed[pod] = Failed(address: address, checkedAt: now)
        }
    }

    /// For a shard that is failed fast: asks DNS again, at most once per `refreshInterval`, and
    /// calls `moved` when the name now resolves to an address other than the one that failed (the
    /// pod came back elsewhere). Never blocks; `moved` runs on `eventLoop`.
    func recheck(_ pod: PodAddress, on eventLoop: any EventLoop, moved: @escaping @Sendable () -> Void) {
        let now = ContinuousClock.now
        let failedAddress: SocketAddress? = state.withLock { state in
            guard var failed = state.failed[pod], now - failed.checkedAt >= refreshInterval else { return nil }
            failed.checkedAt = now
            state.failed[pod] = failed
            return failed.address
        }
        guard let failedAddress else { return }
        address(of: pod, on: eventLoop, fresh: true).whenSuccess { address in
            guard address != failedAddress else { return }
            _ = self.state.withLock { $0.failed.removeValue(forKey: pod) }
            moved()
        }
    }
}

/// Why a connection to a shard could not be made, in words for the error body and the log.
struct UpstreamConnectError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
