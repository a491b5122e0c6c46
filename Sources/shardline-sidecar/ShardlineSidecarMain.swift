import ArgumentParser
import ShardlineSidecarCommand

/// `shardline-sidecar`: the sidecar alone, what the injected container runs. It links the proxy
/// and its config loader and nothing of the CLI's other commands (no TLS, HTTP client or web
/// framework), so the pages of code it maps, paid once per client pod, are fewer. Flags and
/// `--help` are those of `shardline sidecar`.
@main
struct ShardlineSidecarMain: AsyncParsableCommand {
    static let configuration = SidecarFlags.configuration(commandName: "shardline-sidecar", invocation: "shardline-sidecar")

    @OptionGroup var flags: SidecarFlags

    func run() async throws { try await flags.run() }
}
