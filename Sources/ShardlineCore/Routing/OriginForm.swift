/// A request target as the shard must receive it: origin-form (`/users/a?x=1`), with the
/// authority of an absolute-form target (`http://users/users/a`, what an `http_proxy` client
/// sends) split off to become the `Host` header (RFC 9112 3.2.2).
///
/// Parsed by the same `RequestTarget` the router reads, so the path a proxy forwards is the path
/// the shard key was taken from.
public struct OriginForm: Equatable, Sendable {
    /// `users:8080` for `http://users:8080/x` (userinfo dropped); nil for an origin-form target.
    public var authority: String?
    /// Path and query, never empty: `http://users?x=1` becomes `/?x=1`. A fragment is never sent.
    public var target: String

    public init(authority: String?, target: String) {
        self.authority = authority
        self.target = target
    }

    /// Nil when the target is neither origin-form nor an absolute `http(s)://` URL with a host.
    public init?(_ uri: String) {
        var uri = uri
        guard let parts = uri.withUTF8({ bytes -> (String?, String)? in
            guard let parsed = RequestTarget(bytes) else { return nil }
            let authority = parsed.authority.map { String(decoding: bytes[$0], as: UTF8.self) }
            let pathAndQuery = String(decoding: bytes[parsed.pathAndQuery], as: UTF8.self)
            return (authority, parsed.path.isEmpty ? "/" + pathAndQuery : pathAndQuery)
        }) else { return nil }
        self.init(authority: parts.0, target: parts.1)
    }
}
