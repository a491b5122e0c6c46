/// Sebastiano Vigna's SplitMix64 generator and its output mixer.
///
/// The mixer is a cheap bijection with full avalanche; rendezvous placement scores shards with it.
/// The generator gives the quality tool and the tests a reproducible key stream in every language.
public struct SplitMix64: Sendable {
    /// The golden-ratio increment of SplitMix64 (2^64 / phi, odd).
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// Advances the state by the increment and returns the mixed state.
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// The SplitMix64 output function (Stafford's "Mix13" variant of the MurmurHash3 finalizer).
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
