@testable import ShardlineCore

/// Reproducible test keys: 16 lowercase hex digits from SplitMix64, as the quality tool uses.
enum TestKeys {
    static func hex(count: Int, seed: UInt64 = 0x5348_4152_444C_494E) -> [String] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in hex16(generator.next()) }
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// xxHash64 of each key's UTF-8 bytes, the hash every algorithm but nginx-ketama places.
    static func xxh64Hashes(count: Int, seed: UInt64 = 0x5348_4152_444C_494E) -> [UInt64] {
        hex(count: count, seed: seed).map { XXHash64.hash($0) }
    }
}

extension Placement {
    func shard(forKeyText key: String) -> Int {
        var utf8 = key
        return utf8.withUTF8 { shard(forKey: UnsafeRawBufferPointer($0)) }
    }

    func keyHash(ofText key: String) -> UInt64 {
        var utf8 = key
        return utf8.withUTF8 { keyHash(UnsafeRawBufferPointer($0)) }
    }
}
