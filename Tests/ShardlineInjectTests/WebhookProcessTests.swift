import Foundation
import NIOCore
import NIOPosix
import ShardlineCore
@testable import ShardlineInject
import Testing

/// `shardline webhook` as the container runs it: JSON log lines on stdout, an admission answered
/// over TLS, and SIGTERM ending it with exit 0 (the sidecar's ServiceGroup signal handling).
@Suite("shardline webhook process")
struct WebhookProcessTests {
    @Test func logsJSONAnswersOverTLSAndExitsZeroOnSIGTERM() async throws {
        let certificates = try await WebhookTLSTests.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates) }
        let process = Process()
        process.executableURL = Binary.url
        process.arguments = [
            "webhook", "--cert", certificates.appendingPathComponent("tls.crt").path,
            "--key", certificates.appendingPathComponent("tls.key").path, "--listen", "127.0.0.1:0",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // Reading the pipe blocks; a webhook that hangs silently is killed, which ends the reads.
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            kill(pid, SIGKILL)
        }
        defer { watchdog.cancel() }

        // The first log line says where it listens (port 0: the kernel picked one).
        let lines = LineReader(handle: output.fileHandleForReading)
        var port: Int?
        let deadline = ContinuousClock.now + .seconds(30)
        while port == nil, ContinuousClock.now < deadline, let line = await lines.nextOffThePool() {
            let entry = try JSONParser.parse(line)
            #expect(entry["ts"]?.stringValue != nil && entry["level"]?.stringValue != nil, "not a JSON log line: \(line)")
            if entry["msg"]?.stringValue == "webhook listening" {
                port = entry["address"]?.stringValue.flatMap(HostPort.init(parsing:))?.port
            }
        }
        let listening = try #require(port)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let context = try WebhookTLSTests.clientContext(trusting: certificates)
        let answer = try await WebhookTLSTests.request(.POST, "/mutate", body: try Repo.fixture("deployment-opt-in"), port: listening, context: context, group: group)
        #expect(answer.status == 200)
        #expect(try JSONParser.parse(answer.body).value(at: ["response", "patchType"]) == .string("JSONPatch"))
        try await group.shutdownGracefully()

        kill(process.processIdentifier, SIGTERM)
        let exitDeadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < exitDeadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        var rest: [String] = []
        while let line = await lines.nextOffThePool() { rest.append(line) }
        #expect(rest.contains { $0.contains(#""msg":"admission""#) && $0.contains(#""outcome":"injected""#) && $0.contains(#""object":"Deployment team-a/users-client""#) })
        #expect(rest.last?.contains(#""msg":"stopped""#) == true)
    }
}

/// Lines from a pipe, read as they arrive (ends at end of file).
final class LineReader: @unchecked Sendable {
    /// `next()` on a Dispatch thread, so a blocking read never holds a cooperative thread.
    func nextOffThePool() async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.next()) }
        }
    }

    private let handle: FileHandle
    private var buffer = Data()

    init(handle: FileHandle) {
        self.handle = handle
    }

    func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer.append(chunk)
        }
    }
}
