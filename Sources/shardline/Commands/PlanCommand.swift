import ArgumentParser
import Foundation
import ShardlineCore

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show how many keys move if a service's shard count changes.",
        discussion: """
        Places each key with the current replica count and with --replicas N, and reports how \
        many keys change shard, next to the minimum any scheme must move (|N - M| / max(N, M)), \
        and where they go. Use real keys (--keys, one per line) to see your own traffic, or a \
        deterministic random sample (--sample).

        A service with an explicit `endpoints` list grows only with the new addresses given \
        (--endpoints, the whole list after the change, in order) when its algorithm is \
        nginx-ketama: that algorithm hashes the addresses, so no answer exists without them.

        Examples:
          shardline plan --replicas 4 --service users
          shardline plan --service cache --endpoints 10.0.0.5:11211,10.0.0.6:11211,10.0.0.7:11211
          shardline plan --config shardline.yaml --replicas 6 --keys keys.txt --json
        """
    )

    @OptionGroup var configOptions: ConfigOptions

    @Option(help: ArgumentHelp("The shard count to plan for (default with --endpoints: their number).", valueName: "n"))
    var replicas: Int?

    @Option(
        parsing: .singleValue,
        help: ArgumentHelp("For a service with an `endpoints` list: every shard's HOST:PORT after the change, in order (comma-separated or repeated).", valueName: "host:port,...")
    )
    var endpoints: [String] = []

    @Option(help: ArgumentHelp("The service to plan for (required when the config has several).", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("A file of keys, one per line; - reads standard input.", valueName: "file"))
    var keys: String?

    @Option(help: ArgumentHelp("Use K generated keys instead of a file.", valueName: "k"))
    var sample: Int?

    @Flag(help: "Print one JSON object: from, to, keys, moved, moved_fraction, optimal_fraction, moves, shards_before, shards_after.")
    var json = false

    func validate() throws {
        guard let replicas = replicas ?? (endpointList?.count) else {
            throw ValidationError("give --replicas N (the shard count to plan for), or --endpoints with the whole list after the change")
        }
        guard (1...10_000).contains(replicas) else { throw ValidationError("--replicas must be in 1...10000") }
        if let list = endpointList {
            for (index, address) in list.enumerated() where address == nil {
                throw ValidationError("--endpoints: '\(endpointTexts[index])' is not HOST:PORT (e.g. 10.0.0.7:11211)")
            }
        }
        if keys != nil && sample != nil { throw ValidationError("use either --keys or --sample, not both") }
        if let sample, !(1...100_000_000).contains(sample) { throw ValidationError("--sample must be in 1...100000000") }
    }

    func run() throws {
        let config = try configOptions.load()
        let index = try selectService(service, in: config)
        let keyList = try loadKeys()
        let newEndpoints = endpointList?.compactMap { $0 }
        let plan: RebalancePlan
        do {
            plan = try RebalancePlan(
                service: config.services[index], toReplicas: replicas ?? newEndpoints?.count ?? 0,
                newEndpoints: newEndpoints, keys: keyList)
        } catch {
            throw CLIError("plan: \(error.message)")
        }
        if json {
            printJSON(plan.json)
            return
        }
        print("\(plan.service) (\(plan.algorithm.rawValue)): \(plan.from) -> \(plan.to) shards, \(plan.keys) keys")
        print("moved: \(plan.moved) (\(percent(plan.movedFraction))), optimal \(percent(plan.optimalFraction))")
        print("shard  before  after")
        for shard in 0..<max(plan.from, plan.to) {
            let before = shard < plan.from ? String(plan.loadBefore[shard]) : "-"
            let after = shard < plan.to ? String(plan.loadAfter[shard]) : "-"
            print(pad(String(shard), 5) + "  " + pad(before, 6) + "  " + pad(after, 5))
        }
        for (from, row) in plan.moves.enumerated() {
            for (to, count) in row.enumerated() where plan.isMove(from: from, to: to) && count > 0 {
                print("  \(from) -> \(to): \(count)")
            }
        }
    }

    private var endpointTexts: [String] {
        endpoints.flatMap { $0.split(separator: ",") }.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// The parsed --endpoints, nil when none were given; an entry is nil when it is not HOST:PORT.
    private var endpointList: [PodAddress?]? {
        guard !endpoints.isEmpty else { return nil }
        return endpointTexts.map { text in
            HostPort(parsing: text).flatMap { $0.port > 0 ? PodAddress(host: $0.host, port: $0.port) : nil }
        }
    }

    private func loadKeys() throws -> [String] {
        if let keys {
            let list = try LinesFile.read(keys, option: "--keys", entry: "key")
            guard !list.isEmpty else { throw CLIError("keys file '\(keys)' has no keys (one per line)") }
            return list
        }
        return SampleKeys.generate(count: sample ?? 100_000)
    }

    private func percent(_ fraction: Double) -> String {
        String(format: "%.2f%%", fraction * 100)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
