/// Deterministic pseudo-random keys (16 hex digits from SplitMix64), so `plan --sample` and the
/// quality benchmarks give the same figures on every machine.
public enum SampleKeys {
    public static func generate(count: Int, seed: UInt64 = 0x5348_4152_444c_494e) -> [String] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let hex = String(z, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }
}
