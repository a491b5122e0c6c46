// libFuzzer target: the config loader. Built by Fuzz/run.sh into the ShardlineCore module itself
// (so it sees the core's internals), never by SwiftPM.
//
// Any bytes in: either a config that the sidecar and the SDK can use as it is, or a ConfigError
// that names at least one problem in words. Anything else (a crash, a trap, an accepted config
// the router cannot serve) is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigLoader(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    let config: ShardlineConfig
    do {
        config = try ConfigLoader.load(yaml: yaml, source: "fuzz.yaml")
    } catch {
        precondition(!error.issues.isEmpty, "a refused config must name at least one problem")
        for issue in error.issues {
            precondition(!issue.message.isEmpty, "an issue without a message: \(issue)")
        }
        _ = error.description
        return 0
    }
    checkUsable(config)
    return 0
}

/// What every caller does with an accepted config: build the router, route, show it as JSON.
private func checkUsable(_ config: ShardlineConfig) {
    precondition(!config.services.isEmpty, "accepted a config without services")
    let router = ShardRouter(config: config)
    let targets = ["/", "/users/alice/profile", "/c/session-42?x=1", "/%zz", "http://users/users/bob/x", "*"]
    for (index, service) in config.services.enumerated() {
        let shardCount = service.topology.shardCount
        precondition(shardCount >= 1, "\(service.name): accepted with \(shardCount) shards")
        precondition(service.topology.addresses.count == shardCount, "\(service.name): an address per shard")
        for target in targets {
            if case .success(let decision) = router.route(service: index, target: target, header: { _ in "k" }) {
                precondition((0..<shardCount).contains(decision.shard), "\(service.name): shard \(decision.shard) of \(shardCount)")
                precondition(decision.address == service.topology.addresses[decision.shard], "\(service.name): address is not the shard's")
            }
        }
        for host in service.hosts {
            precondition(router.serviceIndex(host: host, listenerPort: nil) != nil, "\(service.name): host '\(host)' does not select a service")
        }
    }
    _ = config.json.serialized()
}
