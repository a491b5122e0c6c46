import ShardlineCore

/// The ownership check of one shard (SPEC.md 11.4): for each request, whether its key is this
/// shard's under the shard's config, and if not, the 421 that tells the client who owns it.
///
/// Built once per config generation from the config and the shard's ordinal, then only read, from
/// any thread. It routes with the same `ShardRouter` the sidecar and the SDK use, so a shard and
/// its clients can only disagree when their configs do, which the fingerprint then shows.
public struct ShardOwnership: Sendable {
    public let serviceIndex: Int
    public let service: String
    public let ordinal: Int
    /// This shard's placement fingerprint, sent on every 421.
    public let fingerprint: TopologyFingerprint
    let router: ShardRouter
    let resolver: OwnershipResolver
    let serviceConfig: ServiceConfig

    /// - Parameters:
    ///   - service: the service this shard serves; may be nil when the config has one service.
    ///   - ordinal: any ordinal, also one beyond the config's shard count: a pod added for a
    ///     resharding starts (and must become Ready) before the config that gives it keys.
    public init(config: ShardlineConfig, ordinal: Int, service: String? = nil) throws(ShardSetupError) {
        guard (0...ShardOrdinal.maximum).contains(ordinal) else {
            throw ShardSetupError(code: .invalidOrdinal, message: "ordinal \(ordinal) is outside 0...\(ShardOrdinal.maximum)")
        }
        let index = try Self.serviceIndex(in: config, named: service)
        self.serviceIndex = index
        self.serviceConfig = config.services[index]
        self.service = config.services[index].name
        self.ordinal = ordinal
        self.router = ShardRouter(config: config)
        self.resolver = OwnershipResolver(config: config)
        self.fingerprint = resolver.fingerprint(service: index)
    }

    /// The ordinal from the pod's hostname (`users-2` is 2). When the service is a StatefulSet,
    /// the name before the ordinal must be its `statefulSet`, so a pod of another StatefulSet
    /// never takes a shard's keys by accident.
    public init(config: ShardlineConfig, hostname: String, service: String? = nil) throws(ShardSetupError) {
        let parsed = try ShardOrdinal.parse(hostname: hostname)
        let index = try Self.serviceIndex(in: config, named: service)
        if case .statefulSet(let set) = config.services[index].topology, set.statefulSet != parsed.statefulSet {
            throw ShardSetupError(code: .hostnameNotInStatefulSet, message: "hostname '\(hostname)' is a pod of '\(parsed.statefulSet)', but service '\(config.services[index].name)' is StatefulSet '\(set.statefulSet)'")
        }
        try self.init(config: config, ordinal: parsed.ordinal, service: config.services[index].name)
    }

    static func serviceIndex(in config: ShardlineConfig, named name: String?) throws(ShardSetupError) -> Int {
        let names = config.services.map(\.name)
        if let name {
            guard let index = names.firstIndex(of: name) else {
                throw ShardSetupError(code: .unknownService, message: "the config has no service '\(name)'; it has \(names.joined(separator: ", "))")
            }
            return index
        }
        guard names.count == 1 else {
            throw ShardSetupError(code: .ambiguousService, message: "the config has \(names.count) services (\(names.joined(separator: ", "))); name the one this shard serves")
        }
        return 0
    }

    /// Decides one request.
    /// - Parameters:
    ///   - method: the request method, as sent (`GET`).
    ///   - target: the request target as sent (`/users/alice/profile?x=1`).
    ///   - header: looks up a request header by name, case-insensitively, first occurrence.
    public func check(method: String, target: String, header: (String) -> String?) -> ShardVerdict {
        if let handoff = header(ShardlineHeaders.handoff) {
            guard handoff.trimmingOptionalWhitespace() == "1" else {
                return .rejected(Self.error(400, "invalid_handoff", "\(ShardlineHeaders.handoff) must be 1"))
            }
            guard method == "GET" || method == "HEAD" else {
                return .rejected(Self.error(400, "invalid_handoff", "a handoff is a GET or HEAD, not \(method)"))
            }
            return .handoff
        }
        let route: RouteDecision
        switch router.route(service: serviceIndex, target: target, header: header) {
        case .success(let decision): route = decision
        case .failure(let error):
            return .rejected(ShardResponseParts.json(status: error.httpStatus, error.json))
        }
        let ownership = resolver.decide(route)
        guard route.shard == ordinal else { return .misdirected(misdirected(route)) }
        switch previousOwner(header: header, configured: ownership.previous) {
        case .found(let previous):
            return .own(OwnedRequest(route: route, previous: previous))
        case .malformed(let parts):
            return .rejected(parts)
        }
    }

    /// The request's previous owner: the client's headers when it sent them (its config is what
    /// placed the key), else this shard's own `previous`; never this shard itself.
    func previousOwner(header: (String) -> String?, configured: PreviousOwner?) -> PreviousOwnerLookup {
        guard let ordinalText = header(ShardlineHeaders.previousShard) else {
            return .found(configured)
        }
        guard let previousOrdinal = try? ShardOrdinal.parse(ordinal: ordinalText.trimmingOptionalWhitespace(), source: ShardlineHeaders.previousShard) else {
            return .malformed(Self.error(400, "invalid_previous_shard", "\(ShardlineHeaders.previousShard) '\(ordinalText)' is not a shard ordinal"))
        }
        if previousOrdinal == ordinal { return .found(nil) }
        if let addressText = header(ShardlineHeaders.previousAddress) {
            guard let parsed = HostPort(parsing: addressText.trimmingOptionalWhitespace()), parsed.port > 0 else {
                return .malformed(Self.error(400, "invalid_previous_address", "\(ShardlineHeaders.previousAddress) '\(addressText)' is not HOST:PORT"))
            }
            return .found(PreviousOwner(ordinal: previousOrdinal, address: PodAddress(host: parsed.host, port: parsed.port)))
        }
        guard let address = address(ofPreviousShard: previousOrdinal) else {
            return .malformed(Self.error(400, "invalid_previous_address", "shard \(previousOrdinal) has no address in this shard's config; send \(ShardlineHeaders.previousAddress)"))
        }
        return .found(PreviousOwner(ordinal: previousOrdinal, address: address))
    }

    /// Where shard `ordinal` was: the previous topology's entry, or for a StatefulSet the pod name
    /// (the same for every shard count).
    func address(ofPreviousShard previousOrdinal: Int) -> PodAddress? {
        for topology in [serviceConfig.previous?.topology, serviceConfig.topology].compactMap({ $0 }) {
            switch topology {
            case .statefulSet(let set): return set.address(ofShard: previousOrdinal)
            case .endpoints(let list) where list.indices.contains(previousOrdinal): return list[previousOrdinal]
            case .endpoints: continue
            }
        }
        return nil
    }

    func misdirected(_ route: RouteDecision) -> ShardResponseParts {
        let what = route.key.map { "key '\($0)'" } ?? "this request"
        var body: [(String, JSONValue)] = [
            ("error", .string("misdirected")),
            ("message", .string("shard \(ordinal) of '\(service)' does not own \(what); shard \(route.shard) does under topology \(fingerprint.headerValue)")),
            ("owner", .int(route.shard)),
            ("shard", .int(ordinal)),
            ("topology", .string(fingerprint.headerValue)),
        ]
        body.append(("service", .string(service)))
        return ShardResponseParts.json(status: 421, extraHeaders: [
            ShardHeader(name: ShardlineHeaders.owner, value: String(route.shard)),
            ShardHeader(name: ShardlineHeaders.topology, value: fingerprint.headerValue),
        ], .object(body))
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> ShardResponseParts {
        ShardResponseParts.json(status: status, .object([("error", .string(code)), ("message", .string(message))]))
    }
}

enum PreviousOwnerLookup {
    case found(PreviousOwner?)
    case malformed(ShardResponseParts)
}

/// What a shard does with one request.
public enum ShardVerdict: Sendable {
    /// The key is this shard's: serve it (reading through from `previous` on a miss).
    case own(OwnedRequest)
    /// A read-through from the key's new owner: answer from local data only, then give it up.
    case handoff
    /// Not this shard's: answer with these parts (421, owner, topology).
    case misdirected(ShardResponseParts)
    /// The request cannot be routed or its Shardline headers are malformed: answer with these.
    case rejected(ShardResponseParts)
}

/// A request whose key this shard owns.
public struct OwnedRequest: Sendable {
    public let route: RouteDecision
    /// The shard to read through from on a miss, when the key's owner changed in a resharding.
    public let previous: PreviousOwner?

    /// The key as text (nil when `onMiss: {shard: N}` pinned a keyless request).
    public var key: String? { route.key }
}

extension String {
    /// Without the spaces and tabs HTTP allows around a field value (RFC 9110 5.5).
    func trimmingOptionalWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
