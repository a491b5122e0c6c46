import Testing
@testable import ShardlineCore

@Suite struct JumpHashTests {
    @Test(arguments: GeneratedVectors.jump)
    func matchesPythonReference(key: UInt64, buckets: Int, bucket: Int) {
        #expect(JumpHash.bucket(for: key, buckets: buckets) == bucket, "key \(key), \(buckets) buckets")
    }

    @Test func growingMovesKeysOnlyToTheNewBucket() {
        let hashes = TestKeys.xxh64Hashes(count: 20_000)
        for buckets in [1, 2, 3, 4, 7, 8, 15, 16, 31, 63, 99, 255] {
            var moved = 0
            for hash in hashes {
                let before = JumpHash.bucket(for: hash, buckets: buckets)
                let after = JumpHash.bucket(for: hash, buckets: buckets + 1)
                if before != after {
                    #expect(after == buckets, "a key moved from \(before) to \(after), not to the new bucket")
                    moved += 1
                }
            }
            let expected = Double(hashes.count) / Double(buckets + 1)
            // Binomial spread: 20,000 keys keep the moved count within 5 standard deviations.
            let tolerance = 5 * expected.squareRoot()
            #expect(abs(Double(moved) - expected) < tolerance, "\(moved) of \(hashes.count) moved at \(buckets)->\(buckets + 1)")
        }
    }

    @Test func degenerateBucketCountsReturnZero() {
        #expect(JumpHash.bucket(for: 12345, buckets: 1) == 0)
        #expect(JumpHash.bucket(for: 12345, buckets: 0) == 0)
        #expect(JumpHash.bucket(for: 12345, buckets: -3) == 0)
    }

    @Test func hugeBucketCountsStayInRange() {
        for hash in TestKeys.xxh64Hashes(count: 200) {
            let bucket = JumpHash.bucket(for: hash, buckets: Int.max)
            #expect(bucket >= 0 && bucket < Int.max)
        }
    }
}
