import AsyncHTTPClient
@testable import Shardline
import Testing

/// The URL a request goes to the shard with: the pod's address in place of the service's host,
/// the scheme, path and query exactly as given (the key was read from those bytes).
@Suite("SDK: the shard's URL")
struct ShardURLTests {
    @Test("host and port replaced; scheme (any case), path, query and escapes kept; fragment and userinfo dropped", arguments: [
        ("http://users/users/alice/profile?x=1&y=%2F", HostPort(host: "users-1.users.default.svc.cluster.local", port: 8080),
         "http://users-1.users.default.svc.cluster.local:8080/users/alice/profile?x=1&y=%2F", "users"),
        ("HTTPS://me:pw@Users:8443/users/b%20c/x#top", HostPort(host: "fd00::7", port: 443), "https://[fd00::7]:443/users/b%20c/x", "Users:8443"),
        ("hTTp://users?x=1", HostPort(host: "10.0.0.7", port: 80), "http://10.0.0.7:80/?x=1", "users"),
    ])
    func shardURL(url: String, address: HostPort, expected: String, authority: String) throws {
        let parsed = try #require(RequestURL(url))
        #expect(parsed.url(at: address) == expected)
        #expect(parsed.authority == authority)
    }

    @Test("a URL that is not http(s) with a host is refused", arguments: ["/users/a", "ftp://users/a", "http:/users/a", "httpss://users/a", ""])
    func refused(url: String) {
        #expect(RequestURL(url) == nil)
    }
}
