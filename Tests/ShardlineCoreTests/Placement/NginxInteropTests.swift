// Proof that the nginx-ketama placement is nginx's: a real nginx proxies 10,000 keys through
// `hash $key consistent` and reports which upstream it picked; every pick must equal
// Placement(algorithm: .nginxKetama, serverNames: <the same server strings>).
//
// Skipped when no nginx binary exists, unless SHARDLINE_REQUIRE_PEERS=1, which turns a missing
// nginx into a failure (CI sets it so the proof can never silently not run).

// Linux only (Glibc sockets and posix_spawn); Shardline's CI and containers are Linux.
#if os(Linux)
import Glibc
import ShardlineTestSupport
import Testing
@testable import ShardlineCore

@Suite(.serialized) struct NginxInteropTests {
    static let nginxPath: String? = NginxProcess.findBinary()
    static let peersRequired: Bool = getenv("SHARDLINE_REQUIRE_PEERS").map { String(cString: $0) } == "1"

    enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Three `server 127.0.0.1:PORT;` lines.
        case threeLoopbackServers
        /// Seven `server 127.0.0.1:PORT;` lines.
        case sevenLoopbackServers
        /// Host names nginx resolves (`localhost:PORT`, hashed as written, not as 127.0.0.1), a
        /// `unix:` socket (hashed without the prefix and with an empty port), and, when port 80 on
        /// a spare loopback address can be bound, a port-less `127.x.y.z` (the string has no
        /// `:digits` suffix, so the whole string is the host).
        case mixedServerNames
        /// Two servers whose rings share a point, listed in both orders: nginx keeps the point of
        /// the server listed first (its qsort is glibc's stable merge sort), as Placement does.
        case sharedPointFirstOrder
        case sharedPointSecondOrder

        var testDescription: String { rawValue }
    }

    @Test(
        .enabled(
            if: nginxPath != nil || peersRequired,
            "no nginx binary (install nginx, or set SHARDLINE_REQUIRE_PEERS=1 to make this a failure)"),
        arguments: Scenario.allCases)
    func nginxPicksTheSameServerForEveryKey(_ scenario: Scenario) async throws {
        guard let nginxPath = Self.nginxPath else {
            Issue.record(
                "SHARDLINE_REQUIRE_PEERS=1 but no nginx binary was found on PATH or at /usr/sbin/nginx; install it (e.g. `apt-get install -y nginx`) so the nginx-ketama interoperability proof runs")
            return
        }
        // nginx is started, asked and stopped over blocking sockets, for seconds per scenario:
        // on a thread of its own, not one of Swift concurrency's few shared ones.
        let run = try await BlockingWork.run { try Self.askNginx(scenario, nginxPath: nginxPath) }
        let (setup, keys, mismatches, shardCounts) = (run.setup, run.keys, run.mismatches, run.shardCounts)
        let placement = Placement(algorithm: .nginxKetama, serverNames: setup.serverNames)

        #expect(
            mismatches.isEmpty,
            "\(mismatches.count) of \(keys.count) keys placed differently from nginx; first: \(mismatches.prefix(5).joined(separator: "; "))")
        // Every server got traffic, so every server's points were exercised.
        #expect(!shardCounts.contains(0), "per-server key counts \(shardCounts)")
        // The keys aimed at the shared point reach nginx's choice for it: the server listed first.
        let strayTargets = setup.targetedKeys.filter { placement.shard(forKeyText: $0) != 0 }
        #expect(strayTargets.isEmpty, "\(strayTargets.count) keys on the shared point are not placed on the first server")
        if scenario == .mixedServerNames {
            // The test can tell names apart: hashing the resolved addresses instead of the server
            // strings as written would disagree with nginx.
            let resolvedNames = setup.serverNames.map { setup.upstreamAddress(forServerName: $0) }
            let resolved = Placement(algorithm: .nginxKetama, serverNames: resolvedNames)
            #expect(keys.contains { resolved.shard(forKeyText: $0) != placement.shard(forKeyText: $0) })
        }
    }

    /// What nginx answered for every key of `scenario`, against what `Placement` says.
    struct NginxRun: Sendable {
        var setup: UpstreamSetup
        var keys: [String]
        var mismatches: [String]
        var shardCounts: [Int]
    }

    /// Starts nginx for `scenario`, sends every key through it in pipelined batches and stops it.
    /// Blocking throughout; expectations are the caller's.
    static func askNginx(_ scenario: Scenario, nginxPath: String) throws -> NginxRun {
        let directory = try TemporaryDirectory()
        let setup = try UpstreamSetup(scenario, directory: directory.path)
        let keys = setup.targetedKeys + InteropKeys.generate(count: 10_000, seed: 0x6E67_696E_78)

        let nginx = try NginxProcess(binary: nginxPath, directory: directory.path, setup: setup)
        defer { nginx.stop() }

        let placement = Placement(algorithm: .nginxKetama, serverNames: setup.serverNames)
        let connection = try HTTPConnection(port: setup.frontPort)
        defer { connection.close() }

        var mismatches: [String] = []
        var shardCounts = [Int](repeating: 0, count: setup.serverNames.count)
        let batchSize = 100
        var batchStart = 0
        while batchStart < keys.count {
            let batch = keys[batchStart..<min(batchStart + batchSize, keys.count)]
            var requests: [UInt8] = []
            for key in batch {
                requests += Array("GET /c/\(key) HTTP/1.1\r\nHost: shardline.test\r\n\r\n".utf8)
            }
            try connection.send(requests)
            for key in batch {
                let response = try connection.readResponse()
                let expected = placement.shard(forKeyText: key)
                shardCounts[expected] += 1
                let upstream = response.headers["x-upstream"] ?? "<no X-Upstream header>"
                let actual = setup.ordinalByUpstreamAddress[upstream]
                if response.status != 200 || actual != expected {
                    mismatches.append(
                        "key \"\(key)\": nginx answered \(response.status) via \(upstream), Placement says \(setup.serverNames[expected])")
                }
            }
            batchStart += batchSize
        }
        return NginxRun(setup: setup, keys: keys, mismatches: mismatches, shardCounts: shardCounts)
    }
}

/// Varied keys that survive nginx's `$uri` normalisation unchanged: no `%`, `/`, `?`, `#`, and no
/// leading dot (so never "." or "..").
enum InteropKeys {
    static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    static let punctuated = alphanumerics + Array("-_~.!*@,;=:+$&'()".utf8)

    static func generate(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        func pick(_ alphabet: [UInt8], _ length: Int) -> String {
            var bytes = [alphanumerics[Int(random.next() % UInt64(alphanumerics.count))]]
            while bytes.count < length { bytes.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
            return String(decoding: bytes, as: UTF8.self)
        }
        let utf8Words = ["ключ", "clé", "東京", "straße", "😀"]
        return (0..<count).map { index in
            switch index % 6 {
            case 0: return TestKeys.hex16(random.next())
            case 1: return String(random.next() % 10_000_000_000)
            case 2: return pick(punctuated, 64 + Int(random.next() % 180))
            case 3: return pick(punctuated, 1 + Int(random.next() % 8))
            case 4: return "user-\(random.next() % 1_000_000)"
            default: return utf8Words[index / 6 % utf8Words.count] + "-" + pick(alphanumerics, 1 + Int(random.next() % 12))
            }
        }
    }
}

/// The upstream servers of one scenario: their `server` strings, what each backend listens on, and
/// how nginx reports each in `$upstream_addr`.
struct UpstreamSetup {
    var serverNames: [String] = []
    var listenAddresses: [String] = []
    var ordinalByUpstreamAddress: [String: Int] = [:]
    var frontPort: Int
    /// Keys whose CRC lands on a point two servers share (sharedPoint scenarios only).
    var targetedKeys: [String] = []

    init(_ scenario: NginxInteropTests.Scenario, directory: String) throws {
        var ports = try FreePorts.reserve(count: 9)
        frontPort = ports.removeLast()
        switch scenario {
        case .threeLoopbackServers, .sevenLoopbackServers:
            for port in ports.prefix(scenario == .threeLoopbackServers ? 3 : 7) {
                add(server: "127.0.0.1:\(port)", listen: "127.0.0.1:\(port)")
            }
        case .mixedServerNames:
            add(server: "localhost:\(ports[0])", listen: "127.0.0.1:\(ports[0])")
            add(server: "127.0.0.1:\(ports[1])", listen: "127.0.0.1:\(ports[1])")
            add(server: "unix:\(directory)/backend2.sock", listen: "unix:\(directory)/backend2.sock")
            add(server: "localhost:\(ports[3])", listen: "127.0.0.1:\(ports[3])")
            if let address = FreePorts.spareLoopbackAddressWithPort80() {
                add(server: address, listen: "\(address):80")
            }
        case .sharedPointFirstOrder, .sharedPointSecondOrder:
            let pair = try Self.freeCollidingPair()
            let servers = ["127.0.0.1:\(pair.first)", "127.0.0.1:\(pair.second)"]
            for server in scenario == .sharedPointFirstOrder ? servers : servers.reversed() {
                add(server: server, listen: server)
            }
            targetedKeys = try Self.keys(landingOn: pair.pointHash, serverNames: serverNames)
        }
    }

    func upstreamAddress(forServerName name: String) -> String {
        if name.hasPrefix("unix:") { return name }
        if name.hasPrefix("localhost:") { return "127.0.0.1:" + name.dropFirst("localhost:".count) }
        if !name.contains(":") { return name + ":80" }
        return name
    }

    private mutating func add(server: String, listen: String) {
        ordinalByUpstreamAddress[upstreamAddress(forServerName: server)] = serverNames.count
        serverNames.append(server)
        listenAddresses.append(listen)
    }

    private static func freeCollidingPair() throws -> (first: Int, second: Int, pointHash: UInt32) {
        for pair in GeneratedVectors.nginxCollidingPortPairs
        where FreePorts.isFree(pair.first) && FreePorts.isFree(pair.second) {
            return pair
        }
        throw InteropError("none of the \(GeneratedVectors.nginxCollidingPortPairs.count) port pairs with a shared ring point is free on 127.0.0.1")
    }

    /// Random keys whose CRC falls between the shared point's predecessor (exclusive) and the
    /// shared point (inclusive), so they land on it.
    private static func keys(landingOn pointHash: UInt32, serverNames: [String]) throws -> [String] {
        let ring = NginxKetamaRing(serverNames: serverNames)
        guard let index = ring.pointHashes.firstIndex(of: pointHash) else {
            throw InteropError("the servers \(serverNames) do not share the point \(pointHash)")
        }
        let predecessor = index == 0 ? ring.pointHashes[ring.pointHashes.count - 1] : ring.pointHashes[index - 1]
        var random = SplitMix64(seed: UInt64(pointHash))
        var keys: [String] = []
        for _ in 0..<5_000_000 where keys.count < 100 {
            let key = "hit-" + TestKeys.hex16(random.next())
            let crc = CRC32.checksum(key)
            let lands = predecessor < pointHash
                ? (crc > predecessor && crc <= pointHash)
                : (crc > predecessor || crc <= pointHash)
            if lands { keys.append(key) }
        }
        guard keys.count == 100 else {
            throw InteropError("found only \(keys.count) keys landing on the shared point \(pointHash)")
        }
        return keys
    }
}

struct InteropError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Loopback ports nobody listens on, found by letting the kernel pick.
enum FreePorts {
    static func reserve(count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { _ = Glibc.close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let socket = try boundSocket(address: "127.0.0.1", port: 0)
            sockets.append(socket)
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }

    static func isFree(_ port: Int, address: String = "127.0.0.1") -> Bool {
        guard let socket = try? boundSocket(address: address, port: port) else { return false }
        _ = Glibc.close(socket)
        return true
    }

    /// A loopback address other than 127.0.0.1 whose port 80 can be bound (needs root), for a
    /// `server` line without a port.
    static func spareLoopbackAddressWithPort80() -> String? {
        ["127.83.72.11", "127.83.72.12", "127.83.72.13"].first { isFree(80, address: $0) }
    }

    static func boundSocket(address: String, port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw InteropError("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, address, &socketAddress.sin_addr)
        let result = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            _ = Glibc.close(socket)
            throw InteropError("bind(\(address):\(port)) failed: errno \(errno)")
        }
        return socket
    }
}

/// A scratch directory under /tmp, removed with its contents on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/shardline-nginx-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw InteropError("mkdtemp failed: errno \(errno)")
        }
        path = String(cString: created)
    }

    deinit { Self.remove(path) }

    private static func remove(_ path: String) {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let child = path + "/" + name
                var status = stat()
                if lstat(child, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR {
                    remove(child)
                } else {
                    unlink(child)
                }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

/// One nginx in the foreground (no daemon, no master process) serving the scenario: a backend
/// `server` block per upstream answering 200, and a front that hashes `$key` consistently.
final class NginxProcess {
    let pid: pid_t
    let errorLogPath: String

    static func findBinary() -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/nginx" } + ["/usr/sbin/nginx"]
        return candidates.first { access($0, X_OK) == 0 }
    }

    init(binary: String, directory: String, setup: UpstreamSetup) throws {
        errorLogPath = "\(directory)/error.log"
        let configPath = "\(directory)/nginx.conf"
        try Self.write(Self.configuration(directory: directory, setup: setup), to: configPath)

        let arguments = [binary, "-p", directory + "/", "-e", errorLogPath, "-c", configPath]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The test runner may block or ignore signals, and a spawned process inherits both; nginx
        // in single-process mode would then never see the SIGTERM that stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var spawned: pid_t = 0
        let result = posix_spawn(&spawned, binary, nil, &attributes, &argv, environ)
        guard result == 0 else { throw InteropError("posix_spawn(\(binary)) failed: \(result)") }
        pid = spawned

        // Ready once the front accepts connections; nginx binds every listener before serving.
        for _ in 0..<250 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw InteropError("nginx exited during start-up (status \(status)); error log:\n\(Self.read(errorLogPath))")
            }
            if let probe = try? HTTPConnection(port: setup.frontPort) {
                probe.close()
                return
            }
            usleep(20_000)
        }
        stop()
        throw InteropError("nginx did not accept connections on 127.0.0.1:\(setup.frontPort) within 5 s; error log:\n\(Self.read(errorLogPath))")
    }

    static func configuration(directory: String, setup: UpstreamSetup) -> String {
        let upstreamServers = setup.serverNames.map { "        server \($0);" }.joined(separator: "\n")
        let backends = setup.listenAddresses.map {
            "    server { listen \($0); access_log off; location / { return 200 \"ok\\n\"; } }"
        }.joined(separator: "\n")
        // Running as root, nginx would otherwise try to switch to an unprivileged user.
        let user = geteuid() == 0 ? "user root;\n" : ""
        return """
            \(user)daemon off;
            master_process off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log warn;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path \(directory)/client_body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                map $uri $key { "~^/c/(?<k>[^/]+)" $k; }
                upstream shards {
                    hash $key consistent;
            \(upstreamServers)
                    keepalive 8;
                }
                server {
                    listen 127.0.0.1:\(setup.frontPort);
                    keepalive_requests 1000000;
                    location / {
                        proxy_pass http://shards;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_next_upstream off;
                        add_header X-Upstream $upstream_addr always;
                    }
                }
            \(backends)
            }

            """
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw InteropError("cannot write \(path): errno \(errno)") }
        defer { fclose(file) }
        fputs(text, file)
    }

    static func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "<no \(path)>" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A blocking HTTP/1.1 client on one keep-alive connection: enough to pipeline GETs and read
/// status, headers and a Content-Length body.
final class HTTPConnection {
    private let socket: Int32
    private var buffer: [UInt8] = []
    private var readIndex = 0

    struct Response {
        var status: Int
        /// Header values by lowercased name.
        var headers: [String: String]
    }

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw InteropError("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            _ = Glibc.close(socket)
            throw InteropError("connect(127.0.0.1:\(port)) failed: errno \(error)")
        }
    }

    func close() { _ = Glibc.close(socket) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw InteropError("send failed: errno \(errno)") }
            offset += written
        }
    }

    func readResponse() throws -> Response {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw InteropError("malformed status line \"\(statusLine)\"")
        }
        var headers: [String: String] = [:]
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw InteropError("malformed header \"\(line)\"") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers[name] = String(value)
        }
        guard let length = headers["content-length"].flatMap({ Int($0) }) else {
            throw InteropError("response without Content-Length: \(headers)")
        }
        try fill(atLeast: length)
        readIndex += length
        return Response(status: status, headers: headers)
    }

    private func readLine() throws -> String {
        while true {
            if let end = buffer[readIndex...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[readIndex..<end]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                readIndex = end + 1
                return String(decoding: line, as: UTF8.self)
            }
            try receive()
        }
    }

    private func fill(atLeast count: Int) throws {
        while buffer.count - readIndex < count { try receive() }
    }

    private func receive() throws {
        if readIndex > 65_536 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let received = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard received > 0 else {
            throw InteropError(received == 0 ? "nginx closed the connection" : "recv failed: errno \(errno)")
        }
        buffer += chunk[0..<received]
    }
}
#endif
