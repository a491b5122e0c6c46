/// Deterministic pseudo-random keys (16 hex digits from SplitMix64), so `plan --sample` and the
/// quality benchmark give the same figures on every machine.
public enum SampleKeys {
    public static let defaultSeed: UInt64 = 0x5348_4152_444c_494e

    public static func generate(count: Int, seed: UInt64 = defaultSeed) -> [String] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let hex = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }
}
