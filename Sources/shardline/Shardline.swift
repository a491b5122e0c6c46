import ArgumentParser

@main
struct Shardline: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shardline", abstract: "Shards HTTP traffic to Kubernetes StatefulSets without a central router.")
}
