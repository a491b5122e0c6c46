import ArgumentParser
import Foundation
import ShardlineInject

struct InjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inject",
        abstract: "Add the Shardline sidecar to the pods of Kubernetes manifests that ask for it.",
        discussion: """
        Reads YAML documents (from each -f FILE in order, or stdin when none is given or FILE is \
        -) and writes every document to stdout in the same order. Pod, Deployment, StatefulSet, \
        DaemonSet, ReplicaSet, Job, CronJob and List get the sidecar in their pod (template) when \
        its annotations say `shardline.io/inject: enabled` (or, with --all, unless they say \
        `disabled`); other documents come out equal in content. Common kinds without pods \
        (Service, ConfigMap, ...) pass through; any other kind is an error unless \
        --pass-unknown-kinds. The mutation is the webhook's: the same pod either way.

        Per-pod annotations override the flags: shardline.io/image, shardline.io/config-map, \
        shardline.io/cpu-request, shardline.io/memory-request, shardline.io/cpu-limit, \
        shardline.io/memory-limit, shardline.io/log-level, shardline.io/sidecar-mode \
        (native|container), shardline.io/proxy-env ("true": http_proxy/no_proxy on the app \
        containers). An injected pod is marked shardline.io/injected: <version>; injecting \
        again changes nothing.

        What was injected, and warnings (a pod that already has a `shardline` container is left \
        alone), go to stderr. Invalid YAML, an unknown kind or a pod that cannot take the \
        sidecar (hostNetwork, a container already using port 15001 or 15090, a bad annotation) \
        is an error naming the file, document and line: exit 1 and nothing on stdout.

        Example:
          shardline inject -f deploy.yaml | kubectl apply -f -
          kubectl get deploy users-client -o yaml | shardline inject --all | kubectl apply -f -
        """
    )

    @Option(name: [.short, .customLong("filename")], help: ArgumentHelp("A YAML file; - for stdin. Repeatable.", valueName: "file"))
    var files: [String] = []

    @Flag(help: "Inject into every pod template that does not say shardline.io/inject: disabled.")
    var all = false

    @Flag(help: "Copy documents of kinds shardline inject does not know unchanged instead of failing.")
    var passUnknownKinds = false

    @OptionGroup(title: "Sidecar defaults")
    var injection: InjectionOptions

    func validate() throws {
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
    }

    func run() throws {
        var sources: [ManifestSource] = []
        for file in files.isEmpty ? ["-"] : files {
            if file == "-" {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                sources.append(ManifestSource(name: "stdin", text: String(decoding: data, as: UTF8.self)))
            } else {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("shardline inject: cannot read '\(file)'\n".utf8))
                    throw ExitCode(1)
                }
                sources.append(ManifestSource(name: file, text: String(decoding: data, as: UTF8.self)))
            }
        }
        let injector = ManifestInjector(objects: ObjectInjector(pods: PodInjector(settings: injection.settings)), all: all, passUnknownKinds: passUnknownKinds)
        do {
            let result = try injector.inject(sources)
            if !result.notes.isEmpty {
                FileHandle.standardError.write(Data((result.notes.joined(separator: "\n") + "\n").utf8))
            }
            FileHandle.standardOutput.write(Data(result.yaml.utf8))
        } catch {
            FileHandle.standardError.write(Data("shardline inject: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
