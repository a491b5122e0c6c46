import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import ShardlineCore
import ShardlineShard
import ShardlineShardHummingbird

/// The example shard server: a small key-value service (`GET`/`PUT`/`DELETE` any path, typically
/// `/users/<key>/...`) that keeps only its own keys. Requests for other shards' keys get the 421
/// of `ShardOwnershipMiddleware`; on a miss during a resharding it reads through from the key's
/// previous owner and keeps the value (SPEC.md 11.6). It is what the demo and the end-to-end tests
/// run as shard pods, and a model for a real shard server: its only Shardline-specific parts are
/// the middleware and the handoff.
public struct ExampleShardServer: Sendable {
    /// The answering shard's ordinal, on every response (informational; for demos and tests).
    public static let servedByHeader = "x-shardline-served-by"
    /// On a response that needed a read-through: the previous owner's ordinal.
    public static let readThroughHeader = "x-shardline-read-through"
    /// Paths every shard answers itself (kubelet probes each pod directly).
    public static let probePaths: Set<String> = ["/healthz", "/readyz"]

    public let ownership: CurrentShardOwnership
    public var maxValueBytes: Int
    public var handoffTimeout: Duration
    /// The test endpoints (`/debug/...`) and the slow-shard delay; nil (the default) serves none.
    public let testHooks: ShardTestHooks?
    let store = KeyValueStore()

    public init(ownership: ShardOwnership, maxValueBytes: Int = 1 << 20, handoffTimeout: Duration = .seconds(5), testHooks: ShardTestHooks? = nil) {
        self.ownership = CurrentShardOwnership(ownership)
        self.maxValueBytes = maxValueBytes
        self.handoffTimeout = handoffTimeout
        self.testHooks = testHooks
    }

    /// The Hummingbird application; `run()`/`runService()` it, or test it with HummingbirdTesting.
    public func makeApplication(
        listen: HostPort, httpClient: HTTPClient = .shared, services: [any Service] = [],
        logger: Logger = Logger(label: "shardline.shard-server"),
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: ShardRequestContext.self)
        let ownPaths = Self.probePaths.union(testHooks == nil ? [] : ShardTestHooks.paths)
        if let testHooks {
            router.add(middleware: ShardTestHooksMiddleware(hooks: testHooks, exemptPaths: ownPaths))
        }
        router.add(middleware: ShardOwnershipMiddleware(ownership: ownership, uncheckedPaths: ownPaths))
        let ownership = self.ownership
        let handlers = Handlers(
            store: store, ownership: ownership, maxValueBytes: maxValueBytes,
            client: PreviousOwnerClient(
                client: httpClient, timeout: TimeAmount(handoffTimeout),
                maxValueBytes: maxValueBytes, fingerprint: { ownership.current.fingerprint }),
            logger: logger)
        for path in Self.probePaths {
            router.get(RouterPath(path)) { _, _ in handlers.plain(.ok, #"{"status":"ok"}"#) }
        }
        if let testHooks {
            let store = self.store
            router.get(RouterPath(ShardTestHooks.statePath)) { _, _ in
                handlers.plain(.ok, testHooks.stateJSON(ownership: ownership, keyCount: await store.count))
            }
            router.get(RouterPath(ShardTestHooks.keysPath)) { _, _ in
                handlers.plain(.ok, testHooks.keysJSON(ownership: ownership, paths: await store.paths))
            }
            router.put(RouterPath(ShardTestHooks.delayPath)) { request, _ in
                var request = request
                let body = try await request.collectBody(upTo: 64)
                guard let delay = ShardTestHooks.parseDelay(String(buffer: body)) else {
                    return handlers.error(.badRequest, "invalid_delay", "the body must be whole milliseconds in 0...\(ShardTestHooks.maximumDelayMilliseconds)")
                }
                testHooks.delay = delay
                return handlers.plain(.noContent, nil)
            }
        }
        router.get("**") { request, context in try await handlers.get(request, context) }
        router.head("**") { request, context in try await handlers.get(request, context) }
        router.put("**") { request, context in try await handlers.put(request, context) }
        router.delete("**") { request, context in try await handlers.delete(request, context) }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "shardline-shard"),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}

/// The request handlers, after the middleware has decided the request is this shard's (or a
/// handoff).
struct Handlers: Sendable {
    let store: KeyValueStore
    let ownership: CurrentShardOwnership
    let maxValueBytes: Int
    let client: PreviousOwnerClient
    let logger: Logger

    func get(_ request: Request, _ context: ShardRequestContext) async throws -> Response {
        let path = request.uri.path
        switch context.shardVerdict {
        case .handoff:
            // A HEAD carries no value, so it only asks; the key is given up only with a GET.
            let handedOver = request.method == .head ? await store.peek(path) : await store.handOver(path)
            guard let value = handedOver else { return error(.notFound, "not_found", "no value at \(path)") }
            logger.info("handed over", metadata: ["path": "\(path)"])
            return self.value(value, readThrough: .notNeeded)
        case .own(let owned):
            do {
                let (value, readThrough) = try await store.get(path, previous: owned.previous, fetch: client.take)
                guard let value else { return error(.notFound, "not_found", "no value at \(path)", readThrough: readThrough) }
                return self.value(value, readThrough: readThrough)
            } catch {
                return previousOwnerFailed(error, path: path)
            }
        default:
            return missingMiddleware()
        }
    }

    func put(_ request: Request, _ context: ShardRequestContext) async throws -> Response {
        guard case .own(let owned) = context.shardVerdict else { return missingMiddleware() }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxValueBytes)
        } catch {
            return self.error(.contentTooLarge, "value_too_large", "a value is at most \(maxValueBytes) bytes")
        }
        do {
            let readThrough = try await store.put(request.uri.path, body, previous: owned.previous, fetch: client.take)
            return plain(.noContent, nil, readThrough: readThrough)
        } catch {
            return previousOwnerFailed(error, path: request.uri.path)
        }
    }

    func delete(_ request: Request, _ context: ShardRequestContext) async throws -> Response {
        guard case .own(let owned) = context.shardVerdict else { return missingMiddleware() }
        do {
            let (deleted, readThrough) = try await store.delete(request.uri.path, previous: owned.previous, fetch: client.take)
            return deleted ? plain(.noContent, nil, readThrough: readThrough) : error(.notFound, "not_found", "no value at \(request.uri.path)", readThrough: readThrough)
        } catch {
            return previousOwnerFailed(error, path: request.uri.path)
        }
    }

    func value(_ value: ByteBuffer, readThrough: KeyValueStore.ReadThrough) -> Response {
        var headers = baseHeaders(readThrough)
        headers[.contentType] = "application/octet-stream"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: value))
    }

    func plain(_ status: HTTPResponse.Status, _ json: String?, readThrough: KeyValueStore.ReadThrough = .notNeeded) -> Response {
        var headers = baseHeaders(readThrough)
        guard let json else { return Response(status: status, headers: headers) }
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }

    func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, readThrough: KeyValueStore.ReadThrough = .notNeeded) -> Response {
        plain(status, JSONValue.object([("error", .string(code)), ("message", .string(message))]).serialized(), readThrough: readThrough)
    }

    /// 502: the value may exist on the previous owner, so "not found" would be a silent loss.
    func previousOwnerFailed(_ failure: any Error, path: String) -> Response {
        logger.warning("read-through failed", metadata: ["path": "\(path)", "error": "\(failure)"])
        return error(.badGateway, "previous_owner_unavailable", "\(failure)")
    }

    func missingMiddleware() -> Response {
        error(.internalServerError, "ownership_unchecked", "the ownership middleware did not run for this request")
    }

    func baseHeaders(_ readThrough: KeyValueStore.ReadThrough) -> HTTPFields {
        var headers = HTTPFields()
        if let name = HTTPField.Name(ExampleShardServer.servedByHeader) { headers[name] = String(ownership.current.ordinal) }
        if case .fetched(let from) = readThrough, let name = HTTPField.Name(ExampleShardServer.readThroughHeader) {
            headers[name] = String(from)
        }
        return headers
    }
}
