import NIOCore
import ShardlineCore

/// The example shard's data: values by request path, in memory, with the read-through of a
/// resharding (SPEC.md 11.6).
///
/// A path is *settled* here once this shard's answer for it is authoritative: it was written,
/// deleted, or fetched from its previous owner. Only an unsettled path with a previous owner is
/// read through, once: concurrent requests for it share one fetch, so none of them sees the gap
/// between the previous owner giving the value up and this shard keeping it.
actor KeyValueStore {
    /// Fetches (and takes over) a path's value from its previous owner; nil when it has none.
    typealias Fetch = @Sendable (_ path: String, _ from: PreviousOwner) async throws -> ByteBuffer?

    private var values: [String: ByteBuffer] = [:]
    private var settled: Set<String> = []
    private var fetches: [String: Task<ByteBuffer?, any Error>] = [:]

    /// How a read-through went, for the response's `x-shardline-read-through` header.
    enum ReadThrough: Sendable, Equatable {
        case notNeeded
        case fetched(from: Int)
    }

    func get(_ path: String, previous: PreviousOwner?, fetch: @escaping Fetch) async throws -> (ByteBuffer?, ReadThrough) {
        let readThrough = try await settle(path, previous: previous, fetch: fetch)
        return (values[path], readThrough)
    }

    func put(_ path: String, _ value: ByteBuffer, previous: PreviousOwner?, fetch: @escaping Fetch) async throws -> ReadThrough {
        // The previous owner must give its copy up even though it is overwritten here, or a
        // reshard back would find that stale copy on it.
        let readThrough = try await settle(path, previous: previous, fetch: fetch)
        values[path] = value
        settled.insert(path)
        return readThrough
    }

    /// True when there was a value to delete.
    func delete(_ path: String, previous: PreviousOwner?, fetch: @escaping Fetch) async throws -> (Bool, ReadThrough) {
        let readThrough = try await settle(path, previous: previous, fetch: fetch)
        settled.insert(path)
        return (values.removeValue(forKey: path) != nil, readThrough)
    }

    /// A handoff: the new owner takes the path over, so this shard forgets it entirely (value
    /// and settled mark); should the key come back in a later resharding, it is read through again.
    func handOver(_ path: String) -> ByteBuffer? {
        settled.remove(path)
        return values.removeValue(forKey: path)
    }

    /// The local value without giving it up (a HEAD handoff).
    func peek(_ path: String) -> ByteBuffer? {
        values[path]
    }

    var count: Int { values.count }

    /// The paths with a local value (for the test endpoints).
    var paths: [String] { Array(values.keys) }

    private func settle(_ path: String, previous: PreviousOwner?, fetch: @escaping Fetch) async throws -> ReadThrough {
        guard let previous, values[path] == nil, !settled.contains(path) else { return .notNeeded }
        let task: Task<ByteBuffer?, any Error>
        if let running = fetches[path] {
            task = running
        } else {
            task = Task { try await fetch(path, previous) }
            fetches[path] = task
        }
        let fetched: ByteBuffer?
        do {
            fetched = try await task.value
        } catch {
            if fetches[path] == task { fetches[path] = nil }
            throw error
        }
        if fetches[path] == task { fetches[path] = nil }
        // Every waiter applies the same result; only the first one after the fetch changes anything,
        // and a write that settled the path meanwhile is never overwritten.
        if values[path] == nil, !settled.contains(path) {
            if let fetched { values[path] = fetched }
            settled.insert(path)
        }
        return .fetched(from: previous.ordinal)
    }
}
