/// The HTTP header names of the shard-side protocol (sdk/SPEC.md section 11). They live in the core
/// because the sidecar, the SDK and the shard library must spell them identically; all are
/// lowercase, as HTTP/2 and HTTP/3 require and HTTP/1.1 accepts.
public enum ShardlineHeaders {
    /// On every request from a client: the client's topology fingerprint for the service. On a 421:
    /// the refusing shard's own fingerprint, so the client can tell whether its config is stale.
    public static let topology = "x-shardline-topology"
    /// On a 421: the ordinal that owns the key under the refusing shard's config.
    public static let owner = "x-shardline-owner"
    /// On a request whose owner changed in a resharding: the ordinal that owned the key under the
    /// config's `previous` topology, which the new owner reads through from on a miss.
    public static let previousShard = "x-shardline-previous-shard"
    /// With `previousShard`: that shard's address (`host:port`, SPEC.md section 9).
    public static let previousAddress = "x-shardline-previous-address"
    /// On a read-through from a key's new owner to its previous owner: asks for the previous
    /// owner's local copy only (no ownership check, no further read-through), which the previous
    /// owner then gives up. Its value is `1`.
    public static let handoff = "x-shardline-handoff"
    /// On a 421 a client returns to its caller instead of following it: why
    /// (`MisdirectedState.SurfaceReason`'s raw value, e.g. `config_unchanged`).
    public static let misdirected = "x-shardline-misdirected"
    /// The ordinal a sidecar decided for a request (already sent by the sidecar to shards).
    public static let shard = "x-shardline-shard"

    /// Whether `name` is in the protocol's namespace (`x-shardline-`, any case): the headers a
    /// client must not pass through from its caller. Compared on bytes, without a lowercased copy.
    public static func isProtocolHeader(_ name: String) -> Bool {
        let prefix: StaticString = "x-shardline-"
        guard name.utf8.count >= prefix.utf8CodeUnitCount else { return false }
        var index = 0
        for byte in name.utf8.prefix(prefix.utf8CodeUnitCount) {
            guard byte.asciiLowercased == prefix.utf8Start[index] else { return false }
            index += 1
        }
        return true
    }
}
