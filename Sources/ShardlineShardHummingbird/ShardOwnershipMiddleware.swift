import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import ShardlineCore
import ShardlineShard

/// A request context that carries the ownership verdict from the middleware to the handlers: the
/// handler of an owned request needs its previous owner (for the read-through), and the handler of
/// a handoff must serve local data only.
public protocol ShardOwnershipRequestContext: RequestContext {
    /// Set by `ShardOwnershipMiddleware`: `.own` or `.handoff` (the others never reach a handler).
    /// Nil for an unchecked path, or when the middleware is not installed.
    var shardVerdict: ShardVerdict? { get set }
}

/// The ready-made context for a shard server that needs nothing else.
public struct ShardRequestContext: ShardOwnershipRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var shardVerdict: ShardVerdict?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.shardVerdict = nil
    }
}

/// The shard's current ownership check, replaced as a whole when the config changes (a reshard
/// rolls out by config swap), read on every request without waiting for a reload.
public final class CurrentShardOwnership: Sendable {
    private let box: NIOLockedValueBox<ShardOwnership>

    public init(_ ownership: ShardOwnership) {
        self.box = NIOLockedValueBox(ownership)
    }

    public var current: ShardOwnership { box.withLockedValue { $0 } }

    public func replace(with ownership: ShardOwnership) {
        box.withLockedValue { $0 = ownership }
    }
}

/// Refuses every request whose key is not this shard's with `421 Misdirected Request`
/// (`x-shardline-owner`, `x-shardline-topology`, a short JSON body) and every unroutable one with
/// its 4xx, before any handler runs (SPEC.md 11.4): a misdirected write is never processed, which
/// is what lets a client retry it.
public struct ShardOwnershipMiddleware<Context: ShardOwnershipRequestContext>: RouterMiddleware {
    let ownership: CurrentShardOwnership
    let uncheckedPaths: Set<String>

    /// - Parameter uncheckedPaths: exact paths that every shard serves for itself (probes,
    ///   metrics): kubelet calls each pod directly, so they must never be refused as another
    ///   shard's keys.
    public init(ownership: CurrentShardOwnership, uncheckedPaths: Set<String> = []) {
        self.ownership = ownership
        self.uncheckedPaths = uncheckedPaths
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if uncheckedPaths.contains(request.uri.path) { return try await next(request, context) }
        let headers = request.headers
        let verdict = ownership.current.check(method: request.method.rawValue, target: request.uri.string) { name in
            HTTPField.Name(name).flatMap { headers[values: $0].first }
        }
        switch verdict {
        case .own, .handoff:
            var context = context
            context.shardVerdict = verdict
            return try await next(request, context)
        case .misdirected(let parts), .rejected(let parts):
            return Response(shardParts: parts)
        }
    }
}

extension Response {
    /// A Hummingbird response from framework-free parts.
    public init(shardParts parts: ShardResponseParts) {
        var fields = HTTPFields()
        for header in parts.headers {
            if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
        }
        self.init(
            status: HTTPResponse.Status(code: parts.status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(string: parts.body))
        )
    }
}
