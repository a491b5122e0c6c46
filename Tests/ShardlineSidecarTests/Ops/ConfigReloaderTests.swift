import Foundation
import Logging
import Prometheus
import ShardlineConfigFile
import ShardlineCore
import Testing
@testable import ShardlineSidecar

extension Ops {
    /// The reloader on its own: a ConfigMap-style directory, a router store, a registry. Reloads are
    /// triggered directly, so these tests need no timing at all.
    @Suite("Config reload")
    struct ConfigReloaderTests {
        struct Fixture {
            let directory: ConfigMapDirectory
            let routerStore: RouterStore
            let registry = PrometheusCollectorRegistry()
            let reloader: ConfigReloader
            let logs = CapturingSink()
            let levelControl = LogLevelControl(.info)

            init(yaml: String, options: (inout SidecarOptions) -> Void = { _ in }) throws {
                directory = try ConfigMapDirectory(yaml: yaml)
                var sidecarOptions = SidecarOptions(configPath: directory.configPath)
                options(&sidecarOptions)
                let snapshot = try ConfigFile.read(path: directory.configPath)
                let config = try sidecarOptions.effective(ConfigLoader.load(yaml: snapshot.text), source: snapshot.path)
                routerStore = RouterStore(ShardRouter(config: config))
                let logs = self.logs, levelControl = self.levelControl
                reloader = ConfigReloader(
                    options: sidecarOptions, version: snapshot.version, routerStore: routerStore,
                    metrics: ReloadMetrics(registry: registry), levelControl: levelControl, signals: nil,
                    logger: Logger(label: "reload") { JSONLogHandler(label: $0, sink: logs, levelControl: levelControl) }
                )
            }

            /// The shard addresses that 50 distinct keys route to under the serving config.
            func addressesInUse() -> Set<String> {
                let router = routerStore.current.router
                return Set((0..<50).compactMap { index in
                    try? router.route(host: "users", target: "/users/key-\(index)/x").get().address.description
                })
            }

            func metricsText() -> String { registry.emitToString() }

            func logRecords(level: String) -> [[String: Any]] {
                logs.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    .filter { $0["level"] as? String == level }
            }
        }

        @Test("a ConfigMap update (..data swapped) is seen by a poll: new topology, next generation")
        func configMapSwap() throws {
            let fixture = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081, 18082]))
            defer { fixture.directory.remove() }
            #expect(fixture.reloader.reload(trigger: .poll) == .unchanged)
            #expect(fixture.addressesInUse() == ["127.0.0.1:18081", "127.0.0.1:18082"])
            #expect(fixture.routerStore.generation == 1)

            try fixture.directory.update(yaml: OpsConfig.yaml(endpoints: [18091, 18092, 18093]))
            #expect(fixture.reloader.reload(trigger: .poll) == .applied(generation: 2))
            #expect(fixture.routerStore.current.generation == 2)
            // The lock-free generation event loops compare their cached snapshot with.
            #expect(fixture.routerStore.generation == 2)
            #expect(fixture.addressesInUse() == ["127.0.0.1:18091", "127.0.0.1:18092", "127.0.0.1:18093"])
            #expect(fixture.metricsText().contains("shardline_config_generation 2"))
            #expect(fixture.metricsText().contains(#"shardline_config_reloads_total{result="success"} 1"#))
            let info = fixture.logRecords(level: "info").first { $0["msg"] as? String == "config reloaded" }
            #expect(info?["generation"] as? Int == 2)
        }

        @Test("an invalid config is refused, counted once, logged with the error; the old one keeps serving")
        func invalidConfig() throws {
            let fixture = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081, 18082]))
            defer { fixture.directory.remove() }
            try fixture.directory.update(yaml: OpsConfig.yaml(endpoints: [18091]) + "\nreplica: 3\n")

            guard case .rejected(let message) = fixture.reloader.reload(trigger: .poll) else {
                Issue.record("an invalid config was not rejected")
                return
            }
            #expect(message.contains("replica"))
            #expect(message.contains("line"))
            // The same broken file seen by the next polls is not counted or logged again.
            _ = fixture.reloader.reload(trigger: .poll)
            _ = fixture.reloader.reload(trigger: .poll)

            #expect(fixture.routerStore.current.generation == 1)
            #expect(fixture.addressesInUse() == ["127.0.0.1:18081", "127.0.0.1:18082"])
            #expect(fixture.metricsText().contains(#"shardline_config_reloads_total{result="failure"} 1"#))
            let errors = fixture.logRecords(level: "error")
            #expect(errors.count == 1)
            #expect((errors.first?["error"] as? String)?.contains("replica") == true)

            // Fixing the file applies it.
            try fixture.directory.update(yaml: OpsConfig.yaml(endpoints: [18091]))
            #expect(fixture.reloader.reload(trigger: .poll) == .applied(generation: 2))
            #expect(fixture.addressesInUse() == ["127.0.0.1:18091"])
        }

        @Test("a missing file is refused and the old config keeps serving")
        func missingFile() throws {
            let fixture = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081]))
            defer { fixture.directory.remove() }
            try FileManager.default.removeItem(atPath: fixture.directory.root.appendingPathComponent("..data").path)
            guard case .rejected(let message) = fixture.reloader.reload(trigger: .request) else {
                Issue.record("a missing file was not rejected")
                return
            }
            #expect(message.contains("cannot read config file"))
            #expect(fixture.routerStore.current.generation == 1)
        }

        @Test("a config given as a pipe (`--config <(...)`) is refused with why, a missing one with the system's reason")
        func pipeAndMissing() throws {
            let pipe = Pipe()
            pipe.fileHandleForWriting.write(Data(OpsConfig.yaml(endpoints: [18081]).utf8))
            let path = "/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)"
            #expect(throws: ConfigFileError(
                path: path,
                reason: "not a file; the config is re-read to follow updates, so it must be a file (a pipe cannot be read twice)"
            )) { try ConfigFile.read(path: path) }
            #expect(throws: ConfigFileError(path: "/nonexistent/shardline.yaml", reason: "No such file or directory")) {
                try ConfigFile.read(path: "/nonexistent/shardline.yaml")
            }
        }

        @Test("listener changes are not applied: a warning says a restart is needed, routing still updates")
        func listenerChange() throws {
            let fixture = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081], listen: "127.0.0.1:16001", admin: "127.0.0.1:16080"))
            defer { fixture.directory.remove() }
            try fixture.directory.update(yaml: OpsConfig.yaml(endpoints: [18082], listen: "127.0.0.1:16002", admin: "127.0.0.1:16090"))

            #expect(fixture.reloader.reload(trigger: .poll) == .applied(generation: 2))
            let serving = fixture.routerStore.current.router.config
            #expect(serving.sidecar.listen == HostPort(host: "127.0.0.1", port: 16001))
            #expect(serving.sidecar.admin == HostPort(host: "127.0.0.1", port: 16080))
            #expect(fixture.addressesInUse() == ["127.0.0.1:18082"])
            let warning = try #require(fixture.logRecords(level: "warning").first)
            #expect((warning["msg"] as? String)?.contains("restart") == true)
            let changes = warning["changes"] as? [String] ?? []
            #expect(changes.contains("sidecar.listen 127.0.0.1:16001 -> 127.0.0.1:16002"))
            #expect(changes.contains("sidecar.admin 127.0.0.1:16080 -> 127.0.0.1:16090"))
        }

        @Test("a new log level applies at once unless --log-level pinned it")
        func logLevel() throws {
            let fixture = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081]))
            defer { fixture.directory.remove() }
            try fixture.directory.update(yaml: OpsConfig.yaml(endpoints: [18081], extra: "  logLevel: debug"))
            #expect(fixture.reloader.reload(trigger: .poll) == .applied(generation: 2))
            #expect(fixture.levelControl.level == .debug)

            let pinned = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081])) { $0.logLevel = .warning }
            defer { pinned.directory.remove() }
            try pinned.directory.update(yaml: OpsConfig.yaml(endpoints: [18081], extra: "  logLevel: debug"))
            #expect(pinned.reloader.reload(trigger: .poll) == .unchanged)
            #expect(pinned.routerStore.current.router.config.sidecar.logLevel == .warning)
        }

        @Test("re-reading an unchanged file changes nothing")
        func unchanged() throws {
            let fixture = try Fixture(yaml: OpsConfig.yaml(endpoints: [18081]))
            defer { fixture.directory.remove() }
            // Same content under a new ..data directory: the version differs, the config does not.
            try fixture.directory.update(yaml: OpsConfig.yaml(endpoints: [18081]))
            #expect(fixture.reloader.reload(trigger: .poll) == .unchanged)
            #expect(fixture.reloader.reload(trigger: .request) == .unchanged)
            #expect(fixture.routerStore.current.generation == 1)
            #expect(fixture.metricsText().contains(#"shardline_config_reloads_total{result="success"} 0"#))
        }
    }
}
