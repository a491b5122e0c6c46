import ArgumentParser
import Foundation
import ShardlineConfigFile
import ShardlineCore

/// `--config FILE`, shared by the commands that read a config; without it they use the embedded
/// example, so every command can be tried on a fresh checkout.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The Shardline config (YAML). Default: the embedded example (sdk/examples/shardline.yaml).", valueName: "file"))
    var config: String?

    func load() throws -> ShardlineConfig {
        try ConfigSource.load(path: config)
    }
}

enum ConfigSource {
    /// Loads and validates `path`, or the embedded example when nil.
    static func load(path: String?) throws -> ShardlineConfig {
        guard let path else {
            return try ConfigLoader.load(yaml: ShardlineConfig.exampleYAML, source: "<embedded example>")
        }
        // The one config-file reader the sidecar and the SDK use too; a one-shot read also takes a
        // pipe, so `--config <(kubectl get cm ...)` works.
        let snapshot: ConfigFileSnapshot
        do throws(ConfigFileError) {
            snapshot = try ConfigFile.read(path: path, followsUpdates: false)
        } catch {
            throw CLIError(error.description)
        }
        let text = snapshot.text
        return try ConfigLoader.load(yaml: text, source: path)
    }
}

/// A failure the CLI reports as one message and an exit status, without a stack of context.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One JSON document per line on stdout.
func printJSON(_ value: JSONValue) {
    print(value.serialized())
}

/// Picks the service a command acts on: the one named, or the only one.
func selectService(_ name: String?, in config: ShardlineConfig) throws -> Int {
    let names = config.services.map(\.name)
    if let name {
        guard let index = names.firstIndex(of: name) else {
            throw ValidationError("no service named '\(name)'; the config has: \(names.joined(separator: ", "))")
        }
        return index
    }
    guard names.count == 1 else {
        throw ValidationError("the config has \(names.count) services (\(names.joined(separator: ", "))); choose one with --service")
    }
    return 0
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
