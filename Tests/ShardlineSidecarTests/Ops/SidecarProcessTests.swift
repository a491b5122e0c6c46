import Foundation
import NIOPosix
import Testing

extension Ops {
    /// `shardline sidecar` as a real process: signals, exit status and stdout are what Kubernetes
    /// sees, so these are checked on the binary itself. `serialized`: each test owns a child process
    /// and its signals, and together they stay within a few seconds.
    @Suite("Sidecar process", .serialized)
    struct SidecarProcessTests {
        static func start(configPath: String, extra: [String] = []) throws -> SidecarSubprocess {
            try SidecarSubprocess(arguments: [
                "sidecar", "--config", configPath, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--threads", "1",
            ] + extra)
        }

        @Test("SIGTERM: stop accepting, finish the in-flight request, exit 0; every log line is JSON")
        func sigtermDrains() async throws {
            let slow = try await TestBackend.start(name: "slow", on: MultiThreadedEventLoopGroup.singleton)
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: [slow.port], drainTimeout: "20s"))
            defer { directory.remove() }
            let process = try Self.start(configPath: directory.configPath)
            defer { process.stop() }
            let (listeners, admin) = try await process.waitUntilReady()
            let proxyPort = try #require(listeners.first)

            // Long enough that the drain is still waiting on it when /readyz is checked, even on a
            // loaded CI machine.
            let inFlight = Task { try await OpsHTTP.request(port: proxyPort, path: "/slow?ms=8000", host: "users", timeout: .seconds(30)) }
            try await eventually("the slow request reached the backend") { slow.requestCount == 1 }
            process.signal(SIGTERM)

            try await eventually("the proxy listener refuses connections") { !OpsHTTP.acceptsConnections(port: proxyPort) }
            // The admin listener outlives the drain, so the kubelet sees 503 rather than a refusal.
            let readyz = try await OpsHTTP.request(port: admin, path: "/readyz", timeout: .seconds(5))
            #expect(readyz.status == 503)
            let response = try await inFlight.value
            #expect(response.status == 200)
            #expect(response.header("x-backend") == "slow")
            #expect(try await process.waitForExit() == 0)

            let records = try process.logRecords()
            #expect(records.count >= 3)
            for record in records {
                #expect(record["ts"] is String && record["level"] is String && record["msg"] is String && record["logger"] is String)
            }
            let messages = records.compactMap { $0["msg"] as? String }
            #expect(messages.contains("ready"))
            #expect(messages.contains { $0.hasPrefix("draining") })
            #expect(messages.last == "stopped")
            await slow.shutdown()
        }

        @Test("SIGHUP re-reads the config (polling off): the new topology serves, generation 2")
        func sighupReloads() async throws {
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: [18081]))
            defer { directory.remove() }
            let process = try Self.start(configPath: directory.configPath, extra: ["--config-poll-ms", "0"])
            defer { process.stop() }
            let (_, admin) = try await process.waitUntilReady()

            try directory.update(yaml: OpsConfig.yaml(endpoints: [18091, 18092]))
            process.signal(SIGHUP)
            let reloaded = try await process.waitForLog("config reloaded")
            #expect(reloaded["generation"] as? Int == 2)
            #expect(reloaded["trigger"] as? String == "SIGHUP")

            let config = try await OpsHTTP.request(port: admin, path: "/config").jsonObject()
            #expect(config["generation"] as? Int == 2)
            let services = try #require(config["services"] as? [[String: Any]])
            #expect(services.first?["shards"] as? [String] == ["127.0.0.1:18091", "127.0.0.1:18092"])
            let metrics = try await OpsHTTP.request(port: admin, path: "/metrics")
            #expect(metrics.body.contains("shardline_config_generation 2"))

            process.signal(SIGTERM)
            #expect(try await process.waitForExit() == 0)
        }

        @Test("an invalid config exits 1 and names the field and line on stderr")
        func invalidConfigExits() async throws {
            let directory = try ConfigMapDirectory(yaml: OpsConfig.yaml(endpoints: [18081], drainTimeout: "soon"))
            defer { directory.remove() }
            let process = try Self.start(configPath: directory.configPath)
            defer { process.stop() }
            #expect(try await process.waitForExit(timeout: .seconds(10)) == 1)
            let stderr = process.standardError
            #expect(stderr.contains("sidecar.drainTimeout"), "stderr: \(stderr)")
            #expect(stderr.contains("(line "), "stderr: \(stderr)")
        }
    }
}
