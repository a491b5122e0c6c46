import NIOCore

/// A deadline that moves on every request without scheduling a task every time: it keeps at most
/// one timer, and when that fires early (the deadline moved later) it re-arms for what is left.
/// Setting a later deadline, or clearing it, costs a clock read. Confined to its event loop.
final class LazyDeadline {
    private let eventLoop: any EventLoop
    private let onExpiry: () -> Void
    private var deadline: NIODeadline?
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?

    /// `onExpiry` runs on the event loop when a set deadline passes without being cleared.
    init(eventLoop: any EventLoop, onExpiry: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.onExpiry = onExpiry
    }

    func set(after timeout: TimeAmount) {
        let deadline = eventLoop.now + timeout
        self.deadline = deadline
        if let timer, timer.at <= deadline { return }
        schedule(at: deadline)
    }

    func clear() {
        deadline = nil
    }

    /// Clears the deadline and drops the timer (the connection is gone).
    func cancel() {
        deadline = nil
        timer?.task.cancel()
        timer = nil
    }

    private func schedule(at deadline: NIODeadline) {
        timer?.task.cancel()
        let task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.fired()
        }
        timer = (task, deadline)
    }

    private func fired() {
        timer = nil
        guard let deadline else { return }
        if eventLoop.now >= deadline {
            self.deadline = nil
            onExpiry()
        } else {
            schedule(at: deadline)
        }
    }
}
