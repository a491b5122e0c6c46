import ShardlineCore
import Testing

@Suite("Origin form")
struct OriginFormTests {
    @Test("origin-form targets pass as they are, without a fragment")
    func originForm() {
        #expect(OriginForm("/users/a?x=1") == OriginForm(authority: nil, target: "/users/a?x=1"))
        #expect(OriginForm("/users/a#top") == OriginForm(authority: nil, target: "/users/a"))
    }

    @Test("absolute-form targets split into authority and origin-form", arguments: [
        ("http://users/users/a/b?x=1", "users", "/users/a/b?x=1"),
        ("HTTP://Users:8080/x", "Users:8080", "/x"),
        ("http://users?x=1", "users", "/?x=1"),
        ("http://users", "users", "/"),
        ("https://user:pw@users/a#frag", "users", "/a"),
        ("HtTpS://users/a", "users", "/a"),
    ])
    func absoluteForm(uri: String, authority: String, target: String) {
        #expect(OriginForm(uri) == OriginForm(authority: authority, target: target))
    }

    @Test("anything else is refused", arguments: [
        "*", "users:443", "ftp://users/a", "http:///a", "", "http:/users/a", "https:users/a", "httpss://users/a",
        "http", "https:/", "htt://users/a", "http\u{1A}//users/a", "hTTP:\u{0F}/users/a",
    ])
    func refused(uri: String) {
        #expect(OriginForm(uri) == nil)
    }
}
