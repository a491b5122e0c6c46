import Foundation
import ShardlineCore
@testable import ShardlineInject
import Testing

/// `shardline inject`, `shardline certs` and the webhook's flags, run as a user would.
@Suite("shardline inject / certs / webhook (CLI)")
struct InjectCLITests {
    static let deployment = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: users-client}
    spec:
      selector: {matchLabels: {app: c}}
      template:
        metadata:
          labels: {app: c}
          annotations: {shardline.io/inject: enabled}
        spec:
          containers: [{name: app, image: app:1}]
    """

    func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-inject-\(UUID().uuidString).yaml").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsStdinAndFilesInOrderAndReportsOnStderr() async throws {
        let service = try temporaryFile("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
        defer { try? FileManager.default.removeItem(atPath: service) }
        let run = try await Binary.run(["inject", "-f", service, "-f", "-", "--image", "reg/shardline:7", "--sidecar-mode", "container"], stdin: Self.deployment)
        #expect(run.status == 0, "\(run.stderr)")
        let documents = run.stdout.components(separatedBy: "---\n")
        #expect(documents.count == 2)
        #expect(documents[0].contains("kind: Service"))
        #expect(documents[1].contains("image: reg/shardline:7"))
        #expect(!documents[1].contains("initContainers"))
        #expect(run.stderr.contains("stdin, document 1 (line 1): Deployment users-client spec.template: injected"))
        // Piping the output through again changes nothing.
        let again = try await Binary.run(["inject", "--image", "reg/shardline:7", "--sidecar-mode", "container"], stdin: run.stdout)
        #expect(again.status == 0)
        #expect(again.stdout == run.stdout)
    }

    @Test func anErrorWritesNothingToStdoutAndExits1() async throws {
        let good = try temporaryFile(Self.deployment)
        defer { try? FileManager.default.removeItem(atPath: good) }
        let bad = try temporaryFile("apiVersion: v1\nkind: Pod\nmetadata: {name: a\n")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let run = try await Binary.run(["inject", "-f", good, "-f", bad])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("shardline inject: \(bad), document 1 (line "))
        #expect(run.stderr.contains("invalid YAML"))

        let unknown = try await Binary.run(["inject"], stdin: Self.deployment + "\n---\napiVersion: x/v1\nkind: Widget\n")
        #expect(unknown.status == 1)
        #expect(unknown.stdout.isEmpty)
        #expect(unknown.stderr.contains("stdin, document 2 (line 13): unknown kind 'Widget'"))

        let missing = try await Binary.run(["inject", "-f", "/nonexistent.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read '/nonexistent.yaml'"))
    }

    @Test func badFlagsAreRefusedBeforeAnyWork() async throws {
        let level = try await Binary.run(["inject", "--sidecar-log-level", "loud"], stdin: Self.deployment)
        #expect(level.status != 0)
        #expect(level.stderr.contains("--sidecar-log-level 'loud'"))
        let memory = try await Binary.run(["inject", "--memory-limit", "lots"], stdin: Self.deployment)
        #expect(memory.status != 0)
        #expect(memory.stderr.contains("--memory-limit 'lots'"))
        let mode = try await Binary.run(["inject", "--sidecar-mode", "sidecar"], stdin: Self.deployment)
        #expect(mode.stderr.contains("--sidecar-mode must be native or container"))
        let listen = try await Binary.run(["webhook", "--cert", "c", "--key", "k", "--listen", "nowhere"])
        #expect(listen.status != 0)
        #expect(listen.stderr.contains("--listen 'nowhere' is not HOST:PORT"))
        let certs = try await Binary.run(["certs", "--service", "Bad_Name", "--namespace", "x", "--output", "/tmp/x"])
        #expect(certs.status != 0)
        #expect(certs.stderr.contains("--service 'Bad_Name' is not a DNS label"))
    }

    @Test func webhookExitsWithTheReasonWhenItsCertificateIsUnreadable() async throws {
        let run = try await Binary.run(["webhook", "--cert", "/nonexistent/tls.crt", "--key", "/nonexistent/tls.key", "--listen", "127.0.0.1:0"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("cannot read the certificate (--cert) '/nonexistent/tls.crt'"))
    }

    @Test func theExampleClientIsAnAnnotatedDeploymentThatInjectTurnsIntoANativeSidecarPod() async throws {
        let run = try await Binary.run(["inject", "-f", "manifests/example/client-deployment.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("restartPolicy: Always"))
        #expect(run.stdout.contains("http_proxy"))
        #expect(run.stdout.contains("shardline.io/injected: 0.1.0"))
    }
}
