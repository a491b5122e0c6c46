import Foundation
import Synchronization

extension Ops {
    /// Locates the `shardline` executable the tests run as a subprocess: `SHARDLINE_BIN` if set,
    /// else the one built next to this test bundle (`swift test` builds every product into the same
    /// directory), else the newest `.build*/debug/shardline` under the package root.
    enum ShardlineBinary {
        static func path() throws -> String {
            let environment = ProcessInfo.processInfo.environment
            if let path = environment["SHARDLINE_BIN"], !path.isEmpty {
                guard FileManager.default.isExecutableFile(atPath: path) else {
                    throw OpsTestError("SHARDLINE_BIN=\(path) is not an executable file")
                }
                return path
            }
            let testBundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            let sibling = testBundle.deletingLastPathComponent().appendingPathComponent("shardline").path
            if FileManager.default.isExecutableFile(atPath: sibling) { return sibling }

            let packageRoot = URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            let scratchDirectories = (try? FileManager.default.contentsOfDirectory(atPath: packageRoot.path))?
                .filter { $0.hasPrefix(".build") } ?? []
            let candidates = scratchDirectories
                .map { packageRoot.appendingPathComponent($0).appendingPathComponent("debug/shardline").path }
                .filter { FileManager.default.isExecutableFile(atPath: $0) }
            let newest = candidates.max { modificationDate($0) < modificationDate($1) }
            guard let newest else {
                throw OpsTestError("""
                    no shardline executable: not next to the test bundle (\(sibling)) nor in \(packageRoot.path)/.build*/debug. \
                    Build it (swift build --product shardline) or set SHARDLINE_BIN.
                    """)
            }
            return newest
        }

        private static func modificationDate(_ path: String) -> Date {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
        }
    }

    /// `shardline sidecar` running as a child process, its stdout read as JSON log lines.
    final class SidecarSubprocess: @unchecked Sendable {
        let process = Process()
        private let output = OutputBuffer()
        private let errorOutput = OutputBuffer()

        init(arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: try ShardlineBinary.path())
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            // A crashing child must not leave the Swift backtracer holding our pipes open.
            environment["SWIFT_BACKTRACE"] = "enable=no"
            process.environment = environment
            let stdout = Pipe(), stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            stdout.fileHandleForReading.readabilityHandler = { [output] handle in output.append(handle.availableData) }
            stderr.fileHandleForReading.readabilityHandler = { [errorOutput] handle in errorOutput.append(handle.availableData) }
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        var standardError: String {
            errorOutput.text
        }

        /// Every complete stdout line so far.
        var lines: [String] {
            output.text.split(separator: "\n").map(String.init)
        }

        /// The JSON log lines so far, each parsed; a line that is not a JSON object throws.
        func logRecords() throws -> [[String: Any]] {
            try lines.map { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw OpsTestError("stdout line is not a JSON object: \(line)")
                }
                return object
            }
        }

        /// Waits for the first log record with message `message` (and matching `where`).
        func waitForLog(_ message: String, timeout: Duration = .seconds(15), where matches: @escaping ([String: Any]) -> Bool = { _ in true }) async throws -> [String: Any] {
            var found: [String: Any]?
            try await eventually(timeout: timeout, "log line '\(message)' from the sidecar; stderr: \(standardError)") {
                found = try logRecords().first { ($0["msg"] as? String) == message && matches($0) }
                return found != nil
            }
            return found!
        }

        /// The ports of the "ready" log line: the traffic listeners and the admin listener.
        func waitUntilReady() async throws -> (listeners: [Int], admin: Int) {
            let record = try await waitForLog("ready")
            let listeners = (record["listeners"] as? [String] ?? []).compactMap(Self.port)
            guard let admin = (record["admin"] as? String).flatMap(Self.port), !listeners.isEmpty else {
                throw OpsTestError("the ready line lacks addresses: \(record)")
            }
            return (listeners, admin)
        }

        func signal(_ signal: Int32) {
            kill(process.processIdentifier, signal)
        }

        /// Waits for the process to exit and returns its status; kills it after `timeout`.
        func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
            do {
                try await eventually(timeout: timeout, "the sidecar process to exit") { !process.isRunning }
            } catch {
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                throw error
            }
            return process.terminationStatus
        }

        /// Stops the process if a test left it running.
        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }

        private static func port(_ address: String) -> Int? {
            address.split(separator: ":").last.flatMap { Int($0) }
        }
    }

    /// Bytes a pipe's reader appends while the test reads them.
    final class OutputBuffer: Sendable {
        private let data = Mutex(Data())
        func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
        var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
    }
}
