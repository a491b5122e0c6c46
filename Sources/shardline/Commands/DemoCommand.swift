import ArgumentParser
import ShardlineSidecar

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole request path locally: three shard servers, the sidecar, requests.",
        discussion: """
        No cluster needed. Starts three stand-in shard pods on loopback, the real sidecar in front \
        of them (config: service `users`, pattern '^/users/([^/]*)/', jump), sends each PATH \
        through the sidecar with Host: users, and shows which shard answered next to the shard the \
        core predicts. Exit 0 when every request reached its predicted shard.

        Examples:
          shardline demo
          shardline demo /users/zoe/profile /users/yann/cart
        """
    )

    @Argument(help: ArgumentHelp("Request paths to send (default: a few /users/... paths).", valueName: "path"))
    var paths: [String] = []

    func run() async throws {
        let outcomes = try await LocalDemo.run(paths: paths.isEmpty ? LocalDemo.defaultPaths : paths)
        print("path                             key       predicted  answered  status")
        for outcome in outcomes {
            let mark = outcome.agrees ? "ok" : "MISMATCH"
            print(pad(outcome.path, 32) + " " + pad(outcome.key ?? "-", 9) + " " + pad(outcome.predicted.map { "shard \($0)" } ?? "-", 10)
                + " " + pad(outcome.answeredBy.map { "shard \($0)" } ?? "-", 9) + " " + String(outcome.status) + "  " + mark)
        }
        let agreed = outcomes.filter(\.agrees).count
        print("\(agreed)/\(outcomes.count) requests reached the shard the core predicted, straight from the sidecar (no router tier).")
        if agreed != outcomes.count { throw ExitCode(1) }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
