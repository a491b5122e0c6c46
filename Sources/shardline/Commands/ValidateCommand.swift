import ArgumentParser
import ShardlineCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config file and summarise it.",
        discussion: """
        Exits 0 and prints a one-line summary when the file is valid. Otherwise exits 1 and lists \
        every problem with its field path and YAML line, e.g.
          services[0].replicas (line 9): 0 is out of range; expected 1...10000
        Unknown fields are errors, so a typo never silently falls back to a default.

        Example:
          shardline validate sdk/examples/shardline.yaml
        """
    )

    @Argument(help: ArgumentHelp("The config file to check.", valueName: "config"))
    var config: String

    @Flag(help: "Print JSON: {\"valid\": true, \"config\": {...}} or {\"valid\": false, \"errors\": [...]}.")
    var json = false

    func run() throws {
        let loaded: ShardlineConfig
        do {
            loaded = try ConfigSource.load(path: config)
        } catch let error as ConfigError {
            if json {
                printJSON(.object([
                    ("valid", .bool(false)),
                    ("errors", .array(error.issues.map { issue in
                        .object([("field", .string(issue.field)), ("line", issue.line.map(JSONValue.int) ?? .null), ("message", .string(issue.message))])
                    })),
                ]))
            } else {
                printError(error.description)
            }
            throw ExitCode(1)
        }
        if json {
            printJSON(.object([("valid", .bool(true)), ("config", loaded.json)]))
        } else {
            print("OK: \(config): " + loaded.services.map(Self.summary).joined(separator: "; "))
        }
    }

    static func summary(_ service: ServiceConfig) -> String {
        let shards: String
        switch service.topology {
        case .statefulSet(let set): shards = "\(set.replicas) pods of StatefulSet \(set.namespace)/\(set.statefulSet)"
        case .endpoints(let list): shards = "\(list.count) endpoints"
        }
        return "\(service.name): \(service.algorithm.rawValue) over \(shards)"
    }
}

