import ArgumentParser
import ShardlineCore

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Show which shard each request path goes to.",
        discussion: """
        Runs the same ShardRouter as the sidecar and the SDK, so what it prints is what they do. \
        A PATH is a request target: `/users/alice/profile`, with a query, or an absolute URL \
        (`http://users/users/alice/x`, whose host then selects the service).

        Exit status: 0 when every path was routed, 2 when some were rejected (each rejected path \
        still gets its line), 1 for a bad config.

        Examples:
          shardline route /users/alice/profile /users/bob/settings
          shardline route --config shardline.yaml --host cache --json /c/k1 /c/k2
          shardline route --host sessions --header X-Session-ID=abc /login
          shardline route --json --paths-file paths.txt    (one path per line)
          cut -d' ' -f7 access.log | shardline route --paths-file -

        For more than a few hundred paths use --paths-file: parsing the command line slows \
        down with the square of the number of arguments (4,000 took 11 s; 10,000 from a file \
        take under a second).
        """
    )

    @OptionGroup var configOptions: ConfigOptions

    @Option(help: ArgumentHelp("The Host header that selects the service. Default: the first service, or the URL's host.", valueName: "host"))
    var host: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("A request header, for services keyed by header (repeatable).", valueName: "name=value"))
    var headers: [String] = []

    @Flag(help: "One JSON object per path: service, key, shard, address, algorithm (or error).")
    var json = false

    @Option(help: ArgumentHelp("A file of request paths, one per line, routed after any given as arguments; - reads standard input.", valueName: "file"))
    var pathsFile: String?

    @Argument(help: ArgumentHelp("Request paths to route.", valueName: "path"))
    var paths: [String] = []

    func validate() throws {
        if paths.isEmpty && pathsFile == nil {
            throw ValidationError("give at least one path, e.g. /users/alice/profile, or --paths-file with one per line")
        }
        for header in headers where !header.contains("=") {
            throw ValidationError("--header takes name=value, got '\(header)'")
        }
    }

    func run() throws {
        let config = try configOptions.load()
        let router = ShardRouter(config: config)
        let headerValues = headers.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (name: String(parts[0]).lowercased(), value: String(parts[1]))
        }
        let lookup: (String) -> String? = { name in headerValues.first { $0.name == name.lowercased() }?.value }
        var rejected = 0
        for path in try paths + readPathsFile() {
            // Without --host, an origin-form path has no Host at all: the first service is the
            // default (SPEC.md section 3, rule 3); an absolute URL's host still selects.
            let result = router.route(host: host, target: path, header: lookup, defaultService: 0)
            switch result {
            case .success(let decision):
                if json {
                    printJSON(Self.json(path: path, decision))
                } else {
                    let key = decision.key.map { "key \"\($0)\"" } ?? "no key"
                    print("\(path) -> \(decision.service) shard \(decision.shard) \(decision.address)  (\(key), \(Self.originText(decision.origin)), \(decision.algorithm.rawValue))")
                }
            case .failure(let error):
                rejected += 1
                if json {
                    printJSON(.object([("path", .string(path)), ("error", .string(error.code.rawValue)), ("message", .string(error.message)), ("status", .int(error.httpStatus))]))
                } else {
                    print("\(path) -> rejected (\(error.httpStatus)): \(error.message)")
                }
            }
        }
        if rejected > 0 { throw ExitCode(2) }
    }

    /// The paths of `--paths-file`, none without it.
    private func readPathsFile() throws -> [String] {
        guard let pathsFile else { return [] }
        let lines = try LinesFile.read(pathsFile, option: "--paths-file", entry: "path")
        guard !lines.isEmpty || !paths.isEmpty else {
            throw CLIError("paths file '\(pathsFile)' has no paths (one request path per line)")
        }
        return lines
    }

    static func json(path: String, _ decision: RouteDecision) -> JSONValue {
        .object([
            ("path", .string(path)),
            ("service", .string(decision.service)),
            ("key", decision.key.map(JSONValue.string) ?? .null),
            ("origin", .string(decision.origin.rawValue)),
            ("hash", decision.keyHash.map(JSONValue.uint) ?? .null),
            ("shard", .int(decision.shard)),
            ("address", .string(decision.address.description)),
            ("algorithm", .string(decision.algorithm.rawValue)),
        ])
    }

    static func originText(_ origin: RouteDecision.KeyOrigin) -> String {
        switch origin {
        case .extracted: return "from the request"
        case .path: return "no key: hashed the path"
        case .fixedShard: return "no key: fixed shard"
        }
    }
}
