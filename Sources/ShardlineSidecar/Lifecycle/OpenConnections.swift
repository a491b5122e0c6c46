import NIOCore
import Synchronization

/// The client connections a `ProxyServer` has open, so a graceful shutdown can ask each to
/// finish (`ChannelShouldQuiesceEvent`: idle ones close at once, busy ones after their current
/// response, which goes out with `Connection: close`), wait for them, and close the rest when
/// the drain time is up.
final class DownstreamConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var quiescing = false
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.channels.count } }

    func add(_ channel: any Channel) {
        let quiesceNow = state.withLock { state in
            state.channels[ObjectIdentifier(channel)] = channel
            return state.quiescing
        }
        channel.closeFuture.whenComplete { _ in self.remove(channel) }
        if quiesceNow { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
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
        let channels = state.withLock { Array($0.channels.values) }
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
