import ShardlineCore

/// An `HTTPClientRequest.url` as routing reads it: parsed by the core's `OriginForm` (the parser
/// the router itself uses for an absolute-form target, the way an `http_proxy` client reaches the
/// sidecar), so the path forwarded is exactly the path the key was taken from, with no
/// re-encoding in between.
struct RequestURL: Sendable {
    /// The URL as given: what the router reads.
    let url: String
    /// `http` or `https`, lowercased.
    let scheme: String
    /// `users` or `users:8080` (userinfo dropped): the service's host, sent as `Host`.
    let authority: String
    /// `/users/alice/profile?x=1`; `/` when the URL has no path; never a fragment.
    let pathAndQuery: String

    init?(_ url: String) {
        guard let form = OriginForm(url), let authority = form.authority else { return nil }
        self.url = url
        // `OriginForm` found an authority, so the URL begins with `http://` or `https://` in
        // some case: the fifth byte tells them apart (read as bytes: this runs for every request).
        var fifth = url.utf8.dropFirst(4).first ?? 0
        fifth |= 0x20
        self.scheme = fifth == UInt8(ascii: "s") ? "https" : "http"
        self.authority = authority
        self.pathAndQuery = form.target
    }

    /// The same request target on another host: the shard pod's address.
    func url(at address: PodAddress) -> String {
        var url = String()
        url.reserveCapacity(scheme.utf8.count + 3 + address.host.utf8.count + 8 + pathAndQuery.utf8.count)
        url += scheme
        url += "://"
        address.append(to: &url)
        url += pathAndQuery
        return url
    }
}
