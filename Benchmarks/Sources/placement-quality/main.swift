// placement-quality: how well each placement algorithm balances keys and how many keys it moves on
// a resize, against the optimum. Deterministic: the same keys (SplitMix64 from a fixed seed, as 16
// lowercase hex digits, hashed as bytes) on every machine.
//
//   swift run -c release placement-quality [--keys 1000000] [--max-n 64] [--seed S] [--verbose]
//
// Growing N -> N+1 and shrinking N+1 -> N (a StatefulSet always removes its highest ordinal)
// compare the same two placements, so they move exactly the same keys: one column covers both.
// nginx-ketama places over the server names "10.0.0.<i>:8080", i = 0..<N (hashed as written;
// no address is contacted).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ShardlineCore

struct Options {
    var keys = 1_000_000
    var maxN = 64
    var seed: UInt64 = 0x5348_4152_444C_494E  // "SHARDLIN"
    var verbose = false

    static func parse(_ arguments: [String]) -> Options? {
        var options = Options()
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--keys":
                guard let value = iterator.next().flatMap({ Int($0) }), value > 0 else { return nil }
                options.keys = value
            case "--max-n":
                guard let value = iterator.next().flatMap({ Int($0) }), value >= 1, value < 65_535 else { return nil }
                options.maxN = value
            case "--seed":
                guard let value = iterator.next().flatMap({ UInt64($0) }) else { return nil }
                options.seed = value
            case "--verbose":
                options.verbose = true
            default:
                return nil
            }
        }
        return options
    }
}

/// One algorithm's figures for one shard count N.
struct Row {
    var shards: Int
    /// Fraction of keys whose shard differs between N and N+1 shards.
    var moved: Double
    /// Fraction of keys that moved between shards that exist at both sizes.
    var strayed: Double
    /// Most-loaded shard over the mean, at N shards.
    var peakToMean: Double

    var optimum: Double { 1 / Double(shards + 1) }
}

func serverNames(_ algorithm: PlacementAlgorithm, count: Int) -> [String] {
    algorithm == .nginxKetama ? (0..<count).map { "10.0.0.\($0):8080" } : (0..<count).map { String($0) }
}

func measure(_ algorithm: PlacementAlgorithm, hashes: [UInt64], maxN: Int) -> (rows: [Row], seconds: Double) {
    let clock = ContinuousClock()
    let start = clock.now
    var previous = [UInt16](repeating: 0, count: hashes.count)
    var current = [UInt16](repeating: 0, count: hashes.count)
    var rows: [Row] = []
    for shards in 1...(maxN + 1) {
        let placement = Placement(algorithm: algorithm, serverNames: serverNames(algorithm, count: shards))
        var load = [Int](repeating: 0, count: shards)
        hashes.withUnsafeBufferPointer { hashes in
            current.withUnsafeMutableBufferPointer { current in
                for index in hashes.indices {
                    let shard = placement.shard(forKeyHash: hashes[index])
                    current[index] = UInt16(truncatingIfNeeded: shard)
                    load[shard] += 1
                }
            }
        }
        if shards > 1 {
            var moved = 0
            var strayed = 0
            let newShard = UInt16(truncatingIfNeeded: shards - 1)
            for index in hashes.indices where previous[index] != current[index] {
                moved += 1
                if current[index] != newShard { strayed += 1 }
            }
            rows[rows.count - 1].moved = Double(moved) / Double(hashes.count)
            rows[rows.count - 1].strayed = Double(strayed) / Double(hashes.count)
        }
        if shards <= maxN {
            let mean = Double(hashes.count) / Double(shards)
            rows.append(Row(shards: shards, moved: 0, strayed: 0, peakToMean: Double(load.max() ?? 0) / mean))
        }
        swap(&previous, &current)
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (rows, seconds)
}

// MARK: - Formatting (no Foundation)

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((abs(value) * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(scaled % Int(scale))
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
}

func percent(_ value: Double) -> String { fixed(value * 100, 3) + "%" }

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

func printRow(_ cells: [String], widths: [Int]) {
    print(zip(cells, widths).map { pad($0, $1) }.joined(separator: "  "))
}

// MARK: - Main

guard let options = Options.parse(CommandLine.arguments) else {
    print("usage: placement-quality [--keys COUNT (>0, default 1000000)] [--max-n N (1..65534, default 64)] [--seed UINT64] [--verbose]")
    exit(2)
}

var generator = SplitMix64(seed: options.seed)
var xxh64Hashes = [UInt64]()
var crc32Hashes = [UInt64]()
xxh64Hashes.reserveCapacity(options.keys)
crc32Hashes.reserveCapacity(options.keys)
let hexDigits = Array("0123456789abcdef".utf8)
var keyBytes = [UInt8](repeating: 0, count: 16)
for _ in 0..<options.keys {
    let value = generator.next()
    for position in 0..<16 {
        keyBytes[position] = hexDigits[Int((value >> UInt64(60 - 4 * position)) & 0xF)]
    }
    keyBytes.withUnsafeBytes { bytes in
        xxh64Hashes.append(XXHash64.hash(bytes))
        crc32Hashes.append(UInt64(CRC32.checksum(bytes)))
    }
}

print("placement-quality: \(options.keys) keys (SplitMix64 seed \(options.seed), 16 hex digits each), N = 1...\(options.maxN)")
print("moved = keys whose shard differs between N and N+1 shards (growing N->N+1 and shrinking N+1->N move the same keys);")
print("optimum = 1/(N+1); stray = keys moved between shards present at both sizes; peak/mean = most-loaded shard at N over the mean.")
print("nginx-ketama hashes the server names \"10.0.0.<i>:8080\" with CRC32; every other algorithm hashes keys with xxHash64 and places by ordinal.")

let summaryRows: Set<Int> = [1, 2, 3, 4, 8, 16, 32, options.maxN - 1, options.maxN]
let widths = [5, 10, 10, 8, 9, 9]
var summaries: [String] = []
var jumpVerdict = "SKIP (the jump check needs --max-n >= 64)"
var failed = false

for algorithm in PlacementAlgorithm.allCases {
    let hashes = algorithm == .nginxKetama ? crc32Hashes : xxh64Hashes
    let (rows, seconds) = measure(algorithm, hashes: hashes, maxN: options.maxN)
    print("")
    print("== \(algorithm.rawValue) ==")
    printRow(["N", "moved", "optimum", "moved/opt", "stray", "peak/mean"], widths: widths)
    for row in rows where options.verbose || summaryRows.contains(row.shards) {
        printRow([
            String(row.shards), percent(row.moved), percent(row.optimum), fixed(row.moved / row.optimum, 3),
            percent(row.strayed), fixed(row.peakToMean, 4),
        ], widths: widths)
    }
    let count = Double(rows.count)
    let meanRatio = rows.map { $0.moved / $0.optimum }.reduce(0, +) / count
    let meanStray = rows.map(\.strayed).reduce(0, +) / count
    let meanPeak = rows.map(\.peakToMean).reduce(0, +) / count
    let worstPeak = rows.map(\.peakToMean).max() ?? 0
    printRow(["avg", "", "", fixed(meanRatio, 3), percent(meanStray), fixed(meanPeak, 4)], widths: widths)
    summaries.append(
        "\(pad(algorithm.rawValue, 12)): moved/optimum avg \(fixed(meanRatio, 3)), stray avg \(percent(meanStray)), "
            + "peak/mean avg \(fixed(meanPeak, 4)) worst \(fixed(worstPeak, 4)), \(fixed(seconds, 1)) s for \(rows.count + 1) placements")

    if algorithm == .jump, options.maxN >= 64, let row = rows.first(where: { $0.shards == 64 }) {
        let relativeError = abs(row.moved - row.optimum) / row.optimum
        let pass = relativeError <= 0.05 && row.peakToMean <= 1.05
        failed = failed || !pass
        jumpVerdict = "\(pass ? "PASS" : "FAIL"): jump at N=64 moved \(percent(row.moved)) on 64->65 "
            + "(optimum \(percent(row.optimum)), \(fixed(relativeError * 100, 2))% off, limit 5%), "
            + "peak/mean \(fixed(row.peakToMean, 4)) (limit 1.05)"
    }
}

print("")
print("== summary ==")
summaries.forEach { print($0) }
print(jumpVerdict)
exit(failed ? 1 : 0)
