import NIOCore
import Synchronization

/// The connections a listener has accepted and not yet closed: the one tracker both listeners
/// drain with. The proxy asks each to finish (`ChannelShouldQuiesceEvent`: idle ones close at
/// once, busy ones after their current response, which goes out with `Connection: close`), waits
/// for them, and closes the rest when the drain time is up; the admin listener, stopping last,
/// closes the idle keep-alive connections of Prometheus and probes instead of leaving them to the
/// process exit. (NIO's `ServerQuiescingHelper` does the quiescing part, but neither counts the
/// open connections nor lets a caller wait for none to be left.)
final class OpenConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var quiescing = false
        /// Set by `closeAll`: a connection accepted after it is closed at once, so a wait for
        /// none to be left cannot be held up by one that raced the listener's close.
        var closing = false
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.channels.count } }

    func add(_ channel: any Channel) {
        let (quiesceNow, closeNow) = state.withLock { state in
            state.channels[ObjectIdentifier(channel)] = channel
            return (state.quiescing, state.closing)
        }
        channel.closeFuture.whenComplete { _ in self.remove(channel) }
        if closeNow {
            channel.close(promise: nil)
        } else if quiesceNow {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    private func remove(_ channel: any Channel) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.channels[ObjectIdentifier(channel)] = nil
            guard state.channels.isEmpty else { return [] }
            defer { state.emptyWaiters.removeAll() }
            return state.emptyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func quiesceAll() {
        let channels = state.withLock { state in
            state.quiescing = true
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeAll() {
        let channels = state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Returns once no connection is open (at once if none is).
    func waitUntilEmpty() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.channels.isEmpty { return true }
                state.emptyWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
