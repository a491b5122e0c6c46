import Synchronization

/// A value that is set once, later, and awaited by anyone who needs it before then: the address
/// a listener bound to (port 0 picks one), which tests and logs need after `run()` has started.
final class Eventual<Value: Sendable>: Sendable {
    private enum State {
        case pending([CheckedContinuation<Value?, Never>])
        /// nil when it will never be set (the bind failed, the service stopped).
        case settled(Value?)
    }

    private let state = Mutex(State.pending([]))

    func set(_ value: Value?) {
        let waiters: [CheckedContinuation<Value?, Never>] = state.withLock { state in
            guard case .pending(let waiters) = state else { return [] }
            state = .settled(value)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    var current: Value? {
        state.withLock { state in
            if case .settled(let value) = state { return value }
            return nil
        }
    }

    func get() async -> Value? {
        await withCheckedContinuation { continuation in
            let settled: Value?? = state.withLock { state in
                switch state {
                case .pending(var waiters):
                    waiters.append(continuation)
                    state = .pending(waiters)
                    return .none
                case .settled(let value):
                    return .some(value)
                }
            }
            if case .some(let value) = settled { continuation.resume(returning: value) }
        }
    }
}
