/// Decides, for one HTTP request, which service it belongs to, its shard key, and the pod that
/// holds that shard. Built once per config generation and then only read, from any number of
/// threads; a lookup on the common path (key needs no decoding) allocates nothing.
///
/// The sidecar and the SDK both route through this type, which is what makes them agree.
public struct ShardRouter: Sendable {
    public let config: ShardlineConfig
    let services: [RoutedService]
    let hosts: HostTable
    let listenerPorts: [Int: Int]

    /// `config` must come from `ConfigLoader` (validated: every service has at least one shard).
    public init(config: ShardlineConfig) {
        self.config = config
        self.services = config.services.enumerated().map { RoutedService(index: $0.offset, config: $0.element) }
        var hostEntries: [(String, Int)] = []
        var ports: [Int: Int] = [:]
        for (index, service) in config.services.enumerated() {
            hostEntries += service.hosts.map { ($0, index) }
            if let port = service.listenPort { ports[port] = index }
        }
        self.hosts = HostTable(hostEntries)
        self.listenerPorts = ports
    }

    /// Routes a request.
    /// - Parameters:
    ///   - host: the Host header (a port in it is ignored); nil when absent.
    ///   - listenerPort: the local port the request arrived on, if the caller has listeners.
    ///   - target: the request target: origin-form (`/users/a?x=1`) or absolute-form
    ///     (`http://users/users/a`, whose authority then replaces the Host header, RFC 9112 3.2.2).
    ///   - header: looks up a request header by name (only called for `keyHeader` services); it
    ///     must return the first occurrence of a repeated header (SPEC.md section 4).
    ///   - defaultService: the service for a request with no Host at all (no Host header and an
    ///     origin-form target), for a caller bound to a config rather than serving traffic, such as
    ///     `shardline route` without `--host` (SPEC.md section 3, rule 3). A proxy passes nil: a
    ///     request without a Host is then `unknown_service`, never guessed.
    public func route(
        host: String?, listenerPort: Int? = nil, target: String,
        header: (String) -> String? = { _ in nil }, defaultService: Int? = nil
    ) -> Result<RouteDecision, RouteError> {
        var utf8Target = target
        return utf8Target.withUTF8 { bytes in
            guard let parsed = RequestTarget(bytes) else { return .failure(.invalidTarget) }
            let index: Int?
            if let listenerPort, let owner = listenerPorts[listenerPort] {
                index = owner
            } else if let authority = parsed.authority {
                index = hosts.lookup(UnsafeBufferPointer(rebasing: bytes[authority]))
            } else if let host {
                index = hosts.lookup(host)
            } else {
                index = defaultService.flatMap { services.indices.contains($0) ? $0 : nil }
            }
            guard let index else {
                let name = parsed.authority.map { String(decoding: bytes[$0], as: UTF8.self) } ?? host
                return .failure(RouteError(code: .unknownService, message: "no sharded service is configured for host \(name.map { "'\($0)'" } ?? "(no Host header)")"))
            }
            return route(service: index, target: target, bytes: bytes, parsed: parsed, header: header)
        }
    }

    /// The service a request belongs to: its listener port's service if it has one, else the one
    /// whose `hosts` contain the Host (case-insensitive, port and trailing dot ignored).
    public func serviceIndex(host: String?, listenerPort: Int?) -> Int? {
        if let listenerPort, let index = listenerPorts[listenerPort] { return index }
        return host.flatMap(hosts.lookup)
    }

    /// Routes a request that is already known to belong to service `index` (the CLI's single
    /// service, or an SDK client bound to one service).
    public func route(
        service index: Int, target: String, header: (String) -> String? = { _ in nil }
    ) -> Result<RouteDecision, RouteError> {
        var utf8Target = target
        return utf8Target.withUTF8 { bytes in
            guard services.indices.contains(index), let parsed = RequestTarget(bytes) else { return .failure(.invalidTarget) }
            return route(service: index, target: target, bytes: bytes, parsed: parsed, header: header)
        }
    }

    private func route(
        service index: Int, target: String, bytes: UnsafeBufferPointer<UInt8>, parsed: RequestTarget,
        header: (String) -> String?
    ) -> Result<RouteDecision, RouteError> {
        if parsed.path.isEmpty {
            // `http://users?x=1` has an empty path, which HTTP reads as "/" (RFC 9112 3.2.2).
            var normalized = "/" + String(decoding: bytes[parsed.path.lowerBound...], as: UTF8.self)
            let target = normalized
            return normalized.withUTF8 { bytes in
                guard let reparsed = RequestTarget(bytes) else { return .failure(.invalidTarget) }
                return services[index].route(target: target, bytes: bytes, parsed: reparsed, header: header)
            }
        }
        return services[index].route(target: target, bytes: bytes, parsed: parsed, header: header)
    }

    /// Routes a key directly, bypassing extraction: what `plan` and the SDK's key API use.
    public func route(key: String, service index: Int) -> RouteDecision {
        services[index].route(key: key)
    }
}

/// One service's compiled routing state.
final class RoutedService: Sendable {
    let index: Int
    let name: String
    let key: KeySource
    let onMiss: OnMiss
    let maxPathBytes: Int
    let placement: Placement
    let addresses: [PodAddress]

    init(index: Int, config: ServiceConfig) {
        self.index = index
        self.name = config.name
        self.key = config.key
        self.onMiss = config.onMiss
        self.maxPathBytes = config.maxPathBytes
        self.addresses = config.topology.addresses
        self.placement = ServiceTopology.placement(for: config, topology: config.topology)
    }

    func route(target: String, bytes: UnsafeBufferPointer<UInt8>, parsed: RequestTarget, header: (String) -> String?) -> Result<RouteDecision, RouteError> {
        guard parsed.pathAndQuery.count <= maxPathBytes else {
            return .failure(RouteError(code: .pathTooLong, message: "the request target is \(parsed.pathAndQuery.count) bytes; this service accepts at most \(maxPathBytes)", service: name))
        }
        do {
            let path = UnsafeBufferPointer(rebasing: bytes[parsed.path])
            switch key {
            case .pattern(let pattern):
                if case .matched(let group) = pattern.firstGroup(in: path), !group.isEmpty {
                    let absolute = (group.lowerBound + parsed.path.lowerBound)..<(group.upperBound + parsed.path.lowerBound)
                    return decision(hashing: bytes, range: absolute, target: target, plusIsSpace: false, origin: .extracted)
                }
                return miss(bytes: bytes, parsed: parsed, target: target, reason: "the path does not match the pattern '\(pattern.source)' (or its first group is empty)")
            case .header(let headerName):
                if let value = header(headerName)?.trimmingSpaces(), !value.isEmpty {
                    return .success(decide(key: Array(value.utf8), origin: .extracted))
                }
                return miss(bytes: bytes, parsed: parsed, target: target, reason: "the request has no '\(headerName)' header")
            case .query(let parameter):
                if let value = QueryString.value(of: parameter, in: UnsafeBufferPointer(rebasing: bytes[parsed.query])) {
                    switch value {
                    case .success(let decoded) where !decoded.isEmpty:
                        return .success(decide(key: decoded, origin: .extracted))
                    case .failure:
                        return .failure(RouteError(code: .invalidKeyEncoding, message: "the query parameter '\(parameter)' has a malformed percent-escape", service: name))
                    default: break
                    }
                }
                return miss(bytes: bytes, parsed: parsed, target: target, reason: "the query has no '\(parameter)' parameter")
            }
        }
    }

    func route(key: String) -> RouteDecision {
        decide(key: Array(key.utf8), origin: .extracted)
    }

    private func miss(bytes: UnsafeBufferPointer<UInt8>, parsed: RequestTarget, target: String, reason: String) -> Result<RouteDecision, RouteError> {
        switch onMiss {
        case .reject:
            return .failure(RouteError(code: .noShardKey, message: "no shard key: \(reason)", service: name))
        case .shard(let shard):
            return .success(RouteDecision(
                serviceIndex: index, service: name, algorithm: placement.algorithm, origin: .fixedShard,
                keyHash: nil, shard: shard, address: addresses[shard], keyStorage: .none
            ))
        case .hashPath:
            return decision(hashing: bytes, range: parsed.path, target: target, plusIsSpace: false, origin: .path)
        }
    }

    /// Hashes `bytes[range]` after percent-decoding, decoding on the stack when needed.
    private func decision(
        hashing bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, target: String, plusIsSpace: Bool, origin: RouteDecision.KeyOrigin
    ) -> Result<RouteDecision, RouteError> {
        let raw = UnsafeBufferPointer(rebasing: bytes[range])
        if !PercentDecoding.needsDecoding(raw, plusIsSpace: plusIsSpace) {
            let hash = placement.keyHash(UnsafeRawBufferPointer(raw))
            return .success(decide(hash: hash, storage: .slice(target, range), origin: origin))
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: raw.count) { scratch in
            guard let count = PercentDecoding.decode(raw, into: scratch, plusIsSpace: plusIsSpace) else {
                let what = origin == .path ? "the path" : "the shard key"
                return .failure(RouteError(code: .invalidKeyEncoding, message: "\(what) has a malformed percent-escape ('%' must be followed by two hex digits)", service: name))
            }
            let decoded = UnsafeBufferPointer(rebasing: scratch[0..<count])
            let hash = placement.keyHash(UnsafeRawBufferPointer(decoded))
            return .success(decide(hash: hash, storage: .bytes(Array(decoded)), origin: origin))
        }
    }

    private func decide(key: [UInt8], origin: RouteDecision.KeyOrigin) -> RouteDecision {
        let hash = key.withUnsafeBytes { placement.keyHash($0) }
        return decide(hash: hash, storage: .bytes(key), origin: origin)
    }

    @inline(__always)
    private func decide(hash: UInt64, storage: RouteDecision.KeyStorage, origin: RouteDecision.KeyOrigin) -> RouteDecision {
        let shard = placement.shard(forKeyHash: hash)
        return RouteDecision(
            serviceIndex: index, service: name, algorithm: placement.algorithm, origin: origin,
            keyHash: hash, shard: shard, address: addresses[shard], keyStorage: storage
        )
    }
}
