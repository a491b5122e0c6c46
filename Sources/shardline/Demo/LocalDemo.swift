import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ShardlineCore
import ShardlineExampleShard
import ShardlineShard
import ShardlineSidecar
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `shardline demo`: the whole request path and a live resharding on one machine, no cluster.
/// Three example shard servers (the key-value server of `shardline shard-server`) on loopback,
/// the real sidecar in front of them; keys written and read through the sidecar, each answer
/// checked against the shard the core predicts; then a fourth shard is started and the shards
/// and the sidecar are moved to four shards while requests keep flowing, in the safe order
/// (new shard ready, then the shards' configs, then the sidecar's). Part of the CLI, not of the
/// sidecar library: it drives the sidecar from outside, through its public API, as a user would.
enum LocalDemo {
    struct Options: Sendable {
        /// Keys written before the resharding.
        var keys = 300
        /// Extra paths sent (GET) through the sidecar for the table.
        var paths: [String] = []
        /// Requests of the load that runs through the resharding: before the shards' swap, between
        /// it and the sidecar's, and after, each.
        var loadRequests = 200
        /// Table rows printed before "... N more".
        var tableRows = 8
    }

    /// One request of the table: where the core predicts it goes and which shard answered.
    struct Row: Sendable {
        var path: String
        var key: String?
        var predicted: Int?
        var answeredBy: Int?
        var status: Int
        var agrees: Bool { predicted == answeredBy && answeredBy != nil }
    }

    /// What the demo found; `allHeld` decides the exit status.
    struct Report: Sendable {
        var rows: [Row] = []
        var keys = 0
        /// Keys whose answering shard changed with the resharding (observed through the sidecar).
        var movedObserved = 0
        /// Of those, the ones now answered by the new shard.
        var movedToNewShard = 0
        /// `shardline plan`'s count for the same keys (`RebalancePlan`).
        var movedPlanned = 0
        var loadRequests = 0
        var failedRequests = 0
        var failures: [String] = []
        /// Keys written before the resharding that read back their latest value after it.
        var readBack = 0
        /// The sidecar learnt of the new config from a shard's 421 (SPEC.md 11.5), not a reload.
        var sidecarFollowed421 = false

        var tableAgrees: Bool { rows.allSatisfy(\.agrees) }
        var allHeld: Bool {
            tableAgrees && failedRequests == 0 && readBack == keys && movedObserved == movedPlanned
                && movedToNewShard == movedObserved && keys > 0
        }
    }

    static let service = "users"
    static let pattern = "^/users/([^/]*)/"
    static let quiet = Logger(label: "shardline.demo", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs the demo, reporting progress through `say`. Everything it started is stopped before
    /// it returns or throws (cancellation, as Ctrl-C brings, included).
    static func run(_ options: Options, say: @escaping @Sendable (String) -> Void) async throws -> Report {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let httpClient = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: HTTPClient.Configuration(timeout: .init(connect: .seconds(2), read: .seconds(10))))
        let directory = try TemporaryDirectory()
        defer { _ = directory }
        do {
            let report = try await withThrowingTaskGroup(of: Void.self) { tasks in
                defer { tasks.cancelAll() }
                return try await scenario(options, group: group, httpClient: httpClient, configPath: directory.path + "/shardline.yaml", tasks: &tasks, say: say)
            }
            try? await httpClient.shutdown()
            try? await group.shutdownGracefully()
            return report
        } catch {
            try? await httpClient.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private static func scenario(
        _ options: Options, group: MultiThreadedEventLoopGroup, httpClient: HTTPClient, configPath: String,
        tasks: inout ThrowingTaskGroup<Void, any Error>, say: @escaping @Sendable (String) -> Void
    ) async throws -> Report {
        var report = Report()
        // Three shards. Their ports are known only once bound, so each starts on a placeholder
        // config and gets the real one before any request arrives.
        var shards: [DemoShard] = []
        for ordinal in 0..<3 {
            shards.append(try await DemoShard.start(ordinal: ordinal, config: placeholderConfig(shards: 3), httpClient: httpClient, tasks: &tasks))
        }
        let three = try ConfigLoader.load(yaml: demoConfig(ports: shards.map(\.port)))
        for shard in shards { try shard.serve(three) }
        try writeFile(configPath, contents: demoConfig(ports: shards.map(\.port)))

        var sidecarOptions = SidecarOptions(configPath: configPath)
        sidecarOptions.listen = HostPort(host: "127.0.0.1", port: 0)
        sidecarOptions.admin = HostPort(host: "127.0.0.1", port: 0)
        sidecarOptions.handlesSignals = false
        // No polling: the sidecar sees the new file when told to reload, or when a shard's 421
        // says its config is stale (SPEC.md 11.5).
        sidecarOptions.configPollInterval = nil
        let sidecar = try await Sidecar(options: sidecarOptions, registry: PrometheusCollectorRegistry(), group: group, logger: quiet)
        tasks.addTask { try await sidecar.run() }
        do {
            report = try await drive(options, shards: &shards, three: three, sidecar: sidecar, httpClient: httpClient, configPath: configPath, tasks: &tasks, say: say)
        } catch {
            await sidecar.triggerGracefulShutdown()
            throw error
        }
        await sidecar.triggerGracefulShutdown()
        say("Stopped the sidecar and the \(shards.count) shard servers.")
        return report
    }

    private static func drive(
        _ options: Options, shards: inout [DemoShard], three: ShardlineConfig, sidecar: Sidecar, httpClient: HTTPClient,
        configPath: String, tasks: inout ThrowingTaskGroup<Void, any Error>, say: @escaping @Sendable (String) -> Void
    ) async throws -> Report {
        var report = Report()
        guard let port = await sidecar.proxyAddresses().first?.port else { throw DemoError("the sidecar bound no listener") }
        let client = DemoClient(httpClient: httpClient, port: port)
        say("Three example shard servers on 127.0.0.1:\(shards.map { String($0.port) }.joined(separator: ", ")), the sidecar in front on 127.0.0.1:\(port).")

        // 1. Writes and reads through the sidecar, each checked against the core's prediction.
        let keys = (0..<options.keys).map { String(format: "user%03d", $0) }
        let values = Values(keys.map { ($0, "v0-\($0)") })
        try await forEachConcurrently(keys, width: 8) { key in
            let status = try await client.put(key: key, value: "v0-\(key)").status
            if status != 204 { throw DemoError("PUT /users/\(key)/ answered \(status)") }
        }
        let router3 = ShardRouter(config: three)
        let before = Mutex<[String: Int]>([:])
        var rows = try await mapConcurrently(keys, width: 8) { key -> Row in
            let path = "/users/\(key)/"
            let answer = try await client.get(path: path)
            return Row(path: path, key: key, predicted: try? router3.route(service: 0, target: path).get().shard, answeredBy: answer.servedBy, status: answer.status)
        }
        for row in rows { if let key = row.key { before.withLock { $0[key] = row.answeredBy } } }
        for path in options.paths {
            let answer = try await client.get(path: path)
            let predicted = try? router3.route(service: 0, target: path).get()
            // A probe path is answered by whichever shard the request reaches: the prediction.
            rows.append(Row(path: path, key: predicted?.key, predicted: predicted?.shard, answeredBy: answer.servedBy, status: answer.status))
        }
        report.rows = rows
        say("Wrote \(keys.count) keys through the sidecar (PUT /users/<key>/), then read them back (GET):")
        say(DemoTable.header)
        let shown = min(options.tableRows, keys.count)
        for row in rows.prefix(shown) { say(DemoTable.line(row)) }
        if keys.count > shown { say("... \(keys.count - shown) more keys") }
        for row in rows.dropFirst(keys.count) { say(DemoTable.line(row)) }
        say("\(rows.filter(\.agrees).count)/\(rows.count) requests reached the shard the core predicted, straight from the sidecar (no router tier).")

        // 2. The resharding, 3 -> 4, while requests keep flowing.
        let fourth = try await DemoShard.start(ordinal: 3, config: three, httpClient: httpClient, tasks: &tasks)
        shards.append(fourth)
        guard try await client.ready(shardPort: fourth.port) else { throw DemoError("shard 3 did not become ready") }
        let fourYAML = demoConfig(ports: shards.map(\.port), previous: Array(shards.prefix(3).map(\.port)))
        let four = try ConfigLoader.load(yaml: fourYAML)
        say("Resharding 3 -> 4 under load: shard 3 started and ready (it refuses every key until its config gives it some).")

        let load = DemoLoad(client: client, keys: keys, values: values)
        try await withThrowingTaskGroup(of: Void.self) { loadTasks in
            for worker in 0..<4 { loadTasks.addTask { await load.run(worker: worker, of: 4) } }
            try await load.waitFor(requests: options.loadRequests)
            // The safe order: every shard knows the new placement (and the old one as `previous`)
            // before any client routes by it. The sidecar's file is written first but read only on
            // the explicit reload below, or sooner, when a shard's 421 names a newer topology: in
            // between, the sidecar follows 421s, and no request fails.
            try writeFile(configPath, contents: fourYAML)
            for shard in shards { try shard.serve(four) }
            say("  the 4 shards now have the 4-shard config (previous: the 3-shard list, to read moved keys through)")
            try await load.waitFor(requests: 2 * options.loadRequests)
            if sidecar.routerStore.current.generation > 1 {
                report.sidecarFollowed421 = true
                say("  the sidecar got 421s for moved keys, re-read its config on the first and retried each once on the new owner")
            } else {
                let outcome = sidecar.reloadConfig()
                if case .rejected(let why) = outcome { throw DemoError("the sidecar refused the new config: \(why)") }
                say("  the sidecar reloaded its config")
            }
            try await load.waitFor(requests: 3 * options.loadRequests)
            load.stop()
            try await loadTasks.waitForAll()
        }
        let counts = load.counts
        report.loadRequests = counts.requests
        report.failedRequests = counts.failed
        report.failures = counts.failures

        // 3. Every key reads back its latest value, from its new owner.
        let router4 = ShardRouter(config: four)
        let plan = try RebalancePlan(service: three.services[0], toReplicas: 4, newEndpoints: four.services[0].topology.addresses, keys: keys)
        let after = try await mapConcurrently(keys, width: 8) { key -> (String, DemoClient.Answer) in
            (key, try await client.get(path: "/users/\(key)/"))
        }
        let beforeShards = before.withLock { $0 }
        for (key, answer) in after {
            let expected = values.value(of: key)
            let owner = try? router4.route(service: 0, target: "/users/\(key)/").get().shard
            if answer.status == 200 && answer.body == expected && answer.servedBy == owner { report.readBack += 1 }
            if let was = beforeShards[key], let now = answer.servedBy, was != now {
                report.movedObserved += 1
                if now == 3 { report.movedToNewShard += 1 }
            }
        }
        report.keys = keys.count
        report.movedPlanned = plan.moved
        say("  requests during the resharding: \(report.loadRequests), failed: \(report.failedRequests)")
        for failure in report.failures.prefix(5) { say("    failed: \(failure)") }
        say("  moved keys: \(report.movedObserved)/\(keys.count) (\(percent(report.movedObserved, keys.count))), all to shard 3: \(report.movedToNewShard == report.movedObserved ? "yes" : "no, \(report.movedToNewShard)"); shardline plan says \(plan.moved) (\(percent(plan.moved, keys.count)), optimal \(percent(1, 4)))")
        say("  every key written before the resharding read back its latest value after it: \(report.readBack)/\(keys.count)")
        return report
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        whole == 0 ? "0%" : String(format: "%.1f%%", 100 * Double(part) / Double(whole))
    }

    static func demoConfig(ports: [Int], previous: [Int]? = nil) -> String {
        var text = """
            services:
              - name: \(service)
                hosts: [\(service)]
                pattern: '\(pattern)'
                onMiss: hashPath
                algorithm: jump
                endpoints: [\(ports.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]

            """
        if let previous {
            text += "    previous: {endpoints: [\(previous.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]}\n"
        }
        return text
    }

    /// What a shard is built with before its real ports are known: never serves a request.
    static func placeholderConfig(shards: Int) throws -> ShardlineConfig {
        try ConfigLoader.load(yaml: demoConfig(ports: (1...shards).map { $0 }))
    }

    static func writeFile(_ path: String, contents: String) throws {
        // Written beside and renamed over, as a ConfigMap swap is: a reader never sees half a file.
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "w") else { throw DemoError("cannot write \(temporary)") }
        fputs(contents, file)
        fclose(file)
        guard rename(temporary, path) == 0 else { throw DemoError("cannot rename \(temporary) to \(path)") }
    }

    static func forEachConcurrently(_ items: [String], width: Int, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        _ = try await mapConcurrently(items, width: width) { try await body($0) }
    }

    /// `body` over `items`, at most `width` at a time, results in order.
    static func mapConcurrently<T: Sendable>(_ items: [String], width: Int, _ body: @escaping @Sendable (String) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: items.count)
            var next = 0
            while next < min(width, items.count) {
                let index = next
                group.addTask { (index, try await body(items[index])) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await body(items[index])) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }
}

/// The table of `shardline demo`.
enum DemoTable {
    static let header = "path                 key       predicted  answered  status"

    static func line(_ row: LocalDemo.Row) -> String {
        pad(row.path, 20) + " " + pad(row.key ?? "-", 9) + " " + pad(row.predicted.map { "shard \($0)" } ?? "-", 10)
            + " " + pad(row.answeredBy.map { "shard \($0)" } ?? "-", 9) + " " + String(row.status) + "  " + (row.agrees ? "ok" : "MISMATCH")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// One example shard server, in this process, on a loopback port.
struct DemoShard: Sendable {
    let ordinal: Int
    let port: Int
    let server: ExampleShardServer

    static func start(
        ordinal: Int, config: ShardlineConfig, httpClient: HTTPClient, tasks: inout ThrowingTaskGroup<Void, any Error>
    ) async throws -> DemoShard {
        let server = ExampleShardServer(ownership: try ShardOwnership(config: config, ordinal: ordinal))
        let (bound, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = server.makeApplication(listen: HostPort(host: "127.0.0.1", port: 0), httpClient: httpClient, logger: LocalDemo.quiet) { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        }
        tasks.addTask {
            defer { continuation.finish() }
            try await app.run()
        }
        var ports = bound.makeAsyncIterator()
        guard let port = await ports.next(), port > 0 else { throw DemoError("shard \(ordinal) did not bind") }
        return DemoShard(ordinal: ordinal, port: port, server: server)
    }

    /// The shard serves `config` from now on (what a ConfigMap swap does to a shard pod).
    func serve(_ config: ShardlineConfig) throws {
        server.ownership.replace(with: try ShardOwnership(config: config, ordinal: ordinal))
    }
}

/// The latest value written for each key, shared by the load's workers (each owns its keys).
final class Values: Sendable {
    private let values: Mutex<[String: String]>

    init(_ pairs: [(String, String)]) {
        values = Mutex(Dictionary(uniqueKeysWithValues: pairs))
    }

    func value(of key: String) -> String? { values.withLock { $0[key] } }
    func set(_ value: String, for key: String) { values.withLock { $0[key] = value } }
}

/// Reads and writes through the sidecar until stopped: each worker owns every `of`-th key, reads
/// it (its latest value must come back) and now and then writes a new value.
final class DemoLoad: Sendable {
    struct Counts: Sendable {
        var requests = 0
        var failed = 0
        var failures: [String] = []
    }

    let client: DemoClient
    let keys: [String]
    let values: Values
    private let state = Mutex<(counts: Counts, stopped: Bool)>((Counts(), false))
    /// A bound on the load whatever happens, so the demo always ends.
    private let deadline = ContinuousClock.now + .seconds(60)

    init(client: DemoClient, keys: [String], values: Values) {
        self.client = client
        self.keys = keys
        self.values = values
    }

    var counts: Counts { state.withLock { $0.counts } }

    func stop() { state.withLock { $0.stopped = true } }

    private var running: Bool { !state.withLock { $0.stopped } && ContinuousClock.now < deadline && !Task.isCancelled }

    func run(worker: Int, of workers: Int) async {
        let mine = keys.enumerated().filter { $0.offset % workers == worker }.map(\.element)
        var round = 0
        while running {
            round += 1
            for (index, key) in mine.enumerated() where running {
                let failure: String?
                if (index + round) % 3 == 0 {
                    let value = "v\(round)-\(key)"
                    do {
                        let status = try await client.put(key: key, value: value).status
                        if status == 204 { values.set(value, for: key) }
                        failure = status == 204 ? nil : "PUT /users/\(key)/ answered \(status)"
                    } catch {
                        failure = "PUT /users/\(key)/: \(error)"
                    }
                } else {
                    do {
                        let answer = try await client.get(path: "/users/\(key)/")
                        let expected = values.value(of: key)
                        failure = answer.status == 200 && answer.body == expected
                            ? nil : "GET /users/\(key)/ answered \(answer.status) '\(answer.body)', expected 200 '\(expected ?? "")'"
                    } catch {
                        failure = "GET /users/\(key)/: \(error)"
                    }
                }
                state.withLock { state in
                    state.counts.requests += 1
                    if let failure {
                        state.counts.failed += 1
                        if state.counts.failures.count < 5 { state.counts.failures.append(failure) }
                    }
                }
            }
        }
    }

    /// Returns once the load has made `requests` requests in all.
    func waitFor(requests: Int) async throws {
        while counts.requests < requests {
            guard running else { throw DemoError("the load stopped after \(counts.requests) of \(requests) requests") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A directory under /tmp that is removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/shardline-demo-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap(mkdtemp) }) else {
            throw DemoError("cannot create a temporary directory")
        }
        path = String(cString: made)
    }

    deinit {
        _ = unlink(path + "/shardline.yaml")
        _ = unlink(path + "/shardline.yaml.tmp")
        _ = rmdir(path)
    }
}

/// Requests through the sidecar (Host: users), on AsyncHTTPClient's kept-alive connections.
struct DemoClient: Sendable {
    struct Answer: Sendable {
        var status: Int
        var servedBy: Int?
        var body: String
    }

    let httpClient: HTTPClient
    let port: Int

    func get(path: String) async throws -> Answer {
        try await send(path: path, method: .GET, body: nil)
    }

    func put(key: String, value: String) async throws -> Answer {
        try await send(path: "/users/\(key)/", method: .PUT, body: value)
    }

    /// The shard's own probe path, asked directly (as the kubelet does): Ready.
    func ready(shardPort: Int) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(shardPort)/readyz")
            request.method = .GET
            if let response = try? await httpClient.execute(request, timeout: .seconds(2)), response.status == .ok { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    private func send(path: String, method: HTTPMethod, body: String?) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "host", value: LocalDemo.service)
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await httpClient.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Answer(
            status: Int(response.status.code),
            servedBy: response.headers.first(name: ExampleShardServer.servedByHeader).flatMap { Int($0) },
            body: text
        )
    }
}
