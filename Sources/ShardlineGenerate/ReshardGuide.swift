import ShardlineCore

/// How to change a deployed service's shard count without failed requests: the core's plan (which
/// keys move), the new objects, and the steps in the only safe order, each with its reason.
///
/// The rule behind the order: a client must never route a key to a shard pod that does not exist
/// (or is not Ready). Growing, the pods come first and the config second; shrinking, the config
/// first and the pods go only after every sidecar has stopped using them.
public struct ReshardGuide: Sendable {
    public enum Direction: String, Sendable {
        case grow, shrink, unchanged
    }

    /// What a step does; tests assert the order by these.
    public enum StepKind: String, Sendable {
        case scaleStatefulSet
        case waitForShardsReady
        case applyConfigMap
        case waitForSidecarReload
        case applyFolder
    }

    public struct Step: Sendable {
        public var kind: StepKind
        public var title: String
        public var reason: String
        public var commands: [String]
    }

    public let plan: RebalancePlan
    public let direction: Direction
    /// The new objects: the StatefulSet at the new count, the ConfigMap holding the deployed config
    /// with only this service's `replicas` changed.
    public let manifests: ShardManifests
    public let steps: [Step]
    /// How long after the ConfigMap changes every sidecar has the new config: the kubelet's sync,
    /// the sidecar's poll and `dnsRefreshInterval`; shrinking adds `responseHeaderTimeout`.
    public let reloadWait: Duration

    /// The kubelet's `syncFrequency` default: how often it refreshes mounted ConfigMaps at most.
    public static let kubeletSyncPeriod: Duration = .seconds(60)
    /// Margin for the watch that tells the kubelet about the new ConfigMap, and a busy node.
    public static let configPropagationMargin: Duration = .seconds(30)
    /// The sidecar's default `--config-poll-ms`.
    public static let sidecarConfigPoll: Duration = .milliseconds(500)

    /// - Parameters:
    ///   - deployed: the config the clients use now (the ConfigMap's `config.yaml`).
    ///   - target: the service as it should be after the change (the generate flags, new `--shards`).
    ///   - keys: the keys to plan with (real ones, or `SampleKeys`).
    ///   - folder: where the new objects are written; the printed commands apply files from it.
    public init(deployed: ShardlineConfig, target: ShardedService, keys: [String], folder: String) throws(GenerateError) {
        let index = try Self.matchingService(in: deployed, target: target)
        let current = deployed.services[index]
        do {
            plan = try RebalancePlan(service: current, toReplicas: target.topology.replicas, keys: keys)
        } catch {
            throw GenerateError(.notAReshard, field: "--shards", error.message)
        }
        var newConfig = deployed
        newConfig.services[index].topology = .statefulSet(target.topology)
        manifests = ShardManifests(target, config: newConfig)
        direction = plan.to > plan.from ? .grow : plan.to < plan.from ? .shrink : .unchanged
        let sidecar = deployed.sidecar
        // Shrinking also waits for requests already sent to a removed shard to be answered.
        reloadWait = Self.kubeletSyncPeriod + Self.configPropagationMargin + Self.sidecarConfigPoll
            + sidecar.dnsRefreshInterval + (direction == .shrink ? sidecar.responseHeaderTimeout : .zero)
        steps = Self.steps(direction: direction, plan: plan, manifests: manifests, folder: folder, sidecar: sidecar, reloadWait: reloadWait)
    }

    /// The deployed service the flags describe. Everything that decides where a key goes must be
    /// unchanged except the count: a new algorithm, key or name moves most keys at once, which is a
    /// migration to plan separately, not a reshard.
    static func matchingService(in deployed: ShardlineConfig, target: ShardedService) throws(GenerateError) -> Int {
        let name = target.spec.name
        guard let index = deployed.services.firstIndex(where: { $0.name == name }) else {
            let names = deployed.services.map(\.name).joined(separator: ", ")
            throw GenerateError(.notAReshard, field: "--from-config", "the deployed config has no service '\(name)' (it has: \(names)); resharding changes the shard count of a deployed service; for a new one, run generate without --from-config")
        }
        let current = deployed.services[index]
        let field = "services[\(index)]"
        guard case .statefulSet(let set) = current.topology else {
            throw GenerateError(.notAReshard, field: "\(field).endpoints", "service '\(name)' lists its shards as `endpoints`, not a StatefulSet, so there is no StatefulSet to scale; plan it with `shardline plan --endpoints`")
        }
        let wanted = target.topology
        let pairs: [(String, String, String, String)] = [
            ("statefulSet", set.statefulSet, wanted.statefulSet, "--name"),
            ("service", set.service, wanted.service, "--name"),
            ("namespace", set.namespace, wanted.namespace, "--namespace"),
            ("clusterDomain", set.clusterDomain, wanted.clusterDomain, "--cluster-domain"),
            ("port", String(set.port), String(wanted.port), "--port"),
            ("algorithm", current.algorithm.rawValue, target.service.algorithm.rawValue, "--algorithm"),
            ("pattern", Self.keyDescription(current.key), Self.keyDescription(target.service.key), "--pattern"),
            ("onMiss", Self.onMissDescription(current.onMiss), Self.onMissDescription(target.service.onMiss), "--on-miss"),
        ]
        for (key, deployedValue, flagValue, flag) in pairs where deployedValue != flagValue {
            throw GenerateError(.notAReshard, field: flag, "\(field).\(key) is '\(deployedValue)' in the deployed config but \(flag) gives '\(flagValue)'; resharding changes only the shard count (a different \(key) moves keys or clients at once, a migration rather than a reshard), so pass the deployed value")
        }
        return index
    }

    static func keyDescription(_ key: KeySource) -> String {
        switch key {
        case .pattern(let pattern): return pattern.source
        case .header(let name): return "keyHeader \(name)"
        case .query(let name): return "keyQuery \(name)"
        }
    }

    static func onMissDescription(_ onMiss: OnMiss) -> String {
        switch onMiss {
        case .hashPath: return "hashPath"
        case .reject: return "reject"
        case .shard(let shard): return "shard:\(shard)"
        }
    }

    static func steps(direction: Direction, plan: RebalancePlan, manifests: ShardManifests, folder: String, sidecar: SidecarSettings, reloadWait: Duration) -> [Step] {
        let set = manifests.service.topology
        let ns = set.namespace
        let statefulSetFile = path(folder, manifests.object(kind: "StatefulSet")!.fileName)
        let configFile = path(folder, manifests.object(kind: "ConfigMap")!.fileName)
        let dnsRefresh = ConfigDuration.format(sidecar.dnsRefreshInterval)
        let responseTimeout = ConfigDuration.format(sidecar.responseHeaderTimeout)
        let waitSeconds = Int((Double(reloadWait.components.seconds) + Double(reloadWait.components.attoseconds) / 1e18).rounded(.up))
        let ordinals = direction == .grow ? Array(plan.from..<plan.to) : Array(plan.to..<max(plan.from, plan.to))
        let podNames = ordinals.map { "\(set.statefulSet)-\($0)" }.joined(separator: ", ")
        let checkReload = "kubectl -n \(ns) get --raw /api/v1/namespaces/\(ns)/pods/CLIENT_POD:15090/proxy/config   # for each client pod: \"replicas\":\(plan.to) under service \(plan.service) (or shardline_config_generation on /metrics went up)"

        let scale = Step(
            kind: .scaleStatefulSet,
            title: "Scale the StatefulSet \(set.statefulSet) from \(plan.from) to \(plan.to) replicas",
            reason: direction == .grow
                ? "The new shard pods (\(podNames)) must exist before any client routes keys to them. Until the ConfigMap changes, no client sends them a request, so creating them first is invisible to traffic."
                : "Every sidecar now routes with \(plan.to) shards, so no request goes to \(podNames) any more; they can go. (Their volumes, if any, are kept: scaling up again reattaches them.)",
            commands: ["kubectl apply -f \(statefulSetFile)"])
        let ready = Step(
            kind: .waitForShardsReady,
            title: "Wait until every shard pod is Ready",
            reason: "A pod has a DNS record only once it is Ready (the headless Service's publishNotReadyAddresses: false). A client that routed to \(podNames) earlier would get no address and answer 503, and the cluster DNS may cache that negative answer.",
            commands: ["kubectl -n \(ns) rollout status statefulset/\(set.statefulSet) --timeout=10m"])
        let config = Step(
            kind: .applyConfigMap,
            title: "Change the ConfigMap \(ShardManifests.configMapName) to \(plan.to) shards",
            reason: direction == .grow
                ? "Now every shard the new config names is Ready. Each client's sidecar moves \(plan.moved) of \(plan.keys) sampled keys (\(Self.percent(plan.movedFraction))) to the new shards when it reloads."
                : "Clients must stop routing to \(podNames) before those pods go: the sidecars move \(plan.moved) of \(plan.keys) sampled keys (\(Self.percent(plan.movedFraction))) onto the remaining shards when they reload.",
            commands: ["kubectl apply -f \(configFile)"])
        let reload = Step(
            kind: .waitForSidecarReload,
            title: direction == .shrink
                ? "Wait at least \(waitSeconds) s for every sidecar to reload, and check"
                : "Let the sidecars reload (up to \(waitSeconds) s)",
            reason: """
            The kubelet updates a mounted ConfigMap on its sync period (syncFrequency, 1m by default) plus the time the change takes to reach it (30 s allowed here); the sidecar notices the new file within 500 ms (--config-poll-ms). \
            \(direction == .shrink
                ? "Requests already sent to a removed shard finish within responseHeaderTimeout (\(responseTimeout)). A sidecar that has not reloaded keeps a cached address for up to dnsRefreshInterval (\(dnsRefresh)) and would send requests to pods that are gone: scale down only when every sidecar shows the new config."
                : "Until every sidecar has reloaded, some clients still send moved keys to their old shards while others use the new ones (dnsRefreshInterval, \(dnsRefresh), bounds how long a sidecar keeps an address it resolved). If shards hold per-key state, hand the moved keys over after this step.")
            """,
            commands: direction == .shrink ? ["sleep \(waitSeconds)", checkReload] : [checkReload])
        let folderStep = Step(
            kind: .applyFolder,
            title: "Apply the whole folder",
            reason: "Makes the cluster equal to the generated folder, the record of the new state (a no-op for the objects that did not change).",
            commands: ["kubectl apply -k \(folder)"])

        switch direction {
        case .grow: return [scale, ready, config, reload, folderStep]
        case .shrink: return [config, reload, scale, folderStep]
        case .unchanged: return []
        }
    }

    /// `file` inside `folder`, as the printed commands write it.
    public static func path(_ folder: String, _ file: String) -> String {
        folder.hasSuffix("/") ? folder + file : folder + "/" + file
    }

    static func percent(_ fraction: Double) -> String {
        let hundredths = Int((fraction * 10_000).rounded())
        let fractionDigits = String(hundredths % 100)
        return "\(hundredths / 100).\(fractionDigits.count < 2 ? "0" + fractionDigits : fractionDigits)%"
    }

    /// The guide as text: the plan, the changed objects, the steps with their commands.
    public func text() -> String {
        var lines: [String] = []
        lines.append("\(plan.service) (\(plan.algorithm.rawValue)): \(plan.from) -> \(plan.to) shards, \(plan.keys) keys sampled")
        lines.append("moved: \(plan.moved) (\(Self.percent(plan.movedFraction))), optimal \(Self.percent(plan.optimalFraction))")
        for (from, row) in plan.moves.enumerated() {
            for (to, count) in row.enumerated() where plan.isMove(from: from, to: to) && count > 0 {
                lines.append("  \(from) -> \(to): \(count)")
            }
        }
        lines.append("")
        guard direction != .unchanged else {
            lines.append("The deployed config already has \(plan.to) shards for \(plan.service): nothing to change.")
            return lines.joined(separator: "\n") + "\n"
        }
        lines.append("New objects: StatefulSet \(manifests.service.topology.statefulSet) (replicas \(plan.to)), ConfigMap \(ShardManifests.configMapName) (services[\(plan.service)].replicas \(plan.to)); the rest unchanged.")
        lines.append("")
        lines.append("Steps (\(direction == .grow ? "growing: pods first, then the config" : "shrinking: the config first, then the pods")):")
        for (number, step) in steps.enumerated() {
            lines.append("")
            lines.append("\(number + 1). \(step.title)")
            lines.append("   why: \(step.reason)")
            for command in step.commands { lines.append("   $ \(command)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ReshardGuide {
    /// The guide for scripts: the core's plan object as `shardline plan --json` prints it, the
    /// direction, the steps in order, and the files written.
    public func json(files: [String]) -> JSONValue {
        .object([
            ("plan", plan.json),
            ("direction", .string(direction.rawValue)),
            ("reload_wait_seconds", .int(Int(reloadWait.components.seconds) + (reloadWait.components.attoseconds > 0 ? 1 : 0))),
            ("steps", .array(steps.map { step in
                .object([
                    ("kind", .string(step.kind.rawValue)), ("title", .string(step.title)),
                    ("reason", .string(step.reason)), ("commands", .array(step.commands.map(JSONValue.string))),
                ])
            })),
            ("files", .array(direction == .unchanged ? [] : files.map(JSONValue.string))),
        ])
    }
}
