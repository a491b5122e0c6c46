/// Where one request goes and why: the contract both the sidecar and the SDK act on.
public struct RouteDecision: Sendable {
    public let serviceIndex: Int
    public let service: String
    public let algorithm: PlacementAlgorithm
    public let origin: KeyOrigin
    /// The hash the placement algorithm placed (xxHash64 of the key, or CRC32 for nginx-ketama);
    /// nil when `onMiss` sent the request to a fixed shard.
    public let keyHash: UInt64?
    public let shard: Int
    public let address: PodAddress

    /// The key is kept as a range of the request target when it needed no decoding, so routing the
    /// common request copies nothing; `key` materialises it only when asked.
    let keyStorage: KeyStorage
    enum KeyStorage: Sendable {
        case none
        case slice(String, Range<Int>)
        case bytes([UInt8])
    }

    /// How the key was obtained.
    public enum KeyOrigin: String, Sendable {
        /// From the configured source (pattern group, header or query parameter).
        case extracted
        /// The source had no key; `onMiss: hashPath` hashed the whole decoded path.
        case path
        /// The source had no key; `onMiss: {shard: N}` chose the shard.
        case fixedShard
    }

    /// The decoded key bytes that were hashed (empty for a fixed shard).
    public var keyBytes: [UInt8] {
        switch keyStorage {
        case .none: return []
        case .slice(let string, let range): return Array(string.utf8.dropFirst(range.lowerBound).prefix(range.count))
        case .bytes(let bytes): return bytes
        }
    }

    /// The key as text (invalid UTF-8 shown as U+FFFD); nil for a fixed shard.
    public var key: String? {
        if case .none = keyStorage { return nil }
        return String(decoding: keyBytes, as: UTF8.self)
    }
}

/// Why a request could not be routed. Each carries the HTTP status a proxy should answer with
/// and a message fit for a JSON error body.
public struct RouteError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No configured service owns the Host (or listener port): never forwarded anywhere.
        case unknownService = "unknown_service"
        /// The request target is not origin-form or absolute-form http(s).
        case invalidTarget = "invalid_target"
        /// The request target exceeds the service's `maxPathBytes`.
        case pathTooLong = "path_too_long"
        /// No key and `onMiss: reject`.
        case noShardKey = "no_shard_key"
        /// The key (or, for hashPath, the path) has a malformed percent-escape.
        case invalidKeyEncoding = "invalid_key_encoding"
    }

    public let code: Code
    public let message: String
    public let service: String?

    public init(code: Code, message: String, service: String? = nil) {
        self.code = code
        self.message = message
        self.service = service
    }

    public var httpStatus: Int {
        switch code {
        case .unknownService: return 404
        case .invalidTarget, .noShardKey, .invalidKeyEncoding: return 400
        case .pathTooLong: return 414
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static let invalidTarget = RouteError(code: .invalidTarget, message: "the request target must be a path starting with '/' or an absolute http:// URL")

    /// `{"error": ..., "message": ..., "service": ...}`: the body a proxy answers with.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("error", .string(code.rawValue)), ("message", .string(message))]
        if let service { pairs.append(("service", .string(service))) }
        return .object(pairs)
    }
}
