import Foundation
import Testing

/// `shardline-sidecar` (the binary the injected container runs) and `shardline sidecar` must be one
/// command: the same flags, the same refusals, the same help, the same start-up failure.
@Suite("shardline-sidecar binary")
struct SidecarBinaryTests {
    static let leanBinary = CLITests.binary.deletingLastPathComponent().appendingPathComponent("shardline-sidecar")

    /// Runs the same arguments through both: `shardline sidecar ARGS` and `shardline-sidecar ARGS`.
    func both(_ arguments: String...) async throws -> (cli: CLITests.Run, lean: CLITests.Run) {
        let arguments = arguments
        let cli = try await offTheSharedThreads { try CLITests.runBlocking(["sidecar"] + arguments) }
        let lean = try await offTheSharedThreads { try CLITests.runBlocking(arguments, executable: Self.leanBinary) }
        return (cli, lean)
    }

    @Test func helpIsTheSameButForTheCommandName() async throws {
        let (cli, lean) = try await both("--help")
        #expect(cli.status == 0)
        #expect(lean.status == 0)
        #expect(lean.stdout.contains("USAGE: shardline-sidecar --config <file>"))
        #expect(lean.stdout.contains("--config-poll-ms <ms>"))
        #expect(cli.stdout.replacingOccurrences(of: "shardline sidecar --config", with: "shardline-sidecar --config") == lean.stdout)
    }

    @Test(arguments: [
        (["--config", "c.yaml", "--listen", "localhost"], "--listen 'localhost' is not HOST:PORT"),
        (["--config", "c.yaml", "--admin", "15090"], "--admin '15090' is not HOST:PORT"),
        (["--config", "c.yaml", "--log-level", "loud"], "--log-level 'loud' is not a level"),
        (["--config", "c.yaml", "--config-poll-ms", "3600001"], "--config-poll-ms must be in 0...3600000"),
        (["--config", "c.yaml", "--threads", "0"], "--threads must be in 1...256"),
        (["--listen", "127.0.0.1:15001"], "Missing expected argument '--config <file>'"),
    ])
    func badFlagsAreRefusedAlikeBeforeStarting(arguments: [String], message: String) async throws {
        let cli = try await offTheSharedThreads { try CLITests.runBlocking(["sidecar"] + arguments) }
        let lean = try await offTheSharedThreads { try CLITests.runBlocking(arguments, executable: Self.leanBinary) }
        #expect(cli.status == 64)
        #expect(lean.status == 64)
        #expect(cli.stderr.contains(message), "\(cli.stderr)")
        #expect(lean.stderr.contains(message), "\(lean.stderr)")
        #expect(cli.stderr.split(separator: "\n").first == lean.stderr.split(separator: "\n").first)
    }

    /// Past the flags, the run itself: an invalid config exits 1 with the field named, from both.
    @Test func anInvalidConfigExitsOneNamingTheFieldFromBoth() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-lean-\(UUID().uuidString).yaml").path
        try "services:\n  - name: users\n    hosts: [users]\n    pattern: '^/users/([^/]*)/'\n    replicas: 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (cli, lean) = try await both("--config", path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
        #expect(cli.status == 1)
        #expect(lean.status == 1)
        #expect(lean.stderr.contains("services[0].replicas"), "\(lean.stderr)")
        #expect(cli.stderr == lean.stderr)
    }
}
