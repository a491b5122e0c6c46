import Foundation

extension Ops {
    /// A directory laid out the way the kubelet lays out a mounted ConfigMap, and updated the way it
    /// updates one (its AtomicWriter): each version is written to a fresh `..<timestamp>` directory,
    /// a `..data_tmp` symlink to it is renamed over `..data` (one atomic rename), and the old
    /// version is removed. `config.yaml` is a symlink to `..data/config.yaml` and never changes.
    final class ConfigMapDirectory: @unchecked Sendable {
        let root: URL
        private var version = 0

        /// The path a sidecar is given: `<root>/config.yaml`.
        var configPath: String { root.appendingPathComponent("config.yaml").path }

        init(yaml: String) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-ops-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let first = try writeVersion(yaml)
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("..data").path, withDestinationPath: first)
            try FileManager.default.createSymbolicLink(atPath: configPath, withDestinationPath: "..data/config.yaml")
        }

        /// Publishes a new version atomically, as a ConfigMap update does.
        func update(yaml: String) throws {
            let data = root.appendingPathComponent("..data")
            let previous = try FileManager.default.destinationOfSymbolicLink(atPath: data.path)
            let next = try writeVersion(yaml)
            let temporary = root.appendingPathComponent("..data_tmp")
            try? FileManager.default.removeItem(at: temporary)
            try FileManager.default.createSymbolicLink(atPath: temporary.path, withDestinationPath: next)
            guard rename(temporary.path, data.path) == 0 else {
                throw OpsTestError("rename ..data_tmp -> ..data failed: errno \(errno)")
            }
            try FileManager.default.removeItem(at: root.appendingPathComponent(previous))
        }

        func remove() {
            try? FileManager.default.removeItem(at: root)
        }

        /// Writes `..2026_11_25_06_00_00.<n>/config.yaml` and returns the directory's name.
        private func writeVersion(_ yaml: String) throws -> String {
            version += 1
            let name = "..2026_11_25_06_00_00.\(String(format: "%09d", version))"
            let directory = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            try yaml.write(to: directory.appendingPathComponent("config.yaml"), atomically: false, encoding: .utf8)
            return name
        }
    }

    /// Sidecar configs for the tests: one service `users` over the given local endpoints. Listener
    /// addresses are written only when given; tests otherwise pass them as overrides (port 0), since
    /// a config file may not give both listeners the same address, not even port 0.
    enum OpsConfig {
        static func yaml(
            endpoints: [Int], listen: String? = nil, admin: String? = nil,
            drainTimeout: String = "20s", extra: String = ""
        ) -> String {
            let list = endpoints.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ")
            var lines = [
                "services:",
                "  - name: users",
                "    hosts: [users]",
                "    pattern: '^/users/([^/]*)/'",
                "    endpoints: [\(list)]",
                "sidecar:",
                "  drainTimeout: \(drainTimeout)",
            ]
            if let listen { lines.append("  listen: \(listen)") }
            if let admin { lines.append("  admin: \(admin)") }
            if !extra.isEmpty { lines.append(extra) }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
