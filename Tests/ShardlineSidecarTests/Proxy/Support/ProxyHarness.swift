import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShardlineCore
import Synchronization
import Testing
@testable import ShardlineSidecar

/// A `ProxyServer` running in this process on an ephemeral port, inside a `ServiceGroup` (no
/// signals), with the config the test gives it.
final class ProxyHarness: Sendable {
    let proxy: ProxyServer
    let config: ShardlineConfig
    let router: ShardRouter
    let routerStore: RouterStore
    /// Listener ports in `listeners` order; the first is the main listener.
    let ports: [Int]
    private let serviceGroup: ServiceGroup
    private let task: Task<Void, any Error>

    var port: Int { ports[0] }

    static let quietLogger = Logger(label: "proxy-under-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// - Parameters:
    ///   - adjust: changes to the sidecar settings (test-sized timeouts).
    ///   - extraListeners: per-service listeners, bound on port 0 and serving `servicePort`.
    static func start(
        yaml: String,
        adjust: (inout SidecarSettings) -> Void = { _ in },
        extraListeners: [Int] = [],
        resolver: (any ShardAddressResolver)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = ProxyHarness.quietLogger
    ) async throws -> ProxyHarness {
        let config = try ConfigLoader.load(yaml: yaml)
        var settings = config.sidecar
        settings.listen = HostPort(host: "127.0.0.1", port: 0)
        adjust(&settings)
        let listeners = [ProxyListener(address: settings.listen)]
            + extraListeners.map { ProxyListener(address: HostPort(host: "127.0.0.1", port: 0), servicePort: $0) }
        let routerStore = RouterStore(ShardRouter(config: config))
        let proxy = ProxyServer(
            settings: settings, listeners: listeners, routerStore: routerStore, group: group, logger: logger, resolver: resolver
        )
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: proxy)], gracefulShutdownSignals: [], logger: logger
        ))
        let task = Task { try await serviceGroup.run() }
        let addresses = await proxy.boundAddresses()
        let ports = addresses.compactMap(\.port)
        guard ports.count == listeners.count else {
            task.cancel()
            throw HarnessError("the proxy bound \(ports.count) of \(listeners.count) listeners")
        }
        return ProxyHarness(proxy: proxy, config: config, routerStore: routerStore, ports: ports, serviceGroup: serviceGroup, task: task)
    }

    private init(proxy: ProxyServer, config: ShardlineConfig, routerStore: RouterStore, ports: [Int], serviceGroup: ServiceGroup, task: Task<Void, any Error>) {
        self.proxy = proxy
        self.config = config
        self.router = ShardRouter(config: config)
        self.routerStore = routerStore
        self.ports = ports
        self.serviceGroup = serviceGroup
        self.task = task
    }

    /// Starts the graceful shutdown; `finished()` waits for `run()` to return.
    func beginShutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }

    func finished() async throws {
        try await task.value
    }

    func stop() async throws {
        await beginShutdown()
        try await finished()
    }

    /// The config for one pattern-routed service `users` (Host `users`) over `endpoints`.
    static func usersYAML(endpoints: [String], extra: String = "") -> String {
        """
        services:
          - name: users
            hosts: [users]
            pattern: '^/users/([^/]*)/'
            endpoints: [\(endpoints.map { "'\($0)'" }.joined(separator: ", "))]
        \(extra)
        """
    }

    /// The shard the core router picks for `path` on service `users`.
    func expectedShard(host: String = "users", path: String) throws -> Int {
        try router.route(host: host, target: path).get().shard
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, failing if it takes longer than `limit` (a hang must fail the test, not stall the suite).
func withTimeout<T: Sendable>(_ limit: Duration = .seconds(20), _ what: String = "the operation", _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw HarnessError("\(what) did not finish within \(limit)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Polls `condition` until it holds, failing after `limit`: a wait for something the test cannot
/// be told about directly (a count on a backend, a flag on the proxy), never a fixed sleep.
func waitUntil(_ what: String, within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessError("timed out after \(limit) waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Backends named `shard-0`, `shard-1`, ... on loopback.
func startBackends(_ count: Int, options: TestBackend.Options = TestBackend.Options()) async throws -> [TestBackend] {
    var backends: [TestBackend] = []
    for index in 0..<count {
        backends.append(try await TestBackend.start(name: "shard-\(index)", on: MultiThreadedEventLoopGroup.singleton, options: options))
    }
    return backends
}

func stopBackends(_ backends: [TestBackend]) async {
    for backend in backends { await backend.shutdown() }
}

/// A loopback port with nothing listening on it. Not an ephemeral port that was bound and
/// released: tests run in parallel, and another test's listener may take that port a moment later.
/// Port 1 (tcpmux) is below the ephemeral range and serves nothing on a test machine.
func deadPort() async throws -> Int {
    1
}

/// A resolver whose answers the test sets, counting lookups per name.
final class FakeResolver: ShardAddressResolver {
    enum Answer: Sendable {
        case loopback(port: Int)
        /// 127.0.0.1 on each port, in this order (a Service name with several pods).
        case several(ports: [Int])
        /// Answers only after `delay` (longer than the connect timeout: a resolver that hangs).
        case slow(delay: Duration, port: Int)
        case failure
    }

    /// Per name, the answers still to give: each lookup takes the first, the last one stays.
    private let answers = Mutex<[String: [Answer]]>([:])
    private let lookups = Mutex<[String: Int]>([:])

    func set(_ host: String, _ answer: Answer) {
        answers.withLock { $0[host] = [answer] }
    }

    /// Answers `sequence` one lookup at a time, then keeps giving the last.
    func set(_ host: String, sequence: [Answer]) {
        answers.withLock { $0[host] = sequence }
    }

    func lookupCount(_ host: String) -> Int {
        lookups.withLock { $0[host] ?? 0 }
    }

    func resolve(host: String, port: Int, on eventLoop: any EventLoop) -> EventLoopFuture<[SocketAddress]> {
        lookups.withLock { $0[host, default: 0] += 1 }
        let answer: Answer? = answers.withLock { answers in
            guard var queue = answers[host], let first = queue.first else { return nil }
            if queue.count > 1 { queue.removeFirst() }
            answers[host] = queue
            return first
        }
        switch answer {
        case .loopback(let port):
            return eventLoop.makeCompletedFuture { [try SocketAddress(ipAddress: "127.0.0.1", port: port)] }
        case .several(let ports):
            return eventLoop.makeCompletedFuture { try ports.map { try SocketAddress(ipAddress: "127.0.0.1", port: $0) } }
        case .slow(let delay, let port):
            return eventLoop.scheduleTask(in: TimeAmount(delay)) {
                [try SocketAddress(ipAddress: "127.0.0.1", port: port)]
            }.futureResult
        case .failure, nil:
            return eventLoop.makeFailedFuture(HarnessError("no such host \(host)"))
        }
    }
}
