/// Jump Consistent Hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm", 2014).
///
/// No table and perfect balance in expectation; growing from n to n+1 buckets moves exactly the keys
/// that land on the new bucket, and shrinking is only supported at the end, which is how a
/// StatefulSet scales.
public enum JumpHash {
    /// The bucket in `0..<buckets` for `key`.
    ///
    /// Bit-exact across languages because every step is pinned: the 64-bit linear congruential step
    /// wraps modulo 2^64, and the jump is `(b + 1) * (2^31 / ((key >> 33) + 1))` evaluated in IEEE-754
    /// binary64 with round-to-nearest-even: first the quotient, then the product, then truncation
    /// toward zero. Every operand is an exact double, so there is no platform latitude.
    ///
    /// `buckets` below 1 has no meaningful answer; it returns 0 rather than trapping so bad input
    /// never crashes the caller.
    public static func bucket(for key: UInt64, buckets: Int) -> Int {
        guard buckets > 1 else { return 0 }
        let limit = Double(buckets)
        var state = key
        var bucket = 0
        var candidate = 0.0
        // The paper's loop: `while j < buckets { b = j; ... j = trunc(jump) }`, with the comparison
        // done on the double so huge jumps never overflow an Int conversion. For a non-negative x
        // and an integral bound, `trunc(x) < bound` and `x < bound` are the same test; `Int(_:)`
        // truncates toward zero.
        while candidate < limit {
            bucket = Int(candidate)
            state = state &* 2_862_933_555_777_941_757 &+ 1
            let divisor = Double((state >> 33) &+ 1)
            candidate = Double(bucket &+ 1) * (2_147_483_648.0 / divisor)
        }
        return bucket
    }
}
