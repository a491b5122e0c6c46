// libFuzzer target: the shard-key pattern parser, compiler and matchers. Built by Fuzz/run.sh
// into the ShardlineCore module itself with `-D SHARDLINE_FUZZ`, which turns on
// `PatternWorkMeter`.
//
// Input: a pattern, a 0x00 byte, then a path (without the 0x00 the input is the pattern and a few
// fixed paths are tried). Checked for every pattern the parser accepts:
// - the class-run fast path, when the analysis picks it, gives the Pike VM's answer;
// - a match's group lies inside the path;
// - matching does work bounded by (path length + 1) x (program size), on the path and on the path
//   repeated 16 times, so a super-linear case shows at once instead of as a slow run.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPathPattern(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let separator = bytes.firstIndex(of: 0)
    let patternBytes = bytes[..<(separator ?? size)]
    let pattern: PathPattern
    do {
        pattern = try PathPattern(String(decoding: patternBytes, as: UTF8.self))
    } catch {
        precondition(!error.message.isEmpty, "a refused pattern must say why")
        return 0
    }
    if let separator {
        let path = Array(bytes[(separator + 1)...])
        check(pattern, on: path)
        check(pattern, on: Array(repeating: path, count: 16).flatMap { $0 })
    } else {
        for path in ["/users/alice/profile", "/c/session-42", "/", "", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"] {
            check(pattern, on: Array(path.utf8))
        }
    }
    return 0
}

private func check(_ pattern: PathPattern, on path: [UInt8]) {
    path.withUnsafeBufferPointer { input in
        let budget = pattern.matchingWorkBudget(forInputOf: input.count)

        PatternWorkMeter.steps = 0
        let reference = pattern.firstGroupUsingPikeVM(in: input)
        precondition(PatternWorkMeter.steps <= budget,
                     "Pike VM: \(PatternWorkMeter.steps) steps for \(input.count) bytes (budget \(budget)) on /\(pattern.source)/")
        if case .matched(let group) = reference {
            precondition(group.lowerBound >= 0 && group.upperBound <= input.count, "group \(group) outside the path")
        }

        guard pattern.usesFastPath else { return }
        PatternWorkMeter.steps = 0
        let fast = pattern.firstGroup(in: input)
        precondition(PatternWorkMeter.steps <= budget,
                     "fast path: \(PatternWorkMeter.steps) steps for \(input.count) bytes (budget \(budget)) on /\(pattern.source)/")
        precondition(fast == reference,
                     "fast path \(fast) != Pike VM \(reference) on /\(pattern.source)/ and \(Array(input))")
    }
}
