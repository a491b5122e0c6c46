/// Everything the SDK refuses or fails with, as one type: a code to branch on and a message that
/// says what to change. The shard fields are filled in when the failure belongs to one shard.
public struct ShardlineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The URL's host is no configured service (the message names it and the configured hosts).
        case unknownService = "unknown_service"
        /// No shard key and `onMiss: reject` (the message names the pattern and the path).
        case noShardKey = "no_shard_key"
        /// The URL is not an http(s) URL, its target is longer than `maxPathBytes`, or its key has a
        /// malformed percent-escape.
        case invalidRequest = "invalid_request"
        /// The shard could not be reached: ejected after repeated failures, connect failed, the
        /// connection broke, or no answer in time (the message says which, with ordinal and address).
        case shardUnavailable = "shard_unavailable"
        /// The config was refused (the loader's message, every field with its path) or unreadable.
        case invalidConfig = "invalid_config"
        /// The shard answered `421 Misdirected Request` and the client could not correct itself
        /// (SPEC.md 11.5): `misdirectedReason` says why, `owner` is the shard the refusing shard
        /// named, `shardTopology` its fingerprint and `topology` this client's.
        case misdirected = "misdirected"
    }

    public var code: Code
    public var message: String
    public var service: String?
    public var shard: Int?
    public var address: PodAddress?
    /// With `misdirected`: why the 421 was not followed (`MisdirectedState.SurfaceReason`).
    public var misdirectedReason: MisdirectedState.SurfaceReason?
    /// With `misdirected`: the owner the refusing shard named (`x-shardline-owner`).
    public var owner: Int?
    /// With `misdirected`: the refusing shard's fingerprint (`x-shardline-topology`), and this client's.
    public var shardTopology: TopologyFingerprint?
    public var topology: TopologyFingerprint?
    /// The status the sidecar answers a transport failure with (502, 503, 504), for the metrics.
    var failureStatus: Int?

    public init(code: Code, message: String, service: String? = nil, shard: Int? = nil, address: PodAddress? = nil) {
        self.code = code
        self.message = message
        self.service = service
        self.shard = shard
        self.address = address
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func invalidConfig(_ error: ConfigError) -> ShardlineError {
        ShardlineError(code: .invalidConfig, message: error.description)
    }
}
