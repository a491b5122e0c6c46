import ArgumentParser

@main
struct Shardline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shardline",
        abstract: "Shards HTTP traffic to Kubernetes StatefulSets without a central router.",
        discussion: """
        Every client pod computes the shard itself (the first capture group of a path pattern, \
        hashed and placed with consistent hashing) and calls the shard pod by its stable DNS name. \
        Try it with no config at all (the embedded example):
          shardline route /users/alice/profile
        """,
        subcommands: [
            RouteCommand.self,
            PlanCommand.self,
            GenerateCommand.self,
            ValidateCommand.self,
            SidecarCommand.self,
            ShardServerCommand.self,
            DemoCommand.self,
            InjectCommand.self,
            WebhookCommand.self,
            CertsCommand.self,
        ]
    )
}
