import Testing
@testable import ShardlineCore

@Suite("Small shared helpers")
struct SupportTests {
    /// The published FNV-1a 64 test vectors (Fowler, Noll, Vo: "FNV hash" test suite).
    @Test func fnv1a64MatchesThePublishedVectors() {
        #expect(FNV1a64.hash([UInt8]()) == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a64.hash(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a64.hash(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test func hostLookupHashFoldsCaseWithTheSameFunction() {
        let upper = Array("Users.Default".utf8).withUnsafeBufferPointer { HostTable.foldedHash($0) }
        #expect(upper == FNV1a64.hash(Array("users.default".utf8)))
    }

    @Test func durationConversions() {
        #expect(Duration.milliseconds(1500).inMilliseconds == 1500)
        #expect(Duration.microseconds(250).inMilliseconds == 0.25)
        #expect(Duration.seconds(2).wholeNanoseconds == 2_000_000_000)
        #expect(Duration.nanoseconds(7).wholeNanoseconds == 7)
    }
}
