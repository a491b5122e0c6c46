/// The whole Shardline configuration: one YAML document, shared by the sidecar and the SDK, small
/// enough to live in a ConfigMap. Every field has a default except what identifies a service and
/// its shards, so a minimal file is a few lines. Built only through `ConfigLoader`, which validates.
public struct ShardlineConfig: Sendable, Equatable {
    public var services: [ServiceConfig]
    public var sidecar: SidecarSettings

    public init(services: [ServiceConfig], sidecar: SidecarSettings = SidecarSettings()) {
        self.services = services
        self.sidecar = sidecar
    }
}

/// One sharded service: how requests are recognised as its own, where the shard key comes from,
/// and which pods hold the shards.
public struct ServiceConfig: Sendable, Equatable {
    public var name: String
    /// Host header values that select this service, compared case-insensitively without the port.
    public var hosts: [String]
    /// A local listener port whose requests all belong to this service, whatever their Host.
    public var listenPort: Int?
    public var key: KeySource
    public var onMiss: OnMiss
    public var algorithm: PlacementAlgorithm
    public var topology: ServiceTopology
    /// Longer request targets are refused before any matching (HTTP 414), so a hostile path
    /// cannot make key extraction expensive.
    public var maxPathBytes: Int
    /// The placement before a resharding that is still in progress (`previous:`), so that a key's
    /// new owner can read through from its previous owner until the operator removes it.
    public var previous: PreviousPlacement?

    public static let defaultMaxPathBytes = 8192

    public init(
        name: String,
        hosts: [String] = [],
        listenPort: Int? = nil,
        key: KeySource,
        onMiss: OnMiss = .hashPath,
        algorithm: PlacementAlgorithm = .jump,
        topology: ServiceTopology,
        maxPathBytes: Int = ServiceConfig.defaultMaxPathBytes,
        previous: PreviousPlacement? = nil
    ) {
        self.name = name
        self.hosts = hosts
        self.listenPort = listenPort
        self.key = key
        self.onMiss = onMiss
        self.algorithm = algorithm
        self.topology = topology
        self.maxPathBytes = maxPathBytes
        self.previous = previous
    }
}

/// A service's placement before a resharding: the algorithm and shards it had. The key source and
/// `onMiss` are the current ones (a resharding changes where keys live, not what a key is), and a
/// StatefulSet keeps its names and port, so only the shard count (or the endpoint list) and the
/// algorithm can differ.
public struct PreviousPlacement: Sendable, Equatable {
    public var algorithm: PlacementAlgorithm
    public var topology: ServiceTopology

    public init(algorithm: PlacementAlgorithm, topology: ServiceTopology) {
        self.algorithm = algorithm
        self.topology = topology
    }
}

/// Where a request's shard key comes from.
public enum KeySource: Sendable, Equatable {
    /// The first capture group of a pattern matched against the raw path (Metaparticle's
    /// `URLShardPattern`), percent-decoded after capture.
    case pattern(PathPattern)
    /// The value of a request header (case-insensitive name), as sent.
    case header(String)
    /// The value of a query parameter, percent-decoded with `+` read as a space.
    case query(String)
}

/// What happens when a request carries no key (the pattern does not match, the group is empty,
/// the header or parameter is absent or empty).
public enum OnMiss: Sendable, Equatable {
    /// Hash the whole decoded path instead, as Metaparticle's sharder did.
    case hashPath
    /// Refuse the request (HTTP 400) and say which pattern did not match.
    case reject
    /// Send it to one fixed shard.
    case shard(Int)
}

/// Settings only the sidecar reads. The SDK ignores them, so one file serves both.
public struct SidecarSettings: Sendable, Equatable {
    public var listen: HostPort = HostPort(host: "127.0.0.1", port: 15001)
    public var admin: HostPort = HostPort(host: "127.0.0.1", port: 15090)
    public var connectTimeout: Duration = .seconds(1)
    public var responseHeaderTimeout: Duration = .seconds(30)
    /// A downstream client must finish its request head within this (408 otherwise).
    public var requestHeaderTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(60)
    public var drainTimeout: Duration = .seconds(20)
    public var maxConnectionsPerShard: Int = 256
    public var maxIdleConnectionsPerShard: Int = 64
    /// Extra attempts for a request that may safely be retried (see `RetryPolicy`).
    public var retries: Int = 1
    public var outlier: OutlierSettings = OutlierSettings()
    /// How often resolved shard addresses are refreshed even when connects succeed.
    public var dnsRefreshInterval: Duration = .seconds(1)
    public var maxHeaderBytes: Int = 16384
    public var accessLog: Bool = false
    public var logLevel: LogLevel = .info
    /// Lets the traffic listeners bind an address other than loopback. Off by default: a listener
    /// other pods can reach forwards their requests into the shards as this pod.
    public var allowRemoteClients: Bool = false

    public init() {}

    /// Why `listen` may not be used as it is, or nil. The `listenPort` listeners bind `listen`'s
    /// host too, so this one check covers every traffic listener.
    public var remoteClientsProblem: String? {
        guard !listen.isLoopback, !allowRemoteClients else { return nil }
        return "\(listen) is not a loopback address: every pod that can reach this one could send requests "
            + "through it (and through the `listenPort` listeners, which bind the same host) into the shards as this pod. "
            + "Listen on 127.0.0.1 or [::1] for the application in this pod; if other pods are meant to use this sidecar, "
            + "say so with `sidecar.allowRemoteClients: true`"
    }

    public enum LogLevel: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }
}

/// Outlier detection: a shard that fails `consecutiveFailures` times in a row is failed fast for an
/// ejection window that doubles on each repeat, up to `maxEjection`, and is probed to recover.
public struct OutlierSettings: Sendable, Equatable {
    public var consecutiveFailures: Int = 3
    public var baseEjection: Duration = .seconds(1)
    public var maxEjection: Duration = .seconds(30)
    public init() {}
}

/// A host and a port, `HOST:PORT` (IPv6 in brackets: `[::1]:15001`): a listen address, or where a
/// shard pod is reached (`PodAddress`).
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[V6]:PORT`; nil when either part is missing or the port is out of range.
    public init?(parsing text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String {
        var text = String()
        append(to: &text)
        return text
    }

    /// Appends `host:port` (`[v6]:port` for an IPv6 literal) to `text`, without a string of its
    /// own in between: the SDK writes it into every shard URL. The check is on bytes.
    public func append(to text: inout String) {
        let bracketed = host.utf8.contains(UInt8(ascii: ":"))
        if bracketed { text += "[" }
        text += host
        text += bracketed ? "]:" : ":"
        text += String(port)
    }

    /// Whether only this machine can connect: `localhost`, 127.0.0.0/8, `::1` (also IPv4-mapped).
    /// A name other than `localhost` may resolve to anything, so it does not count.
    public var isLoopback: Bool {
        let name = host.lowercasedASCII()
        if name == "localhost" || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let ipv4 = name.hasPrefix("::ffff:") ? String(name.dropFirst(7)) : name
        let octets = ipv4.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
