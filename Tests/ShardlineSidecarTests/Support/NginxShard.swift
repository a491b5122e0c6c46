import Foundation
import NIOCore
import NIOPosix

/// A real nginx as a shard pod, for behaviour only a real server shows (its keep-alive timeout,
/// answering before it reads a body). Every request gets `return 200` with the shard's name.
/// Started in a temporary folder; `stop()` ends it.
final class NginxShard: Sendable {
    let port: Int
    private let process: Process
    private let folder: URL

    /// Where nginx is, if it is installed.
    static let binary: String? = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Missing peers are a failure under SHARDLINE_REQUIRE_PEERS=1 (CI), a skip elsewhere.
    static let peersRequired = ProcessInfo.processInfo.environment["SHARDLINE_REQUIRE_PEERS"] == "1"

    private init(port: Int, process: Process, folder: URL) {
        self.port = port
        self.process = process
        self.folder = folder
    }

    /// - Parameter keepalive: nginx's `keepalive_timeout` and `keepalive_requests` lines.
    static func start(name: String, keepaliveTimeout: String, keepaliveRequests: Int = 100) async throws -> NginxShard {
        guard let binary else { throw HarnessError("nginx is not installed") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // nginx workers run as an unprivileged user and create their temp folders here.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        let port = try await freePort()
        let path = folder.path
        let config = """
            worker_processes 1;
            daemon off;
            pid \(path)/nginx.pid;
            error_log \(path)/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(path)/body;
                proxy_temp_path \(path)/proxy;
                fastcgi_temp_path \(path)/fastcgi;
                uwsgi_temp_path \(path)/uwsgi;
                scgi_temp_path \(path)/scgi;
                keepalive_timeout \(keepaliveTimeout);
                keepalive_requests \(keepaliveRequests);
                server {
                    listen 127.0.0.1:\(port);
                    location / { default_type text/plain; return 200 "\(name)\\n"; }
                }
            }
            """
        try config.write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", path, "-c", "\(path)/nginx.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let shard = NginxShard(port: port, process: process, folder: folder)
        // Up when it accepts a connection; bounded.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await TestHTTPConnection.request(port: port, "/")) != nil { return shard }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        shard.stop()
        throw HarnessError("nginx did not start on port \(port)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// A port nothing listens on now (bound and released; nginx binds it right after).
    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}
