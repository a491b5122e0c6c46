import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Shared by the HTTP/1 fuzz targets: Fuzz/run.sh compiles this file with each of them into the
// ShardlineHTTP1 module. The invariant targets (request, response) use the check and the split
// points derived from the input; the differential targets (differential, response-differential)
// reduce what each parser made of the bytes to `ComparedMessage`s and hand both lists to
// `compareDifferential`, so the rule "where they differ, the lean parser is the stricter" is
// written once.

func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        // fatalError's message reaches stderr; print's buffered stdout would be lost in the crash.
        fatalError("FUZZ INVARIANT BROKEN: \(message())")
    }
}

/// FNV-1a over the input: deterministic, so a finding replays.
func fuzzSeed(_ input: ByteBuffer) -> UInt64 {
    var hash: UInt64 = 0xcbf29ce484222325
    for byte in input.readableBytesView {
        hash = (hash ^ UInt64(byte)) &* 0x100000001b3
    }
    return hash
}

/// Up to 8 increasing split points in 1..<size.
func fuzzSplits(size: Int, seed: UInt64) -> [Int] {
    guard size > 1 else { return [] }
    var state = seed | 1
    var points: [Int] = []
    for _ in 0..<Int(seed % 9) {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        points.append(1 + Int(state % UInt64(size - 1)))
    }
    return Array(Set(points)).sorted()
}

func differentialCheck(_ condition: Bool, _ message: @autoclosure () -> String, _ input: ByteBuffer) {
    if !condition {
        fatalError("DIFFERENCE: \(message())\ninput: \(String(decoding: input.readableBytesView, as: UTF8.self).debugDescription)")
    }
}

/// One message as a parser saw it, reduced to what both parsers report.
struct ComparedMessage: CustomStringConvertible {
    /// The start line's parts, each with its name (`method GET`, `status 200`, `version HTTP/1.1`).
    var startLine: [String]
    var headers: [String]
    /// Payload bytes, once the message is complete; nil while its body is unfinished.
    var body: Int?
    /// After this message the bytes are not HTTP any more (upgrade, CONNECT, 101).
    var stopsParsing: Bool

    var description: String { "\(startLine.joined(separator: " ")) \(headers) body \(body.map(String.init) ?? "unfinished")" }
}

/// The messages one parser read from the input, in order, and why it stopped.
struct ComparedParse {
    var messages: [ComparedMessage] = []
    /// Stopped on an error (not for want of bytes).
    var failed = false
    var error: String?
    /// Stopped on purpose before the input's end: NIOHTTP1 at an upgrade (nothing after the
    /// first difference is compared then); the lean side at a response that closes the connection
    /// or at the message limit (the messages NIOHTTP1 reads beyond it are not compared).
    var stoppedEarly = false
}

/// For every message both parsers complete, the start line, header fields (in order) and
/// payload size must agree. Where only one completes a message, it must be NIOHTTP1: the lean
/// parser completing a message NIOHTTP1 refused, or waiting for bytes NIOHTTP1 did not need, is a
/// finding. The lean parser refusing what NIOHTTP1 accepts is its documented strictness.
func compareDifferential(lean: ComparedParse, nio: ComparedParse, input: ByteBuffer) {
    if tracesParses { print("lean: \(lean)\nnio:  \(nio)") }
    for (ours, theirs) in zip(lean.messages, nio.messages) {
        differentialCheck(ours.startLine == theirs.startLine, "start line \(ours.startLine) vs \(theirs.startLine)", input)
        differentialCheck(ours.headers == theirs.headers, "headers \(ours.headers) vs \(theirs.headers)", input)
        if ours.stopsParsing || theirs.stopsParsing { return }
        if let ourBody = ours.body, let theirBody = theirs.body {
            differentialCheck(ourBody == theirBody, "body of \(ourBody) vs \(theirBody) bytes", input)
        }
    }
    guard let index = (0..<max(lean.messages.count, nio.messages.count)).first(where: { index in
        lean.messages.indices.contains(index) != nio.messages.indices.contains(index)
            || (lean.messages[index].body == nil) != (nio.messages[index].body == nil)
    }) else { return }
    if nio.stoppedEarly || lean.messages.prefix(index).contains(where: \.stopsParsing) { return }
    let oursComplete = lean.messages.indices.contains(index) && lean.messages[index].body != nil
    let theirsComplete = nio.messages.indices.contains(index) && nio.messages[index].body != nil
    if oursComplete && !theirsComplete {
        differentialCheck(
            false,
            "the lean parser completes message \(index) where NIOHTTP1 \(nio.error.map { "refuses it: \($0)" } ?? "waits for more"): \(lean.messages[index])",
            input
        )
    } else if theirsComplete && !oursComplete {
        if lean.failed {
            if reportsStrictness {
                print("STRICTER: the lean parser refuses message \(index) (\(lean.error ?? "?")), NIOHTTP1 completes it; input: \(String(decoding: input.readableBytesView, as: UTF8.self).debugDescription)")
            }
            return
        }
        if lean.stoppedEarly && !lean.messages.indices.contains(index) { return }
        differentialCheck(false, "the lean parser waits for more of message \(index), which NIOHTTP1 completed: \(nio.messages[index])", input)
    }
}

/// With `SHARDLINE_FUZZ_STRICTNESS` set, every input where the lean parser refuses a message
/// NIOHTTP1 completes prints the lean error: replaying a grown corpus with it
/// (`.build-fuzz/fuzz-TARGET -runs=0 DIR`) lists the strictness the fuzzer met, to check against
/// Fuzz/README.md's list.
let reportsStrictness = getenv("SHARDLINE_FUZZ_STRICTNESS") != nil
/// With `SHARDLINE_FUZZ_TRACE` set, both parses of every input are printed (to replay one).
let tracesParses = getenv("SHARDLINE_FUZZ_TRACE") != nil

/// llhttp keeps a field value's trailing whitespace, which RFC 9110 5.5 says is not part of it
/// (the lean parser leaves it out of the value's range; the bytes are forwarded as they came
/// either way), so NIOHTTP1's values are compared without it.
func withoutTrailingWhitespace(_ value: String) -> Substring {
    var end = value.endIndex
    while end > value.startIndex {
        let before = value.index(before: end)
        guard value[before] == " " || value[before] == "\t" else { break }
        end = before
    }
    return value[..<end]
}
