import AsyncHTTPClient
import NIOCore
import ShardlineCore

/// Asks a key's previous owner for its copy (a handoff GET, SPEC.md 11.6) over AsyncHTTPClient.
struct PreviousOwnerClient: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    let client: HTTPClient
    let timeout: TimeAmount
    let maxValueBytes: Int
    let fingerprint: @Sendable () -> TopologyFingerprint

    /// The value, or nil when the previous owner has none (404). Any other answer is an error: the
    /// value may exist, so answering "not found" would lose it.
    func take(_ path: String, from owner: PreviousOwner) async throws -> ByteBuffer? {
        var request = HTTPClientRequest(url: "http://\(owner.address)\(path)")
        request.method = .GET
        request.headers.add(name: ShardlineHeaders.handoff, value: "1")
        request.headers.add(name: ShardlineHeaders.topology, value: fingerprint().headerValue)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw Failure(message: "previous owner shard \(owner.ordinal) at \(owner.address) did not answer: \(error)")
        }
        switch response.status.code {
        case 200:
            return try await response.body.collect(upTo: maxValueBytes)
        case 404:
            return nil
        default:
            throw Failure(message: "previous owner shard \(owner.ordinal) at \(owner.address) answered \(response.status.code) to the handoff")
        }
    }
}
