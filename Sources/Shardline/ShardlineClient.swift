import AsyncHTTPClient
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import ShardlineConfigFile
import ShardlineCore
import Synchronization

/// Routes requests from inside a Swift process exactly as the sidecar does, without the extra
/// container or the loopback hop: the same `ShardRouter` picks the shard, the same `RetryPolicy`
/// and `OutlierDetector` (through `ShardHealth`) decide what happens when it fails, and the
/// request goes straight to the shard pod through AsyncHTTPClient.
///
/// Thread-safe and meant to be shared: one per process, like the `HTTPClient` under it.
public final class ShardlineClient: Sendable {
    public struct Options: Sendable {
        /// Send a request whose URL host is no configured service unchanged, instead of throwing
        /// `unknownService`. Off by default: a typo in a host must not silently skip sharding.
        public var passThroughUnknownHosts = false
        /// How often `run()` checks the config file for a new version (with `configPath`).
        public var configPollInterval: Duration = .seconds(1)
        /// How long a shutdown waits for requests in flight; nil: the config's `sidecar.drainTimeout`.
        public var drainTimeout: Duration?
        /// Where the metrics go; nil: the process's swift-metrics backend (`MetricsSystem.bootstrap`).
        public var metricsFactory: (any MetricsFactory)?

        public init(
            passThroughUnknownHosts: Bool = false, configPollInterval: Duration = .seconds(1), drainTimeout: Duration? = nil,
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.passThroughUnknownHosts = passThroughUnknownHosts
            self.configPollInterval = configPollInterval
            self.drainTimeout = drainTimeout
            self.metricsFactory = metricsFactory
        }
    }

    /// The router serving now, the ownership tables of the same config and its generation (1 at
    /// start, +1 per accepted reload). Immutable and swapped whole by a reload, so a request reads
    /// one consistent snapshot under one lock (a decision is never paired with another config's
    /// ownership tables), and the read costs one retain rather than a copy of the router's tables.
    final class Serving: Sendable {
        let router: ShardRouter
        let generation: Int
        /// Fingerprints and previous owners for `router`'s config (SPEC.md 11.3).
        let ownership: OwnershipResolver

        init(config: ShardlineConfig, generation: Int) {
            self.router = ShardRouter(config: config)
            self.generation = generation
            self.ownership = OwnershipResolver(config: config)
        }
    }

    /// How much of a 421's body is read (and dropped) before the request goes again.
    static let misdirectedBodyBytes = 64 * 1024

    let httpClient: HTTPClient
    let options: Options
    let logger: Logger
    let configPath: String?
    let serving: Mutex<Serving>
    /// The config file being followed; nil for a client built from a config value.
    let watch: Mutex<ConfigFileWatch?>
    let health: ShardHealth
    /// When an ejected shard's name is looked up again (the sidecar's rule, from the core).
    let recheck: Mutex<EjectionRecheck>
    /// What a shard name resolves to now; `getaddrinfo` except in tests that move a name.
    let nameLookup: @Sendable (PodAddress) async throws -> [String]
    let retryPolicy: RetryPolicy
    let metrics: ClientMetrics
    let inFlight = InFlightRequests()
    let misdirectedPolicy = MisdirectedPolicy()

    /// A client serving `config` (e.g. from `ShardlineConfig.service(...)`). It never reloads.
    public convenience init(
        config: ShardlineConfig, httpClient: HTTPClient = .shared, options: Options = Options(),
        logger: Logger = Logger(label: "shardline.sdk")
    ) {
        self.init(config: config, httpClient: httpClient, options: options, logger: logger, nameLookup: Self.lookUp)
    }

    init(
        config: ShardlineConfig, httpClient: HTTPClient, options: Options, logger: Logger,
        nameLookup: @escaping @Sendable (PodAddress) async throws -> [String]
    ) {
        self.nameLookup = nameLookup
        self.httpClient = httpClient
        self.options = options
        self.logger = logger
        self.metrics = ClientMetrics(factory: options.metricsFactory)
        self.configPath = nil
        self.serving = Mutex(Serving(config: config, generation: 1))
        self.watch = Mutex(nil)
        self.health = ShardHealth(settings: config.sidecar.outlier)
        self.recheck = Mutex(EjectionRecheck(interval: config.sidecar.dnsRefreshInterval))
        self.retryPolicy = RetryPolicy(maxRetries: config.sidecar.retries)
    }

    /// A client serving the config file at `configPath` (the sidecar's file: one ConfigMap serves
    /// both). `run()` then follows the file, as the sidecar does.
    /// - Throws: `ShardlineError` `invalidConfig` with the loader's message, or why the file
    ///   could not be read.
    public init(
        configPath: String, httpClient: HTTPClient = .shared, options: Options = Options(),
        logger: Logger = Logger(label: "shardline.sdk")
    ) throws(ShardlineError) {
        let snapshot: ConfigFileSnapshot
        do throws(ConfigFileError) {
            snapshot = try ConfigFile.read(path: configPath)
        } catch {
            throw ShardlineError(code: .invalidConfig, message: error.description)
        }
        let config: ShardlineConfig
        do throws(ConfigError) {
            config = try ConfigLoader.load(yaml: snapshot.text, source: snapshot.path)
        } catch {
            throw .invalidConfig(error)
        }
        self.nameLookup = Self.lookUp
        self.httpClient = httpClient
        self.options = options
        self.logger = logger
        self.metrics = ClientMetrics(factory: options.metricsFactory)
        self.configPath = configPath
        self.serving = Mutex(Serving(config: config, generation: 1))
        self.watch = Mutex(ConfigFileWatch(path: configPath, version: snapshot.version))
        // Transport settings are read once, as the sidecar reads them at start; a reload changes routing.
        self.health = ShardHealth(settings: config.sidecar.outlier)
        self.recheck = Mutex(EjectionRecheck(interval: config.sidecar.dnsRefreshInterval))
        self.retryPolicy = RetryPolicy(maxRetries: config.sidecar.retries)
    }

    /// The config serving now.
    public var config: ShardlineConfig { serving.withLock { $0.router.config } }

    /// The serving config's generation: 1 at start, +1 per accepted reload.
    public var generation: Int { serving.withLock { $0.generation } }

    // MARK: Routing

    /// Where `request` would go, without sending it: the core's decision (service, key, shard,
    /// pod address). The URL's host selects the service, as the Host header does for the sidecar.
    public func route(_ request: HTTPClientRequest) throws(ShardlineError) -> RouteDecision {
        guard let url = RequestURL(request.url) else { throw Self.invalidURL(request.url) }
        return try Self.route(url, headers: request.headers, router: serving.withLock { $0 }.router)
    }

    static func route(_ url: RequestURL, headers: HTTPHeaders, router: ShardRouter) throws(ShardlineError) -> RouteDecision {
        // Absolute-form, as an `http_proxy` client sends it to the sidecar: the URL's host selects the service.
        let result = router.route(host: nil, target: url.url) { name in headers.first(name: name) }
        switch result {
        case .success(let decision):
            return decision
        case .failure(let error):
            throw ShardlineError(error, url: url, config: router.config)
        }
    }

    static func invalidURL(_ url: String) -> ShardlineError {
        ShardlineError(code: .invalidRequest, message: "'\(url)' is not an http:// or https:// URL with a host; the host names the sharded service, e.g. http://users/users/alice/profile")
    }

    // MARK: Sending

    /// Sends `request` to the shard pod that owns it: the URL's host and port become the pod's
    /// address; the path, query, headers and body are kept; `Host` stays the service's host (as
    /// the sidecar forwards it) and `x-shardline-shard` names the shard. The response is
    /// AsyncHTTPClient's, untouched, its body streamed as AsyncHTTPClient streams it.
    ///
    /// A failed attempt is retried only when `RetryPolicy` allows it (a connect failure, or an
    /// idempotent request without a body whose connection broke before the answer); a shard that
    /// `OutlierDetector` ejected fails at once with `shardUnavailable` until a probe brings it back.
    ///
    /// Every request carries `x-shardline-topology` and, during a resharding, a moved key's
    /// `x-shardline-previous-shard` / `x-shardline-previous-address` (SPEC.md 11.5; any the caller
    /// set are replaced). A shard's `421 Misdirected Request` goes through the core's
    /// `MisdirectedPolicy`: with another fingerprint than this client's, the config file is re-read
    /// (a client built from a config value has nothing to re-read) and, if the request now belongs
    /// to another shard, it is sent there once, body included when the body is bytes in memory (a
    /// 421 guarantees nothing was processed, so a POST may go again; a streamed body cannot). Any
    /// other 421, and a second one, throws `misdirected` with the reason, the owner the shard named
    /// and both fingerprints.
    /// - Parameter timeout: for the whole exchange up to the response head, retries included:
    ///   AsyncHTTPClient's own deadline, which also covers the wait for a pooled connection, so
    ///   the SDK adds no timer or task of its own to a request.
    public func execute(_ request: HTTPClientRequest, timeout: TimeAmount, logger: Logger? = nil) async throws -> HTTPClientResponse {
        try await execute(request, deadline: .now() + timeout, logger: logger)
    }

    /// `execute(_:timeout:logger:)` with a point in time instead of a duration.
    /// - Parameters:
    ///   - deadline: for the whole exchange up to the response head, retries included.
    ///   - logger: for this request: the SDK's own messages and AsyncHTTPClient's. Without one,
    ///     the SDK logs to the client's logger and AsyncHTTPClient logs nothing, as it does when
    ///     called directly without a logger (its per-request trace metadata is a measurable part
    ///     of a request's cost with a logging backend installed).
    public func execute(_ request: HTTPClientRequest, deadline: NIODeadline, logger requestLogger: Logger? = nil) async throws -> HTTPClientResponse {
        let logger = requestLogger ?? self.logger
        let start = ContinuousClock.now
        guard let url = RequestURL(request.url) else { throw Self.invalidURL(request.url) }
        let snapshot = serving.withLock { $0 }
        let decision: RouteDecision
        do throws(ShardlineError) {
            decision = try Self.route(url, headers: request.headers, router: snapshot.router)
        } catch where error.code == .unknownService && options.passThroughUnknownHosts {
            return try await httpClient.execute(request, deadline: deadline, logger: requestLogger)
        } catch {
            metrics.requestCompleted(service: error.service, shard: nil, status: error.sidecarStatus, duration: ContinuousClock.now - start)
            throw error
        }

        inFlight.enter()
        defer { inFlight.leave() }

        var owned = snapshot.ownership.decide(decision)
        var misdirected = misdirectedPolicy.start(
            fingerprint: owned.fingerprint, shard: decision.shard, bodyReplayable: ReplayableBody.canReplay(request.body)
        )
        while true {
            let response: HTTPClientResponse
            do {
                response = try await exchange(
                    Self.shardRequest(request, url: url, owned: owned), decision: owned.route,
                    deadline: deadline, logger: logger, transportLogger: requestLogger
                )
            } catch let error as ShardlineError {
                metrics.requestCompleted(service: error.service, shard: error.shard, status: error.sidecarStatus, duration: ContinuousClock.now - start)
                throw error
            }
            guard response.status == .misdirectedRequest else {
                metrics.requestCompleted(service: owned.route.service, shard: owned.shard, status: Int(response.status.code), duration: ContinuousClock.now - start)
                return response
            }
            // A shard's 421 (SPEC.md 11.5): the core's policy decides; at most one retry.
            let refused = MisdirectedResponse(
                ownerHeader: response.headers.first(name: ShardlineHeaders.owner),
                topologyHeader: response.headers.first(name: ShardlineHeaders.topology)
            )
            var decisionAfter = misdirected.received(refused)
            var next: OwnershipDecision?
            if case .rereadConfig = decisionAfter {
                if configPath != nil { reload(force: false) }
                let serving = serving.withLock { $0 }
                if let route = try? Self.route(url, headers: request.headers, router: serving.router) {
                    let candidate = serving.ownership.decide(route)
                    next = candidate
                    decisionAfter = misdirected.configReread(fingerprint: candidate.fingerprint, shard: candidate.shard)
                } else {
                    // The re-read config refuses the request; the 421 is the better answer.
                    decisionAfter = misdirected.configReread(fingerprint: owned.fingerprint, shard: owned.shard)
                }
            }
            _ = try? await response.body.collect(upTo: Self.misdirectedBodyBytes)
            if case .retry = decisionAfter, let next {
                metrics.misdirected(service: owned.route.service, outcome: MetricNames.misdirectedRetried)
                logger.debug("following a 421 to the re-read config's owner", metadata: owned.route.logMetadata.merging([
                    "newShard": .stringConvertible(next.shard),
                ]) { $1 })
                owned = next
                continue
            }
            var reason = MisdirectedState.SurfaceReason.unexpectedCall
            if case .surface(let why) = decisionAfter { reason = why }
            metrics.misdirected(service: owned.route.service, outcome: MetricNames.misdirectedSurfaced)
            metrics.requestCompleted(service: owned.route.service, shard: owned.shard, status: 421, duration: ContinuousClock.now - start)
            throw ShardlineError(misdirected: reason, refused: refused, owned: owned)
        }
    }

    /// The protocol headers a caller's request must not carry to the shard: the SDK sets the
    /// first three itself; the last two belong to shards (a read-through, a 421).
    static let replacedHeaders = [
        ShardlineHeaders.shard, ShardlineHeaders.topology, ShardlineHeaders.previousShard, ShardlineHeaders.previousAddress,
        ShardlineHeaders.handoff, ShardlineHeaders.owner,
    ]

    /// The request as it goes to the shard pod: its address in the URL, the service's `Host`, the
    /// decided shard and the resharding headers (SPEC.md 11.5), any the caller set replaced.
    static func shardRequest(_ request: HTTPClientRequest, url: RequestURL, owned: OwnershipDecision) -> HTTPClientRequest {
        var shardRequest = request
        shardRequest.url = url.url(at: owned.route.address)
        // Room for the headers added below, so the copy of the caller's headers is the only one.
        shardRequest.headers.reserveCapacity(request.headers.count + 5)
        if !shardRequest.headers.contains(name: "host") {
            shardRequest.headers.add(name: "host", value: url.authority)
        }
        // Callers rarely set a protocol header themselves: one scan finds out, and only then are
        // the names removed one by one (each removal is a scan of its own).
        if shardRequest.headers.contains(where: { ShardlineHeaders.isProtocolHeader($0.name) }) {
            for name in Self.replacedHeaders { shardRequest.headers.remove(name: name) }
        }
        shardRequest.headers.add(name: ShardlineHeaders.shard, value: String(owned.shard))
        for header in owned.requestHeaders { shardRequest.headers.add(name: header.name, value: header.value) }
        return shardRequest
    }

    /// One exchange with one shard, with the transport retries `RetryPolicy` allows (a connect
    /// failure, or an idempotent request without a body whose connection broke before the
    /// answer); a shard that `OutlierDetector` ejected fails at once. Throws `ShardlineError`
    /// for a transport failure, the caller's cancellation or deadline as they come.
    private func exchange(
        _ shardRequest: HTTPClientRequest, decision: RouteDecision, deadline: NIODeadline, logger: Logger, transportLogger: Logger?
    ) async throws -> HTTPClientResponse {
        var retry = retryPolicy.start(method: shardRequest.method.rawValue)
        // AsyncHTTPClient does not say how much of a body has left, so a request with a body is
        // treated as sent once a connection took it: only a connect failure (nothing left) retries it.
        if shardRequest.body != nil { retry.requestBodyWasSent() }

        while true {
            let admission = health.admit(decision.address)
            if case .reject(let until) = admission {
                recheckEjected(decision, logger: logger)
                throw ShardlineError(
                    code: .shardUnavailable,
                    message: "shard \(decision.shard) (\(decision.address)) of '\(decision.service)' is ejected after repeated transport failures; failing fast for another \(ConfigDuration.format(until - ContinuousClock.now)) until a probe request succeeds",
                    service: decision.service, shard: decision.shard, address: decision.address
                )
            }
            let probe = admission == .probe
            do {
                let response = try await httpClient.execute(shardRequest, deadline: deadline, logger: transportLogger)
                if health.recordSuccess(decision.address, probe: probe) == .restored {
                    recheck.withLock { $0.recovered(decision.address) }
                    logger.info("shard restored: the probe request got an answer", metadata: decision.logMetadata)
                }
                return response
            } catch {
                guard let failure = TransportFailure.kind(of: error) else {
                    health.recordAbandoned(decision.address, probe: probe)
                    throw error
                }
                if failure == .connectFailed {
                    metrics.connectFailed(service: decision.service, shard: decision.shard)
                }
                if failure != .responseTimeout {
                    recordTransportFailure(decision)
                }
                if case .ejected(let duration) = health.recordFailure(decision.address, probe: probe) {
                    metrics.shardEjected(service: decision.service, shard: decision.shard)
                    logger.warning("shard ejected: failing fast, then probing", metadata: decision.logMetadata.merging([
                        "ejection": .string(ConfigDuration.format(duration)), "error": .string(String(describing: error)),
                    ]) { $1 })
                }
                switch retry.attemptFailed(failure) {
                case .retry:
                    logger.debug("retrying", metadata: decision.logMetadata.merging(["error": .string(String(describing: error))]) { $1 })
                    continue
                case .giveUp(let reason):
                    var failed = ShardlineError(failure, cause: error, giveUp: reason, attempts: retry.failedAttempts, decision: decision)
                    failed.failureStatus = failed.sidecarStatus(for: failure)
                    throw failed
                }
            }
        }
    }
}

extension ShardlineClient {
    /// A connect failed or a connection was lost (as the sidecar, a slow answer is not counted:
    /// the pod is there). AsyncHTTPClient does not say which address it was; what the name
    /// resolves to now is what it just used (it looks the name up for every new connection, so
    /// there is no cached answer to drop). Looked up off the request's path.
    func recordTransportFailure(_ decision: RouteDecision) {
        let pod = decision.address
        Task {
            guard let answer = try? await nameLookup(pod) else { return }
            recheck.withLock { $0.connectFailed(pod, at: answer, now: .now) }
        }
    }

    /// A request was failed fast for `decision`'s shard: at most once per `dnsRefreshInterval`,
    /// look its name up again, and end the ejection if it now names a pod that did not fail (a
    /// restarted StatefulSet pod back on a new IP), instead of failing it fast for the window the
    /// old pod earned. The request that triggered it still fails fast; the next ones go through.
    func recheckEjected(_ decision: RouteDecision, logger: Logger) {
        let pod = decision.address
        guard recheck.withLock({ $0.lookUpDue(pod, now: .now) }) else { return }
        Task {
            guard let answer = try? await nameLookup(pod) else { return }
            guard recheck.withLock({ $0.answered(pod, addresses: answer) }) else { return }
            health.reset(pod)
            logger.info("shard resolves to a new address; failing fast ends", metadata: decision.logMetadata)
        }
    }

    /// The name's numeric addresses, from `getaddrinfo` on NIO's blocking-I/O threads.
    @Sendable static func lookUp(_ pod: PodAddress) async throws -> [String] {
        return try await NIOThreadPool.singleton.runIfActive {
            try ShardNameLookup.addresses(of: pod.host, port: pod.port).map(\.ip)
        }
    }
}

extension RouteDecision {
    var logMetadata: Logger.Metadata {
        ["service": .string(service), "shard": .stringConvertible(shard), "address": .string(address.description)]
    }
}

extension ShardlineError {
    /// The router's refusal, in words that name what to change.
    init(_ error: RouteError, url: RequestURL, config: ShardlineConfig) {
        switch error.code {
        case .unknownService:
            let configured = config.services.map { service in
                "\(service.name) (\(service.hosts.isEmpty ? "no hosts" : service.hosts.joined(separator: ", ")))"
            }
            self.init(code: .unknownService, message: "no sharded service is configured for host '\(url.authority)'; the configured services and their hosts: \(configured.joined(separator: "; "))")
        case .noShardKey:
            self.init(code: .noShardKey, message: "\(error.message); path '\(url.pathAndQuery)'", service: error.service)
        case .invalidTarget, .pathTooLong, .invalidKeyEncoding:
            self.init(code: .invalidRequest, message: "\(error.message); URL path '\(url.pathAndQuery)'", service: error.service)
        }
    }

    init(_ failure: RetryState.Failure, cause: any Error, giveUp: RetryState.GiveUpReason, attempts: Int, decision: RouteDecision) {
        let why: String
        switch failure {
        case .connectFailed: why = "could not connect (\(cause))"
        case .closedBeforeWrite: why = "the shard closed the kept-alive connection before the request was written (\(cause))"
        case .connectionLost: why = "the connection broke before the response (\(cause))"
        case .responseTimeout: why = "no response before the deadline (\(cause))"
        }
        let after = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
        let retried: String
        switch giveUp {
        case .retriesExhausted: retried = "retries exhausted"
        case .notIdempotent: retried = "not retried: the method is not idempotent"
        case .requestBodySent: retried = "not retried: the request body may have been sent"
        case .responseStarted: retried = "not retried: the response had started"
        case .responseTimeout: retried = "not retried: a slow shard is not asked twice"
        }
        self.init(
            code: .shardUnavailable,
            message: "shard \(decision.shard) (\(decision.address)) of '\(decision.service)' \(why); \(retried) after \(after)",
            service: decision.service, shard: decision.shard, address: decision.address
        )
    }

    /// A 421 the policy did not follow, in words that say what to do.
    init(misdirected reason: MisdirectedState.SurfaceReason, refused: MisdirectedResponse, owned: OwnershipDecision) {
        let owner = refused.owner.map { "shard \($0)" } ?? "no owner named"
        let theirs = refused.fingerprint?.headerValue ?? "none"
        self.init(
            code: .misdirected,
            message: "shard \(owned.shard) (\(owned.route.address)) of '\(owned.route.service)' answered 421 Misdirected Request (owner: \(owner); its topology \(theirs), this client's \(owned.fingerprint.headerValue)): \(reason.message)",
            service: owned.route.service, shard: owned.shard, address: owned.route.address
        )
        self.misdirectedReason = reason
        self.owner = refused.owner
        self.shardTopology = refused.fingerprint
        self.topology = owned.fingerprint
    }

    /// The status the sidecar answers the same refusal with, so metrics read alike.
    var sidecarStatus: Int {
        if let failureStatus { return failureStatus }
        switch code {
        case .unknownService: return 404
        case .noShardKey, .invalidRequest: return 400
        case .shardUnavailable: return 503
        case .invalidConfig: return 500
        case .misdirected: return 421
        }
    }

    func sidecarStatus(for failure: RetryState.Failure) -> Int {
        switch failure {
        case .connectFailed: return 503
        case .closedBeforeWrite, .connectionLost: return 502
        case .responseTimeout: return 504
        }
    }
}
