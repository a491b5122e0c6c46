import ArgumentParser
import ShardlineSidecarCommand

/// `shardline sidecar`: the same flags, validation and help as the `shardline-sidecar` binary
/// (ShardlineSidecarCommand holds them), kept in the CLI for local runs and the demo.
struct SidecarCommand: AsyncParsableCommand {
    static let configuration = SidecarFlags.configuration(commandName: "sidecar", invocation: "shardline sidecar")

    @OptionGroup var flags: SidecarFlags

    func run() async throws { try await flags.run() }
}
