import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import ShardlineCore
import ShardlineShardHummingbird

/// What the end-to-end tests and demos need to see inside a shard and nothing a real shard server
/// should offer: the paths it holds *locally* (a normal GET would read a missing key through from
/// its previous owner, so it cannot tell "here" from "fetched now"), counters of what it refused
/// and accepted, and an artificial delay that makes it a slow shard. Off unless the server is
/// started with `--test-endpoints`, because it lists every key and lets any caller slow the shard.
///
/// Endpoints (exact paths, never ownership-checked, never delayed):
/// - `GET /debug/state`: `{"shard", "topology", "keys": <count>, "configReloads", "delayMs",
///   "counters": {...}}`.
/// - `GET /debug/keys`: `{"shard", "topology", "paths": [...]}`, the paths with a local value.
/// - `PUT /debug/delay` with a body of whole milliseconds (0...60000): every later key request
///   (ownership-checked or handoff) waits that long before it is answered; 0 turns it off.
public final class ShardTestHooks: Sendable {
    public static let statePath = "/debug/state"
    public static let keysPath = "/debug/keys"
    public static let delayPath = "/debug/delay"
    public static let paths: Set<String> = [statePath, keysPath, delayPath]
    public static let maximumDelayMilliseconds = 60_000

    /// Counts of answers by kind since the server started.
    public struct Counters: Sendable, Equatable {
        /// 421s: requests refused as another shard's (never processed).
        public var misdirected = 0
        /// PUTs that stored a value (2xx).
        public var writesAccepted = 0
        /// DELETEs that were processed (2xx or 404).
        public var deletesProcessed = 0
        /// GETs and HEADs of this shard's own keys answered 200 or 404.
        public var readsAnswered = 0
        /// Handoff GETs answered with a value (this shard gave a key up to its new owner).
        public var handedOver = 0
        /// Own-key requests that read the value through from the previous owner.
        public var readThroughs = 0
        /// Answers with any other status (400, 502 ...).
        public var otherErrors = 0
    }

    private let state = NIOLockedValueBox((counters: Counters(), delay: Duration.zero, configReloads: 0))

    public init() {}

    public var counters: Counters { state.withLockedValue { $0.counters } }

    public var delay: Duration {
        get { state.withLockedValue { $0.delay } }
        set { state.withLockedValue { $0.delay = newValue } }
    }

    /// A new config was applied (the watcher's reload): tests wait for this count to grow, since a
    /// config change such as removing `previous` leaves the fingerprint as it was.
    func configApplied() {
        state.withLockedValue { $0.configReloads += 1 }
    }

    /// Counts one key request's answer.
    func record(method: HTTPRequest.Method, handoff: Bool, response: Response) {
        let status = response.status.code
        let readThrough = HTTPField.Name(ExampleShardServer.readThroughHeader).map { response.headers[$0] != nil } ?? false
        state.withLockedValue { state in
            if readThrough { state.counters.readThroughs += 1 }
            switch (status, method) {
            case (421, _): state.counters.misdirected += 1
            case (200, .get) where handoff: state.counters.handedOver += 1
            case (404, _) where handoff: break
            case (200..<300, .put): state.counters.writesAccepted += 1
            case (200..<300, .delete), (404, .delete): state.counters.deletesProcessed += 1
            case (200, .get), (200, .head), (404, .get), (404, .head): state.counters.readsAnswered += 1
            default: state.counters.otherErrors += 1
            }
        }
    }

    func stateJSON(ownership: CurrentShardOwnership, keyCount: Int) -> String {
        let (counters, delay, reloads) = state.withLockedValue { ($0.counters, $0.delay, $0.configReloads) }
        let current = ownership.current
        let fields: [(String, JSONValue)] = [
            ("misdirected", .int(counters.misdirected)), ("writesAccepted", .int(counters.writesAccepted)),
            ("deletesProcessed", .int(counters.deletesProcessed)), ("readsAnswered", .int(counters.readsAnswered)),
            ("handedOver", .int(counters.handedOver)), ("readThroughs", .int(counters.readThroughs)),
            ("otherErrors", .int(counters.otherErrors)),
        ]
        return JSONValue.object([
            ("shard", .int(current.ordinal)), ("topology", .string(current.fingerprint.headerValue)),
            ("keys", .int(keyCount)), ("configReloads", .int(reloads)), ("delayMs", .int(Int(delay.components.seconds) * 1000 + Int(delay.components.attoseconds / 1_000_000_000_000_000))),
            ("counters", .object(fields)),
        ]).serialized()
    }

    func keysJSON(ownership: CurrentShardOwnership, paths: [String]) -> String {
        let current = ownership.current
        return JSONValue.object([
            ("shard", .int(current.ordinal)), ("topology", .string(current.fingerprint.headerValue)),
            ("paths", .array(paths.sorted().map { .string($0) })),
        ]).serialized()
    }

    /// Parses a delay body: whole milliseconds in 0...60000, or nil.
    static func parseDelay(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.allSatisfy(\.isASCII), let milliseconds = Int(trimmed),
              (0...maximumDelayMilliseconds).contains(milliseconds)
        else { return nil }
        return .milliseconds(milliseconds)
    }
}

/// Runs before the ownership middleware, so it sees every key request's final answer (421s
/// included) and can delay them all; the test endpoints and the probes pass untouched.
struct ShardTestHooksMiddleware<Context: ShardOwnershipRequestContext>: RouterMiddleware {
    let hooks: ShardTestHooks
    let exemptPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if exemptPaths.contains(request.uri.path) { return try await next(request, context) }
        let delay = hooks.delay
        if delay > .zero { try await Task.sleep(for: delay) }
        let handoff = HTTPField.Name(ShardlineHeaders.handoff).map { request.headers[$0] != nil } ?? false
        let response = try await next(request, context)
        hooks.record(method: request.method, handoff: handoff, response: response)
        return response
    }
}
