import ArgumentParser
import Foundation
import ShardlineCore
import ShardlineGenerate

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write the Kubernetes objects of a sharded service, or the safe steps to change its shard count.",
        discussion: """
        From a few flags: the StatefulSet (serviceName = the headless Service, Parallel pod \
        management, a readiness probe, the restricted Pod Security profile), the headless \
        Service, the ConfigMap shardline-config holding the clients' routing config (built from \
        the same values, so its topology matches the StatefulSet exactly), a PodDisruptionBudget, \
        and with --client an example client Deployment opted in to sidecar injection. YAML goes \
        to stdout, or with --output DIR to a kustomize folder (one file per object and a \
        kustomization.yaml). A bad flag prints what is wrong and writes nothing.

        Changing the shard count: run the same command with the new --shards, the deployed \
        config (--from-config) and --output. It writes the new objects and prints the plan (how \
        many keys move, from which shard to which) and the steps in the safe order, with the \
        kubectl commands: growing, the new pods are Ready before the config names them; \
        shrinking, every sidecar has reloaded the config before the pods go.

        Examples:
          shardline generate --name users --image registry.example/users:1.0 \\
            --shards 3 --pattern '^/users/([^/]*)/' --output manifests/users
          kubectl apply -k manifests/users
          kubectl get configmap shardline-config \\
            -o jsonpath='{.data.config\\.yaml}' > deployed.yaml
          shardline generate --name users --image registry.example/users:1.0 \\
            --shards 4 --pattern '^/users/([^/]*)/' --output manifests/users \\
            --from-config deployed.yaml
        """
    )

    @Option(help: ArgumentHelp("The service: names the StatefulSet, the headless Service and the pods (a DNS label, at most 52 characters).", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("The shard server's container image.", valueName: "image"))
    var image: String

    @Option(help: ArgumentHelp("The port the shard server listens on.", valueName: "port"))
    var port: Int = 8080

    @Option(help: ArgumentHelp("The shard count (the StatefulSet's replicas).", valueName: "n"))
    var shards: Int

    @Option(help: ArgumentHelp("The shard key: the first capture group of this pattern, matched against the request path, e.g. '^/users/([^/]*)/'.", valueName: "regex"))
    var pattern: String

    @Option(help: ArgumentHelp("The namespace of every object.", valueName: "namespace"))
    var namespace: String = "default"

    @Option(help: ArgumentHelp("The cluster's DNS domain, part of each shard pod's name.", valueName: "domain"))
    var clusterDomain: String = "cluster.local"

    @Option(help: ArgumentHelp("Placement: \(PlacementAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "algorithm"))
    var algorithm: String = "jump"

    @Option(help: ArgumentHelp("A request without a key: hashPath (hash the whole path), reject (400), or shard:N.", valueName: "policy"))
    var onMiss: String = "hashPath"

    @Option(help: ArgumentHelp("The path of the shard server's readiness probe.", valueName: "path"))
    var probePath: String = "/healthz"

    @Option(help: ArgumentHelp("An extra label on every object and pod (repeatable).", valueName: "key=value"))
    var label: [String] = []

    @Option(help: ArgumentHelp("A persistent volume of this size per shard (volumeClaimTemplates), e.g. 10Gi.", valueName: "size"))
    var storage: String?

    @Option(help: ArgumentHelp("The StorageClass of the shard volumes (default: the cluster's).", valueName: "class"))
    var storageClass: String?

    @Option(help: ArgumentHelp("Where the shard volume is mounted.", valueName: "path"))
    var storagePath: String = "/data"

    @Option(help: ArgumentHelp("CPU request of the shard server.", valueName: "quantity"))
    var cpu: String = "100m"

    @Option(help: ArgumentHelp("Memory request of the shard server.", valueName: "quantity"))
    var memory: String = "128Mi"

    @Option(help: ArgumentHelp("CPU limit of the shard server (none by default).", valueName: "quantity"))
    var cpuLimit: String?

    @Option(help: ArgumentHelp("Memory limit of the shard server (none by default).", valueName: "quantity"))
    var memoryLimit: String?

    @Option(help: ArgumentHelp("The non-root user id the pods run as.", valueName: "uid"))
    var runAsUser: Int = 65532

    @Option(help: ArgumentHelp("Also write an example client Deployment with this name, opted in to sidecar injection.", valueName: "name"))
    var client: String?

    @Option(help: ArgumentHelp("The example client's image (with --client).", valueName: "image"))
    var clientImage: String?

    @Option(help: ArgumentHelp("The example client's replicas.", valueName: "n"))
    var clientReplicas: Int = 2

    @Option(help: ArgumentHelp("Write a kustomize folder here instead of YAML to stdout.", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Reshard: the deployed config (the ConfigMap's config.yaml); prints the plan and the safe steps. Needs --output.", valueName: "config"))
    var fromConfig: String?

    @Option(help: ArgumentHelp("Reshard: plan with K generated keys (the same sample as `shardline plan`).", valueName: "k"))
    var sample: Int = 100_000

    @Flag(help: "Reshard: print one JSON object (plan, direction, steps with kind, title, reason, commands, files) instead of text.")
    var json = false

    func validate() throws {
        if clientImage != nil && client == nil { throw ValidationError("--client-image needs --client NAME") }
        if client != nil && clientImage == nil { throw ValidationError("--client needs --client-image IMAGE (the example client's image)") }
        if fromConfig != nil && output == nil {
            throw ValidationError("--from-config writes the new objects to a folder that the printed kubectl commands apply; add --output DIR")
        }
        if json && fromConfig == nil { throw ValidationError("--json is for resharding (with --from-config); without it the output is YAML") }
        guard (1...100_000_000).contains(sample) else { throw ValidationError("--sample must be in 1...100000000") }
        _ = try makeService()
    }

    func run() throws {
        let service = try makeService()
        let header = "Generated by: \(service.spec.commandLine)\nChange the flags and run it again rather than editing these files."
        guard let fromConfig, let output else {
            let manifests = ShardManifests(service)
            if let output {
                try write(manifests.folder(header: header), to: output)
            } else {
                print(manifests.stream(header: header), terminator: "")
            }
            return
        }
        let deployed = try ConfigSource.load(path: fromConfig)
        let guide: ReshardGuide
        do {
            guide = try ReshardGuide(deployed: deployed, target: service, keys: SampleKeys.generate(count: sample), folder: output)
        } catch {
            throw ValidationError(error.description)
        }
        let files = guide.manifests.folder(header: header)
        if guide.direction != .unchanged { try write(files, to: output) }
        if json {
            printJSON(guide.json(files: files.map { ReshardGuide.path(output, $0.fileName) }))
        } else {
            print(guide.text(), terminator: "")
            if guide.direction != .unchanged {
                print("\nThe new objects are in \(output): " + files.map(\.fileName).joined(separator: ", "))
                print("The two that change:\n")
                let changed = ["StatefulSet", "ConfigMap"].compactMap { guide.manifests.object(kind: $0)?.yaml }
                print(ManifestWriter.stream(changed), terminator: "")
            }
        }
    }

    private func makeService() throws -> ShardedService {
        guard let algorithm = PlacementAlgorithm(rawValue: algorithm) else {
            throw ValidationError("--algorithm: unknown '\(algorithm)'; use one of \(PlacementAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var spec = ShardedServiceSpec(name: name, image: image, port: port, shards: shards, pattern: pattern)
        spec.namespace = namespace
        spec.clusterDomain = clusterDomain
        spec.algorithm = algorithm
        spec.onMiss = try parseOnMiss()
        spec.probePath = probePath
        for item in label {
            guard let equals = item.firstIndex(of: "=") else {
                throw ValidationError("--label: '\(item)' is not key=value")
            }
            let key = String(item[..<equals])
            guard spec.labels[key] == nil else { throw ValidationError("--label: '\(key)' is given twice") }
            spec.labels[key] = String(item[item.index(after: equals)...])
        }
        if let storage {
            spec.storage = .init(size: storage, storageClass: storageClass, mountPath: storagePath)
        } else if storageClass != nil || storagePath != "/data" {
            throw ValidationError("--storage-class and --storage-path need --storage SIZE")
        }
        spec.resources = .init(cpuRequest: cpu, memoryRequest: memory, cpuLimit: cpuLimit, memoryLimit: memoryLimit)
        spec.runAsUser = runAsUser
        if let client, let clientImage {
            spec.client = .init(name: client, image: clientImage, replicas: clientReplicas)
        }
        do {
            return try spec.validated()
        } catch {
            throw ValidationError(error.description)
        }
    }

    private func parseOnMiss() throws -> OnMiss {
        switch onMiss {
        case "hashPath": return .hashPath
        case "reject": return .reject
        default:
            if onMiss.hasPrefix("shard:"), let shard = Int(onMiss.dropFirst("shard:".count)) { return .shard(shard) }
            throw ValidationError("--on-miss: '\(onMiss)' is not hashPath, reject or shard:N")
        }
    }

    /// Writes every file only after all of them were built; a file that cannot be written stops
    /// with its path and the reason.
    private func write(_ files: [(fileName: String, contents: String)], to folder: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: folder, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIError("--output: '\(folder)' is a file, not a folder")
        }
        do {
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for file in files {
                try Data(file.contents.utf8).write(to: URL(fileURLWithPath: folder).appendingPathComponent(file.fileName), options: .atomic)
            }
        } catch {
            throw CLIError("--output: cannot write to '\(folder)': \(error.localizedDescription)")
        }
    }
}
