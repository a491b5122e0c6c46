import Foundation

/// Work that blocks its thread (a child process waited for, a blocking socket, a polling loop)
/// runs on a thread of its own. Swift concurrency shares a few threads (one per core) among every
/// test running at once; a test that blocks one of them for seconds starves the others, and on a
/// 2-core machine two such tests stop every async test (its timers and polls do not run).
public enum BlockingWork {
    /// Runs `body` on a new thread and returns what it returns, or throws what it throws. Record
    /// expectations after it returns: an issue recorded on that thread belongs to no test.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "blocking test work"
            thread.start()
        }
    }
}
