import Foundation
import Synchronization

/// The real `shardline sidecar` binary as a child process: the one `swift test` builds next to the
/// test bundle (this target depends on the `shardline` product), or `SHARDLINE_BIN`.
final class SidecarBinary: Sendable {
    private let process: Process
    private let output: Output
    let port: Int

    private final class Output: Sendable {
        private let data = Mutex(Data())
        func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
        var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
    }

    static var path: String {
        if let path = ProcessInfo.processInfo.environment["SHARDLINE_BIN"], !path.isEmpty { return path }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("shardline").path
    }

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Starts the sidecar on `configPath` with ephemeral ports and waits for its "ready" log line.
    static func start(configPath: String) async throws -> SidecarBinary {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["sidecar", "--config", configPath, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let output = Output()
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = stdout
        stdout.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()

        var port: Int?
        do {
            try await eventually("the sidecar's ready line", timeout: .seconds(90)) {
                for line in output.text.split(separator: "\n") {
                    guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                          record["msg"] as? String == "ready",
                          let listener = (record["listeners"] as? [String])?.first else { continue }
                    port = listener.split(separator: ":").last.flatMap { Int($0) }
                }
                return port != nil || !process.isRunning
            }
        } catch {
            process.terminate()
            throw SDKTestError("\(error); sidecar output: \(output.text)")
        }
        guard let port else {
            throw SDKTestError("the sidecar exited: \(output.text)")
        }
        return SidecarBinary(process: process, output: output, port: port)
    }

    private init(process: Process, output: Output, port: Int) {
        self.process = process
        self.output = output
        self.port = port
    }

    var log: String { output.text }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
