import Foundation
import Testing
import Yams

/// `shardline generate` as users run it: the committed example stays what the command produces,
/// every manifest is valid Kubernetes, the ConfigMap routes to exactly the pods the objects create,
/// and resharding prints the core's plan and the safe order.
@Suite("shardline generate")
struct GenerateCLITests {
    /// The README's seed example; manifests/base is this command's output.
    static let seedArguments = ["generate", "--name", "users", "--image", "registry.example/users:1.0", "--port", "8080", "--shards", "3", "--pattern", "^/users/([^/]*)/"]
    static let root = CLITests.repositoryRoot
    static let peersRequired = ProcessInfo.processInfo.environment["SHARDLINE_REQUIRE_PEERS"] == "1"
    static let kubectl = DNSRestartEndToEndTests.findExecutable("kubectl")
    static let validator = DNSRestartEndToEndTests.findExecutable("kubernetes-validate")
    static let toolsPresent = kubectl != nil && validator != nil

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String]) async throws -> Run {
        try await offTheSharedThreads { try runBlocking(executable, arguments) }
    }

    static func runBlocking(_ executable: String, _ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = root
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-gen-\(UUID().uuidString).out")
        let errURL = outURL.appendingPathExtension("err")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil)
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outURL.path]) }
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        // Files rather than pipes: nothing can fill up and block the child.
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    static func shardline(_ arguments: [String]) async throws -> Run {
        try await run(CLITests.binary.path, arguments)
    }

    static func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("shardline-generate-\(UUID().uuidString)")
    }

    static func files(in folder: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            result[name] = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        }
        return result
    }

    static func object(_ folder: URL, _ file: String) throws -> [String: Any] {
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "\(file) is not one YAML mapping")
    }

    /// Writes the ConfigMap's `config.yaml` to a file of its own, as a user would extract it.
    static func extractConfig(_ folder: URL) throws -> String {
        let configMap = try object(folder, "shardline-config.yaml")
        let text = try #require(ShardManifestsDig.dig(configMap, "data", "config.yaml") as? String)
        let path = folder.appendingPathExtension("config.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: The committed example

    @Test func theCommittedExampleIsWhatGenerateProduces() async throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try await Self.shardline(Self.seedArguments + ["--output", folder.path])
        #expect(run.status == 0, "\(run.stderr)")
        let generated = try Self.files(in: folder)
        let committed = try Self.files(in: Self.root.appendingPathComponent("manifests/base"))
        #expect(Set(committed.keys) == Set(generated.keys), "manifests/base has other files than `shardline \(Self.seedArguments.joined(separator: " "))` writes")
        for (name, text) in generated {
            #expect(committed[name] == text, "manifests/base/\(name) differs from the generator's output; regenerate it with: swift run shardline \(Self.seedArguments.joined(separator: " ")) --output manifests/base")
        }
        #expect(generated["kustomization.yaml"]?.contains("--pattern '^/users/([^/]*)/'") == true)
    }

    // MARK: The ConfigMap routes to the pods the StatefulSet and Service create

    @Test(arguments: [
        ["--shards", "3"],
        ["--shards", "7", "--namespace", "shop", "--cluster-domain", "k8s.example", "--port", "9090", "--algorithm", "maglev"],
        ["--shards", "1", "--algorithm", "nginx-ketama", "--on-miss", "reject"],
    ])
    func theConfigValidatesAndRoutesToExactlyThePodDNSNames(_ extra: [String]) async throws {
        let folder = Self.temporaryFolder()
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(atPath: folder.path + ".config.yaml")
        }
        let arguments = ["generate", "--name", "orders", "--image", "registry.example/orders:2", "--pattern", "^/orders/([^/]+)"] + extra + ["--output", folder.path]
        let generate = try await Self.shardline(arguments)
        #expect(generate.status == 0, "\(generate.stderr)")
        let config = try Self.extractConfig(folder)
        let validate = try await Self.shardline(["validate", config])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")

        // What Kubernetes will create: pod <statefulSet>-<i> for i < replicas, each with the DNS name
        // <pod>.<serviceName>.<namespace>.svc.<clusterDomain>, reached on the container port.
        let statefulSet = try Self.object(folder, "orders-statefulset.yaml")
        let service = try Self.object(folder, "orders-headless-service.yaml")
        let name = try #require(ShardManifestsDig.dig(statefulSet, "metadata", "name") as? String)
        let serviceName = try #require(ShardManifestsDig.dig(statefulSet, "spec", "serviceName") as? String)
        #expect(ShardManifestsDig.dig(service, "metadata", "name") as? String == serviceName)
        #expect(ShardManifestsDig.dig(service, "spec", "clusterIP") as? String == "None")
        let namespace = try #require(ShardManifestsDig.dig(statefulSet, "metadata", "namespace") as? String)
        #expect(ShardManifestsDig.dig(service, "metadata", "namespace") as? String == namespace)
        let podLabels = try #require(ShardManifestsDig.dig(statefulSet, "spec", "template", "metadata", "labels") as? [String: String])
        let selector = try #require(ShardManifestsDig.dig(service, "spec", "selector") as? [String: String])
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value }, "the Service must select the shard pods, or they get no DNS names")
        let replicas = try #require(ShardManifestsDig.dig(statefulSet, "spec", "replicas") as? Int)
        let port = try #require(ShardManifestsDig.dig(statefulSet, "spec", "template", "spec", "containers", "0", "ports", "0", "containerPort") as? Int)
        let clusterDomain = extra.firstIndex(of: "--cluster-domain").map { extra[$0 + 1] } ?? "cluster.local"
        let expected = Set((0..<replicas).map { "\(name)-\($0).\(serviceName).\(namespace).svc.\(clusterDomain):\(port)" })

        let paths = (0..<(replicas * 60)).map { "/orders/customer-\($0)/items" }
        let route = try await Self.shardline(["route", "--config", config, "--json"] + paths)
        #expect(route.status == 0, "\(route.stderr)")
        let lines = route.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == paths.count)
        var seen: Set<String> = []
        for line in lines {
            let address = try #require(line["address"] as? String, "\(line)")
            let shard = try #require(line["shard"] as? Int)
            #expect(address == "\(name)-\(shard).\(serviceName).\(namespace).svc.\(clusterDomain):\(port)")
            seen.insert(address)
        }
        #expect(seen == expected, "every ordinal is routed to, and nothing else")
    }

    // MARK: Bad flags

    @Test(arguments: [
        (["--pattern", "^/users/[^/]+"], "capture group"),
        (["--shards", "0"], "--shards"),
        (["--name", "Users_Store"], "DNS label"),
        (["--image", "registry.example/users: 1.0"], "whitespace"),
    ])
    func aBadFlagExplainsItselfAndWritesNothing(_ change: [String], _ mention: String) async throws {
        var arguments = Self.seedArguments
        let flag = change[0]
        if let index = arguments.firstIndex(of: flag) { arguments[index + 1] = change[1] } else { arguments += change }
        let folder = Self.temporaryFolder()
        let run = try await Self.shardline(arguments + ["--output", folder.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains(flag), "\(run.stderr)")
        #expect(run.stderr.contains(mention), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path), "nothing may be written")
        #expect(run.stdout.isEmpty)
    }

    @Test func flagsThatOnlyWorkTogetherSaySo() async throws {
        let noOutput = try await Self.shardline(Self.seedArguments + ["--from-config", "sdk/examples/shardline.yaml"])
        #expect(noOutput.status != 0)
        #expect(noOutput.stderr.contains("add --output DIR"), "\(noOutput.stderr)")
        let noImage = try await Self.shardline(Self.seedArguments + ["--client", "users-client"])
        #expect(noImage.status != 0)
        #expect(noImage.stderr.contains("--client-image"), "\(noImage.stderr)")
        #expect(noImage.stdout.isEmpty)
    }

    // MARK: Resharding

    static func reshard(from: Int, to: Int) async throws -> (guide: [String: Any], plan: [String: Any], folder: URL, text: String) {
        let before = temporaryFolder()
        let after = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: before) }
        var arguments = seedArguments
        arguments[arguments.firstIndex(of: "--shards")! + 1] = String(from)
        #expect(try await shardline(arguments + ["--output", before.path]).status == 0)
        let config = try extractConfig(before)
        arguments[arguments.firstIndex(of: "--shards")! + 1] = String(to)
        let json = try await shardline(arguments + ["--from-config", config, "--output", after.path, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let text = try await shardline(arguments + ["--from-config", config, "--output", after.path])
        #expect(text.status == 0, "\(text.stderr)")
        let plan = try await shardline(["plan", "--config", config, "--replicas", String(to), "--service", "users", "--json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        try? FileManager.default.removeItem(atPath: config)
        let guide = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        let planObject = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        return (guide, planObject, after, text.stdout)
    }

    @Test func growingPrintsTheCoresPlanAndScalesBeforeTheConfigChanges() async throws {
        let (guide, plan, folder, text) = try await Self.reshard(from: 3, to: 4)
        defer { try? FileManager.default.removeItem(at: folder) }
        let guidePlan = try #require(guide["plan"] as? [String: Any])
        #expect(guidePlan["moved_fraction"] as? Double == plan["moved_fraction"] as? Double)
        #expect(guidePlan["moved"] as? Int == plan["moved"] as? Int)
        let steps = try #require(guide["steps"] as? [[String: Any]])
        #expect(steps.map { $0["kind"] as? String ?? "" } == ["scaleStatefulSet", "waitForShardsReady", "applyConfigMap", "waitForSidecarReload", "applyFolder"])
        // The printed text gives the same commands in the same order.
        let scale = try #require(text.range(of: "$ kubectl apply -f \(folder.path)/users-statefulset.yaml"))
        let ready = try #require(text.range(of: "$ kubectl -n default rollout status statefulset/users"))
        let config = try #require(text.range(of: "$ kubectl apply -f \(folder.path)/shardline-config.yaml"))
        #expect(scale.lowerBound < ready.lowerBound && ready.lowerBound < config.lowerBound)
        #expect(text.contains(String(format: "%.2f%%", (plan["moved_fraction"] as? Double ?? -1) * 100)))
        // The new objects agree with each other at the new count.
        #expect(ShardManifestsDig.dig(try Self.object(folder, "users-statefulset.yaml"), "spec", "replicas") as? Int == 4)
        let newConfig = try Self.extractConfig(folder)
        defer { try? FileManager.default.removeItem(atPath: newConfig) }
        let validate = try await Self.shardline(["validate", "--json", newConfig])
        #expect(validate.stdout.contains("\"replicas\":4"), "\(validate.stdout)")
    }

    @Test func shrinkingChangesTheConfigAndWaitsBeforeScalingDown() async throws {
        let (guide, plan, folder, text) = try await Self.reshard(from: 4, to: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect((guide["plan"] as? [String: Any])?["moved_fraction"] as? Double == plan["moved_fraction"] as? Double)
        let steps = try #require(guide["steps"] as? [[String: Any]])
        #expect(steps.map { $0["kind"] as? String ?? "" } == ["applyConfigMap", "waitForSidecarReload", "scaleStatefulSet", "applyFolder"])
        let config = try #require(text.range(of: "$ kubectl apply -f \(folder.path)/shardline-config.yaml"))
        let wait = try #require(text.range(of: "$ sleep "))
        let scale = try #require(text.range(of: "$ kubectl apply -f \(folder.path)/users-statefulset.yaml"))
        #expect(config.lowerBound < wait.lowerBound && wait.lowerBound < scale.lowerBound)
        #expect(text.contains("dnsRefreshInterval") && text.contains("syncFrequency"))
    }

    @Test func reshardingAnotherNamespaceIsRefused() async throws {
        let before = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: before) }
        #expect(try await Self.shardline(Self.seedArguments + ["--output", before.path]).status == 0)
        let config = try Self.extractConfig(before)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let after = Self.temporaryFolder()
        let run = try await Self.shardline(Self.seedArguments + ["--namespace", "shop", "--from-config", config, "--output", after.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--namespace") && run.stderr.contains("only the shard count"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: after.path))
    }

    // MARK: plan on an nginx-ketama endpoints service

    @Test func planDoesNotInventNginxKetamaServerNames() async throws {
        let refused = try await Self.shardline(["plan", "--service", "cache", "--replicas", "3"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("nginx-ketama") && refused.stderr.contains("--endpoints"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        let given = try await Self.shardline(["plan", "--service", "cache", "--endpoints", "10.0.0.5:11211,10.0.0.6:11211,10.0.0.7:11211", "--json"])
        #expect(given.status == 0, "\(given.stderr)")
        let other = try await Self.shardline(["plan", "--service", "cache", "--endpoints", "10.0.0.5:11211,10.0.0.6:11211,10.0.0.99:11211", "--json"])
        #expect(given.stdout != other.stdout, "the answer depends on the new server's address")
        let statefulSet = try await Self.shardline(["plan", "--service", "users", "--endpoints", "10.0.0.5:8080"])
        #expect(statefulSet.status != 0)
        #expect(statefulSet.stderr.contains("named by ordinal"), "\(statefulSet.stderr)")
        let shrink = try await Self.shardline(["plan", "--service", "cache", "--replicas", "1", "--json"])
        #expect(shrink.status == 0, "shrinking needs no new names: \(shrink.stderr)")
    }

    // MARK: Kubernetes schema validation

    /// Every folder under manifests/ with a kustomization, plus generated folders with every
    /// optional object, rendered by kustomize and validated strictly (unknown fields are errors).
    @Test(
        .enabled(if: toolsPresent || peersRequired, "needs kubectl and kubernetes-validate (pip install kubernetes-validate); set SHARDLINE_REQUIRE_PEERS=1 to make their absence a failure"),
        .timeLimit(.minutes(5)))
    func everyManifestPassesStrictSchemaValidation() async throws {
        guard let kubectl = Self.kubectl, let validator = Self.validator else {
            Issue.record("SHARDLINE_REQUIRE_PEERS=1 but kubectl or kubernetes-validate is missing")
            return
        }
        let work = Self.temporaryFolder()
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        var folders: [String] = []
        let manifests = Self.root.appendingPathComponent("manifests")
        if let walker = FileManager.default.enumerator(atPath: manifests.path) {
            for case let path as String in walker where path.hasSuffix("kustomization.yaml") {
                folders.append(manifests.appendingPathComponent(path).deletingLastPathComponent().path)
            }
        }
        #expect(folders.contains { $0.hasSuffix("manifests/base") } && folders.contains { $0.hasSuffix("manifests/example") })

        let full = work.appendingPathComponent("full")
        let fullRun = try await Self.shardline([
            "generate", "--name", "orders", "--image", "registry.example/orders:2", "--shards", "5", "--pattern", "^/orders/([^/]+)",
            "--namespace", "shop", "--storage", "10Gi", "--storage-class", "fast", "--cpu", "250m", "--memory", "256Mi",
            "--cpu-limit", "1", "--memory-limit", "512Mi", "--label", "team=orders", "--client", "orders-client",
            "--client-image", "registry.example/orders-client:2", "--output", full.path,
        ])
        #expect(fullRun.status == 0, "\(fullRun.stderr)")
        folders.append(full.path)
        let (_, _, resharded, _) = try await Self.reshard(from: 3, to: 4)
        defer { try? FileManager.default.removeItem(at: resharded) }
        folders.append(resharded.path)

        var rendered: [String] = []
        for (index, folder) in folders.enumerated() {
            let run = try await Self.run(kubectl, ["kustomize", folder])
            #expect(run.status == 0, "kubectl kustomize \(folder): \(run.stderr)")
            let file = work.appendingPathComponent("rendered-\(index).yaml").path
            try run.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(run.stdout.contains("kind:"), "\(folder) rendered nothing")
            rendered.append(file)
        }
        // The stdout form too (a comment header, then the objects as one stream).
        let stream = try await Self.shardline(Self.seedArguments + ["--client", "users-client", "--client-image", "registry.example/users-client:1.0", "--storage", "1Gi"])
        #expect(stream.status == 0, "\(stream.stderr)")
        let streamFile = work.appendingPathComponent("stdout.yaml").path
        try stream.stdout.write(toFile: streamFile, atomically: true, encoding: .utf8)
        rendered.append(streamFile)

        let newest = try await Self.run("/usr/bin/env", ["python3", "-c", "import kubernetes_validate.utils as u; print(u.latest_version())"])
        let newestVersion = newest.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newest.status == 0 && !newestVersion.isEmpty, "\(newest.stderr)")
        for version in ["1.29.0", newestVersion] {
            let run = try await Self.run(validator, ["--strict", "--kubernetes-version", version] + rendered)
            #expect(run.status == 0, "kubernetes-validate --strict -k \(version) failed for \(folders):\n\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("passed for resource statefulset/orders against version"), "\(run.stdout)")
            #expect(run.stdout.contains("passed for resource deployment/users-client against version"), "\(run.stdout)")
        }
    }
}

/// Reads nested values out of YAML loaded with Yams ("0" indexes a list).
enum ShardManifestsDig {
    static func dig(_ value: Any?, _ path: String...) -> Any? {
        var current = value
        for key in path {
            if let index = Int(key), let list = current as? [Any] {
                current = list.indices.contains(index) ? list[index] : nil
            } else {
                current = (current as? [String: Any])?[key]
            }
        }
        return current
    }
}
