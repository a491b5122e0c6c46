/// A request target as the shard must receive it: origin-form (`/users/a?x=1`), with the
/// authority of an absolute-form target (`http://users/users/a`, what an `http_proxy` client
/// sends) split off to become the `Host` header (RFC 9112 3.2.2). Pure.
struct OriginForm: Equatable {
    /// `users:8080` for `http://users:8080/x`; nil for an origin-form target.
    var authority: String?
    /// Never empty: `http://users?x=1` becomes `/?x=1`. A fragment is never sent.
    var target: String

    /// Nil when the target is neither origin-form nor an absolute `http(s)://` URL (the router
    /// has refused those already; this is the proxy's own guard).
    init?(_ uri: String) {
        if uri.hasPrefix("/") {
            authority = nil
            target = uri
            return
        }
        let lower = uri.prefix(8).lowercased()
        let schemeLength: Int
        if lower.hasPrefix("http://") {
            schemeLength = 7
        } else if lower.hasPrefix("https://") {
            schemeLength = 8
        } else {
            return nil
        }
        let rest = uri.utf8.dropFirst(schemeLength)
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.endIndex
        var authorityBytes = rest[rest.startIndex..<authorityEnd]
        if let at = authorityBytes.lastIndex(of: UInt8(ascii: "@")) {
            authorityBytes = authorityBytes[authorityBytes.index(after: at)...]
        }
        guard !authorityBytes.isEmpty else { return nil }
        authority = String(Substring(authorityBytes))
        var pathAndQuery = Substring(rest[authorityEnd...])
        if let hash = pathAndQuery.firstIndex(of: "#") { pathAndQuery = pathAndQuery[..<hash] }
        target = pathAndQuery.hasPrefix("/") ? String(pathAndQuery) : "/" + pathAndQuery
    }
}
