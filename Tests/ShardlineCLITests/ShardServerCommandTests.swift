import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `shardline shard-server` as the demo and the e2e scripts run it: a real process on loopback.
@Suite("shardline shard-server")
struct ShardServerCommandTests {
    let cli = CLITests()

    static let config = """
    services:
      - name: users
        hosts: [users]
        pattern: '^/users/([^/]+)'
        endpoints: ["127.0.0.1:1", "127.0.0.1:2"]
    """

    @Test("--help teaches the protocol and the options")
    func help() async throws {
        let run = try await cli.shardline("shard-server", "--help")
        #expect(run.status == 0)
        for text in ["421", "x-shardline-owner", "x-shardline-previous-shard", "--ordinal", "--listen", "users-2"] {
            #expect(run.stdout.contains(text), "help lacks \(text)")
        }
    }

    @Test("bad options and files are refused with a message naming them")
    func badInputs() async throws {
        let path = try cli.temporaryFile(Self.config)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let leadingZero = try await cli.shardline("shard-server", "--config", path, "--ordinal", "01")
        #expect(leadingZero.status != 0)
        #expect(leadingZero.stderr.contains("leading zero"))
        let badListen = try await cli.shardline("shard-server", "--config", path, "--ordinal", "0", "--listen", "nowhere")
        #expect(badListen.status != 0)
        #expect(badListen.stderr.contains("--listen"))
        let delayAlone = try await cli.shardline("shard-server", "--config", path, "--ordinal", "0", "--test-delay-ms", "100")
        #expect(delayAlone.status != 0)
        #expect(delayAlone.stderr.contains("--test-endpoints"))
        let delayTooLong = try await cli.shardline("shard-server", "--config", path, "--ordinal", "0", "--test-endpoints", "--test-delay-ms", "70000")
        #expect(delayTooLong.status != 0)
        #expect(delayTooLong.stderr.contains("--test-delay-ms"))
        let missing = try await cli.shardline("shard-server", "--config", "/nonexistent/shardline.yaml", "--ordinal", "0")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent/shardline.yaml"))
        let invalid = try cli.temporaryFile(Self.config + "\n    previous: {replicas: 2}\n")
        defer { try? FileManager.default.removeItem(atPath: invalid) }
        let refused = try await cli.shardline("shard-server", "--config", invalid, "--ordinal", "0")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("services[0].previous.replicas"))
    }

    @Test("serves its own keys, answers 421 for the other shard's, and exits 0 on SIGTERM")
    func servesAndRefuses() async throws {
        let path = try cli.temporaryFile(Self.config)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = ["shard-server", "--config", path, "--ordinal", "0", "--listen", "127.0.0.1:0", "--log-level", "error"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let firstLine = FirstLine()
        out.fileHandleForReading.readabilityHandler = { handle in firstLine.append(handle.availableData) }
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let line = try #require(try await offTheSharedThreads { firstLine.wait(seconds: 30) }, "no 'listening on' line within 30 s")
        out.fileHandleForReading.readabilityHandler = nil
        #expect(line.hasPrefix("listening on 127.0.0.1:") && line.hasSuffix(" shard 0"), "\(line)")
        let port = try #require(Int(line.split(separator: " ")[2].split(separator: ":")[1]))

        var own = 0, refused = 0
        for index in 0..<20 {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/users/k\(index)/v")!)
            request.httpMethod = "PUT"
            request.httpBody = Data("v\(index)".utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            if http.statusCode == 204 {
                own += 1
                let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/users/k\(index)/v")!)
                #expect(String(decoding: body, as: UTF8.self) == "v\(index)")
            } else {
                refused += 1
                #expect(http.statusCode == 421)
                #expect(http.value(forHTTPHeaderField: "x-shardline-owner") == "1")
                #expect(http.value(forHTTPHeaderField: "x-shardline-topology")?.count == 16)
            }
        }
        #expect(own > 0 && refused > 0, "own \(own), refused \(refused)")

        process.terminate()
        let exited = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            process.waitUntilExit()
            exited.signal()
        }
        #expect(exited.wait(timeout: .now() + 20) == .success, "no exit within 20 s of SIGTERM")
        #expect(process.terminationStatus == 0)
    }
}

/// Collects a child's stdout until its first newline; `wait` is bounded.
final class FirstLine: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var line: String?
    private let ready = DispatchSemaphore(value: 0)

    func append(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        guard line == nil else { return }
        buffer.append(data)
        if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            line = String(decoding: buffer[..<newline], as: UTF8.self)
            ready.signal()
        }
    }

    func wait(seconds: Int) -> String? {
        guard ready.wait(timeout: .now() + .seconds(seconds)) == .success else { return nil }
        lock.lock()
        defer { lock.unlock() }
        return line
    }
}
