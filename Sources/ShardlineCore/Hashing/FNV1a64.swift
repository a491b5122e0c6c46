/// FNV-1a, 64-bit: a small stable hash for lookups and change detection where no other program has
/// to compute the same value (placement uses xxHash64 and CRC32, which the spec names). Stable
/// across processes and runs, unlike Swift's `Hasher`.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inline(__always)
    public mutating func combine(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hasher = FNV1a64()
        for byte in bytes { hasher.combine(byte) }
        return hasher.value
    }
}
