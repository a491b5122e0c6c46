// The simulated cluster's scripts (Tests/e2e/*.sh, set up by Tests/e2e/lib/cluster.sh) as the
// Swift tests run them: what this machine lacks to run them, and one run of a script with the
// built binary, bounded in time.

// Linux only: network namespaces.
#if os(Linux)
import Foundation
import Glibc
import ShardlineTestSupport

enum SimulatedCluster {
    static let peersRequired = ProcessInfo.processInfo.environment["SHARDLINE_REQUIRE_PEERS"] == "1"

    /// What the scripts need and this machine lacks; empty when they can run.
    static let missingPrerequisites: [String] = {
        var missing: [String] = []
        if geteuid() != 0 { missing.append("root (network namespaces, a bridge, dnsmasq on port 53)") }
        for tool in ["ip", "dnsmasq", "python3", "curl"] where findExecutable(tool) == nil {
            missing.append("\(tool) (apt-get install -y iproute2 dnsmasq-base python3 curl)")
        }
        if missing.isEmpty && !canCreateNetworkNamespace() {
            missing.append("a usable `ip netns` (`ip netns add` failed: no CAP_SYS_ADMIN, or /run/netns cannot be mounted)")
        }
        return missing
    }()

    struct ScriptRun {
        var status: Int32
        var output: String
        var timedOut: Bool
    }

    /// Runs the script with the built binary, stdout and stderr into one file (no pipe to fill
    /// up); past `timeout` it gets SIGTERM, and its trap cleans up the namespaces. Waits with
    /// `Task.sleep`, so the other tests keep the thread meanwhile.
    static func runScript(_ script: URL, environment extra: [String: String], timeout: Duration) async throws -> ScriptRun {
        let logURL = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-\(script.deletingPathExtension().lastPathComponent)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: logURL) }
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, CLITests.binary.path]
        process.currentDirectoryURL = CLITests.repositoryRoot
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()

        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                process.terminate()
                let grace = ContinuousClock.now + .seconds(15)
                while process.isRunning && ContinuousClock.now < grace { try await Task.sleep(for: .milliseconds(50)) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? "(no output)"
        return ScriptRun(status: process.terminationStatus, output: output, timedOut: timedOut)
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return directories.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// `ip netns add` then `del` of a uniquely named namespace: root alone is not enough in some
    /// containers.
    static func canCreateNetworkNamespace() -> Bool {
        guard let ip = findExecutable("ip") else { return false }
        let name = "slt-probe-\(getpid())"
        guard QuietProcess.succeeds(ip, ["netns", "add", name]) else { return false }
        return QuietProcess.succeeds(ip, ["netns", "del", name])
    }
}
#endif
