import Logging
import NIOCore
import Prometheus
import Synchronization
import Testing
@testable import ShardlineSidecar

@Suite("Proxy metrics and access log")
struct ProxyObservabilityTests {
    @Test("with accessLog on, each request logs one line with method, path, host, service, shard, status, duration and upstream, whatever the log level")
    func accessLog() async throws {
        let backends = try await startBackends(2)
        let records = LogRecords()
        var logger = Logger(label: "access", factory: { _ in CapturingLogHandler(records: records) })
        // Access lines are info lines; `accessLog: true` asks for them even when logLevel is higher.
        logger.logLevel = .warning
        let harness = try await ProxyHarness.start(
            yaml: ProxyHarness.usersYAML(endpoints: backends.map { "127.0.0.1:\($0.port)" }),
            adjust: { $0.accessLog = true }, logger: logger
        )
        let shard = try harness.expectedShard(path: "/users/dave/profile")
        _ = try await TestHTTPConnection.request(port: harness.port, "/users/dave/profile?full=1")
        _ = try await TestHTTPConnection.request(port: harness.port, "/users/dave/profile", host: "unknown")
        let lines = records.all.filter { $0.message == "request" }
        try #require(lines.count == 2, "\(records.all)")
        let metadata = lines[0].metadata
        #expect(metadata["method"] == "GET")
        #expect(metadata["path"] == "/users/dave/profile?full=1")
        #expect(metadata["host"] == "users")
        #expect(metadata["service"] == "users")
        #expect(metadata["shard"] == "\(shard)")
        #expect(metadata["status"] == "200")
        #expect(metadata["upstream"] == "127.0.0.1:\(backends[shard].port)")
        #expect(Double(metadata["duration_ms"] ?? "") != nil)
        // A request no service claims is logged without service, shard or upstream.
        let unrouted = lines[1].metadata
        #expect(unrouted["status"] == "404")
        #expect(unrouted["host"] == "unknown")
        #expect(unrouted["service"] == nil && unrouted["upstream"] == nil)
        try await harness.stop()
        await stopBackends(backends)
    }

    @Test("requests, durations, connect errors, ejections and open connections reach the metrics backend")
    func metrics() async throws {
        let registry = MetricsBootstrap.processRegistry()
        let backends = try await startBackends(1)
        let dead = try await deadPort()
        let yaml = """
            services:
              - name: metricsprobe
                hosts: [metricsprobe]
                pattern: '^/([^/]*)'
                endpoints: ['127.0.0.1:\(backends[0].port)']
              - name: metricsdead
                hosts: [metricsdead]
                pattern: '^/([^/]*)'
                endpoints: ['127.0.0.1:\(dead)']
            """
        let harness = try await ProxyHarness.start(yaml: yaml, adjust: { $0.retries = 0; $0.outlier.consecutiveFailures = 2; $0.outlier.baseEjection = .seconds(60); $0.outlier.maxEjection = .seconds(60) })
        for index in 0..<3 { _ = try await TestHTTPConnection.request(port: harness.port, "/k\(index)", host: "metricsprobe") }
        for index in 0..<3 { _ = try await TestHTTPConnection.request(port: harness.port, "/k\(index)", host: "metricsdead") }
        let text = try await TestHTTPConnection.with(port: harness.port) { connection in
            _ = try await connection.request(.GET, "/open", host: "metricsprobe")
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        func value(_ name: String, _ labels: [String]) -> Double? {
            lines.first { $0.hasPrefix(name + "{") && labels.allSatisfy($0.contains) }
                .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        }
        #expect(value("shardline_requests_total", ["service=\"metricsprobe\"", "shard=\"0\"", "status=\"200\""]) ?? 0 >= 3)
        #expect(value("shardline_requests_total", ["service=\"metricsdead\"", "shard=\"0\"", "status=\"503\""]) ?? 0 >= 3)
        #expect(value("shardline_request_duration_seconds_count", ["service=\"metricsprobe\""]) ?? 0 >= 3)
        #expect(value("shardline_upstream_connect_errors_total", ["service=\"metricsdead\"", "shard=\"0\""]) == 2)
        #expect(value("shardline_ejections_total", ["service=\"metricsdead\"", "shard=\"0\""]) == 1)
        #expect(value("shardline_open_connections", ["side=\"downstream\""]) ?? 0 >= 1)
        #expect(value("shardline_open_connections", ["side=\"upstream\""]) ?? 0 >= 1)
        try await harness.stop()
        await stopBackends(backends)
    }
}

final class LogRecords: Sendable {
    struct Record: Sendable {
        var message: String
        var metadata: [String: String]
    }
    private let records = Mutex<[Record]>([])
    var all: [Record] { records.withLock { $0 } }
    func append(_ record: Record) { records.withLock { $0.append(record) } }
}

struct CapturingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        records.append(.init(message: event.message.description, metadata: merged.mapValues { "\($0)" }))
    }
}
