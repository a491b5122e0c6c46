// End to end: the real `shardline sidecar` in a simulated cluster (Tests/e2e/dns-restart.sh):
// pods are network namespaces on a bridge, the cluster DNS is dnsmasq. It shows what the unit
// tests, which inject a fake resolver, cannot: shard names go through the system resolver
// (getaddrinfo and the pod's /etc/resolv.conf), and a shard pod that restarts on a new IP is
// reached again within about a second of its DNS record changing, even when traffic during its
// outage had it ejected by outlier detection.
//
// Needs root, `ip netns`, dnsmasq, python3 and curl. Skipped when one is missing, unless
// SHARDLINE_REQUIRE_PEERS=1 (set by CI, which installs them), where that is a failure.

// Linux only: network namespaces.
#if os(Linux)
import Foundation
import Glibc
import Testing

@Suite("DNS restart end to end")
struct DNSRestartEndToEndTests {
    static let script = CLITests.repositoryRoot.appendingPathComponent("Tests/e2e/dns-restart.sh")
    static let peersRequired = ProcessInfo.processInfo.environment["SHARDLINE_REQUIRE_PEERS"] == "1"

    /// What the scenario needs and this machine lacks; empty when it can run.
    static let missingPrerequisites = SimulatedCluster.missingPrerequisites

    /// Other suites look tools up through this name.
    static func findExecutable(_ name: String) -> String? { SimulatedCluster.findExecutable(name) }

    @Test(
        .enabled(
            if: missingPrerequisites.isEmpty || peersRequired,
            "needs root, `ip netns`, dnsmasq, python3 and curl (set SHARDLINE_REQUIRE_PEERS=1 to make their absence a failure)"),
        .timeLimit(.minutes(1)))
    func restartedShardPodIsReachedAtItsNewIPThroughClusterDNS() async throws {
        guard Self.missingPrerequisites.isEmpty else {
            Issue.record("SHARDLINE_REQUIRE_PEERS=1 but the simulated-cluster test cannot run; missing: \(Self.missingPrerequisites.joined(separator: "; "))")
            return
        }
        // Shard-1 traffic keeps coming through a 5 s outage, so the shard is ejected (windows of
        // 1, 2, 4 s) when its DNS record changes: recovery must not wait for the ejection to end.
        let run = try await SimulatedCluster.runScript(Self.script, environment: ["SLT_OUTAGE_SECONDS": "5"], timeout: .seconds(80))
        let output = run.output
        let summary = output.split(separator: "\n").filter {
            $0.contains("RECOVERY") || $0.contains("DEAD POD") || $0.contains("shards 0 and 2 during") || $0.contains("PASS") || $0.contains("FAIL")
        }
        print(summary.map { "dns-restart.sh: \($0)" }.joined(separator: "\n"))
        if run.status != 0 || run.timedOut {
            Attachment.record(output, named: "dns-restart.log")
        }
        #expect(!run.timedOut, "dns-restart.sh did not finish within 80 s and was stopped; its output:\n\(output)")
        #expect(run.status == 0, "dns-restart.sh exited \(run.status); its output:\n\(output)")
        #expect(output.contains("PASS: "), "dns-restart.sh exited \(run.status) without its PASS line; its output:\n\(output)")
    }
}
#endif
