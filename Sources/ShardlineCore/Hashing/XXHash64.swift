/// xxHash64, the 64-bit variant of Yann Collet's xxHash, over raw bytes.
///
/// Shardline hashes shard keys with it because every language has a vetted implementation that
/// agrees bit for bit, which is what lets a sidecar and an SDK in another language pick the same
/// shard. Never replace it with Swift's `Hasher`: that one is seeded per process.
public enum XXHash64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// xxHash64 (the reference algorithm by Yann Collet), seed 0 unless given.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = bytes.count
        var offset = 0
        var accumulator: UInt64

        if length >= 32 {
            var lane1 = seed &+ prime1 &+ prime2
            var lane2 = seed &+ prime2
            var lane3 = seed
            var lane4 = seed &- prime1
            let lastStripeStart = length - 32
            while offset <= lastStripeStart {
                lane1 = round(lane1, readUInt64(bytes, offset))
                lane2 = round(lane2, readUInt64(bytes, offset + 8))
                lane3 = round(lane3, readUInt64(bytes, offset + 16))
                lane4 = round(lane4, readUInt64(bytes, offset + 24))
                offset += 32
            }
            accumulator = lane1.rotatedLeft(1) &+ lane2.rotatedLeft(7)
                &+ lane3.rotatedLeft(12) &+ lane4.rotatedLeft(18)
            accumulator = mergeRound(accumulator, lane1)
            accumulator = mergeRound(accumulator, lane2)
            accumulator = mergeRound(accumulator, lane3)
            accumulator = mergeRound(accumulator, lane4)
        } else {
            accumulator = seed &+ prime5
        }

        accumulator &+= UInt64(length)

        while offset + 8 <= length {
            accumulator ^= round(0, readUInt64(bytes, offset))
            accumulator = accumulator.rotatedLeft(27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            accumulator ^= UInt64(readUInt32(bytes, offset)) &* prime1
            accumulator = accumulator.rotatedLeft(23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            accumulator ^= UInt64(bytes[offset]) &* prime5
            accumulator = accumulator.rotatedLeft(11) &* prime1
            offset += 1
        }
        return avalanche(accumulator)
    }

    /// Hashes the UTF-8 bytes of `string`.
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var utf8 = string
        return utf8.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inline(__always)
    static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        (accumulator &+ input &* prime2).rotatedLeft(31) &* prime1
    }

    @inline(__always)
    static func mergeRound(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        (accumulator ^ round(0, lane)) &* prime1 &+ prime4
    }

    @inline(__always)
    static func avalanche(_ value: UInt64) -> UInt64 {
        var mixed = value
        mixed ^= mixed >> 33
        mixed &*= prime2
        mixed ^= mixed >> 29
        mixed &*= prime3
        mixed ^= mixed >> 32
        return mixed
    }

    @inline(__always)
    static func readUInt64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    static func readUInt32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

extension UInt64 {
    @inline(__always)
    func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 &- count))
    }
}
