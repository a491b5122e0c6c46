import Foundation
import ShardlineCore
@testable import ShardlineInject
import Testing

@Suite("AdmissionReviewer: AdmissionReview v1 in and out")
struct AdmissionReviewerTests {
    let reviewer = AdmissionReviewer(objects: ObjectInjector(pods: PodInjector()))

    func review(_ fixture: String, namespaceOptedIn: Bool = false) throws -> (request: JSONValue, answer: AdmissionAnswer) {
        let bytes = try Repo.fixture(fixture)
        return (try JSONParser.parse(bytes), reviewer.review(body: bytes, namespaceOptedIn: namespaceOptedIn))
    }

    func patchOperations(_ answer: AdmissionAnswer) throws -> JSONValue? {
        guard let patch = answer.body.value(at: ["response", "patch"])?.stringValue else { return nil }
        let data = try #require(Data(base64Encoded: patch))
        return try JSONParser.parse(Array(data))
    }

    @Test(arguments: ["pod-opt-in", "pod-opt-in-no-namespace", "deployment-opt-in", "statefulset-opt-in", "daemonset-opt-in", "replicaset-opt-in", "job-opt-in", "cronjob-opt-in"])
    func optedInObjectsGetAJSONPatchWithTheRequestsUID(fixture: String) throws {
        let (request, answer) = try review(fixture)
        #expect(answer.status == 200)
        #expect(answer.outcome == .injected)
        #expect(answer.body["apiVersion"] == .string("admission.k8s.io/v1"))
        #expect(answer.body["kind"] == .string("AdmissionReview"))
        let response = try #require(answer.body["response"])
        #expect(response["uid"] == request.value(at: ["request", "uid"]))
        #expect(response["allowed"] == .bool(true))
        #expect(response["patchType"] == .string("JSONPatch"))
        let operations = try #require(try patchOperations(answer)?.arrayValue)
        let paths = operations.compactMap { $0["path"]?.stringValue }
        #expect(paths.contains { $0.hasSuffix("/metadata/annotations/shardline.io~1injected") })
        #expect(paths.contains { $0.hasSuffix("/spec/initContainers") || $0.hasSuffix("/spec/initContainers/0") })
    }

    @Test(arguments: ["pod-not-opted-in", "pod-opt-out", "deployment-not-opted-in", "cronjob-not-opted-in", "pod-update"])
    func objectsThatDoNotOptInAreAllowedWithoutAPatch(fixture: String) throws {
        let (request, answer) = try review(fixture)
        #expect(answer.status == 200)
        #expect(answer.outcome == .skipped)
        #expect(answer.body["response"] == .object([("uid", request.value(at: ["request", "uid"])!), ("allowed", .bool(true))]))
    }

    @Test func theNamespaceEntryInjectsPodsWithoutTheAnnotationButNotThoseThatOptOut() throws {
        #expect(try review("pod-opt-in-no-annotations-namespace-enabled", namespaceOptedIn: true).answer.outcome == .injected)
        #expect(try review("pod-opt-in-no-annotations-namespace-enabled", namespaceOptedIn: false).answer.outcome == .skipped)
        #expect(try review("pod-opt-out", namespaceOptedIn: true).answer.outcome == .skipped)
    }

    @Test func dryRunGetsTheSamePatchAndIsReportedAsDryRun() throws {
        let dry = try review("pod-dry-run").answer
        let real = try review("pod-opt-in").answer
        #expect(dry.dryRun)
        #expect(!real.dryRun)
        #expect(try patchOperations(dry) == patchOperations(real))
    }

    @Test(arguments: [("pod-host-network", "hostNetwork"), ("pod-port-clash", "uses port 15090")])
    func refusedPodsAreAllowedUnchangedWithTheReasonAsAWarning(fixture: String, reason: String) throws {
        let answer = try review(fixture).answer
        #expect(answer.status == 200)
        #expect(answer.outcome == .refused)
        #expect(answer.body.value(at: ["response", "allowed"]) == .bool(true))
        #expect(answer.body.value(at: ["response", "patch"]) == nil)
        let warning = try #require(answer.body.value(at: ["response", "warnings"])?.arrayValue?.first?.stringValue)
        #expect(warning.hasPrefix("shardline: "))
        #expect(warning.count <= 256)
        #expect(warning.contains(reason))
        #expect(answer.detail?.contains(reason) == true)
    }

    @Test func aPodWithItsOwnShardlineContainerIsLeftAloneWithAWarning() throws {
        let answer = try review("pod-existing-sidecar").answer
        #expect(answer.outcome == .skipped)
        #expect(answer.body.value(at: ["response", "patch"]) == nil)
        #expect(answer.body.value(at: ["response", "warnings"])?.arrayValue?.first?.stringValue?.contains("left alone") == true)
    }

    @Test(arguments: [
        ("not json", "the body is not JSON"),
        ("[]", "must be an AdmissionReview object"),
        (#"{"kind":"Pod","apiVersion":"v1"}"#, "kind must be 'AdmissionReview'"),
        (#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u"}}"#, "apiVersion must be 'admission.k8s.io/v1'"),
        (#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}"#, "request is missing"),
        (#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":7}}"#, "request.uid is missing or not a string"),
    ])
    func bodiesThatAreNotAnAdmissionReviewGet400WithAMessage(body: String, message: String) {
        let answer = reviewer.review(body: Array(body.utf8), namespaceOptedIn: false)
        #expect(answer.status == 400)
        #expect(answer.outcome == nil)
        #expect(answer.body["message"]?.stringValue?.contains(message) == true, "\(answer.body.serialized())")
    }

    @Test(arguments: [
        #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","operation":"CREATE"}}"#,
        #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","operation":"CREATE","object":{"kind":"Service","metadata":{}}}}"#,
        #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","operation":"CREATE","object":{"metadata":{}}}}"#,
    ])
    func otherFailuresAreAllowedWithoutAPatch(body: String) {
        let answer = reviewer.review(body: Array(body.utf8), namespaceOptedIn: false)
        #expect(answer.status == 200)
        #expect(answer.outcome == .error)
        #expect(answer.body["response"] == .json(#"{"uid":"u1","allowed":true}"#))
        #expect(answer.detail?.isEmpty == false)
    }
}

/// The patches and `shardline inject`'s output checked by independent tools: the Python
/// `jsonpatch` package applies each patch, and `kubernetes-validate --strict` validates the
/// result against Kubernetes 1.29's and the newest schemas it ships.
@Suite("independent checks: jsonpatch + kubernetes-validate", .enabled(if: KubernetesChecker.enabled))
struct IndependentValidationTests {
    let reviewer = AdmissionReviewer(objects: ObjectInjector(pods: PodInjector()))

    @Test func everyPatchAppliesAndTheResultIsAValidObject() async throws {
        #expect(KubernetesChecker.available, "python3 with jsonpatch, PyYAML and kubernetes-validate is required (SHARDLINE_REQUIRE_PEERS=1)")
        var patches: [(name: String, object: JSONValue, patch: String)] = []
        var expected: [String: JSONValue] = [:]
        for fixture in Repo.fixtureNames {
            let bytes = try Repo.fixture(fixture)
            let object = try #require(try JSONParser.parse(bytes).value(at: ["request", "object"]))
            for namespaceOptedIn in [false, true] {
                let answer = reviewer.review(body: bytes, namespaceOptedIn: namespaceOptedIn)
                guard let patch = answer.body.value(at: ["response", "patch"])?.stringValue else { continue }
                let name = "\(fixture) (namespace opted in: \(namespaceOptedIn))"
                patches.append((name, object, patch))
                expected[name] = try ObjectInjector(pods: PodInjector()).inject(object, optedInByDefault: namespaceOptedIn).object
            }
        }
        // Every opted-in fixture (8 kinds and shapes, plus dry run and overrides) has a patch, and
        // the namespace entry adds the annotation-less pods and templates.
        #expect(patches.count >= 20)
        let (run, results) = try await KubernetesChecker.applyAndValidate(patches)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(results.count == patches.count)
        for (name, result) in results.sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success(let patched):
                // What the API server would store is exactly what the mutation produced.
                #expect(patched.canonical == expected[name]?.canonical, "\(name)")
            case .failure(let failure):
                Issue.record("\(failure.reason)")
            }
        }
    }

    @Test func injectOutputValidates() async throws {
        #expect(KubernetesChecker.available, "python3 with jsonpatch, PyYAML and kubernetes-validate is required (SHARDLINE_REQUIRE_PEERS=1)")
        var sources: [ManifestSource] = []
        for fixture in Repo.fixtureNames where fixture.hasSuffix("-opt-in") {
            let object = try #require(try JSONParser.parse(try Repo.fixture(fixture)).value(at: ["request", "object"]))
            sources.append(ManifestSource(name: fixture, text: try YAMLTree.emit(object)))
        }
        sources.append(ManifestSource(name: "example", text: try String(contentsOf: Repo.root.appendingPathComponent("manifests/example/client-deployment.yaml"), encoding: .utf8)))
        var settings = InjectionSettings()
        for native in [true, false] {
            settings.nativeSidecar = native
            settings.proxyEnv = !native
            let result = try ManifestInjector(objects: ObjectInjector(pods: PodInjector(settings: settings))).inject(sources)
            #expect(result.injectedCount == sources.count)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-inject-\(UUID().uuidString).yaml")
            try result.yaml.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let run = try await KubernetesChecker.validateYAML(file: file.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("\"documents\": \(sources.count)"))
        }
    }
}

/// What `kubectl kustomize` renders from manifests/injector, and manifests/example passed through
/// `shardline inject`, validated like the patches (cert-manager's own kinds have no schema there).
@Suite("rendered manifests", .enabled(if: KubernetesChecker.enabled && Kubectl.available))
struct RenderedManifestTests {
    @Test func theInjectorAndTheInjectedExampleAreValidObjects() async throws {
        let injector = try await Binary.run(["kubectl", "kustomize", "manifests/injector"], executable: URL(fileURLWithPath: "/usr/bin/env"))
        #expect(injector.status == 0, "\(injector.stderr)")
        let example = try await Binary.run(["kubectl", "kustomize", "manifests/example"], executable: URL(fileURLWithPath: "/usr/bin/env"))
        #expect(example.status == 0, "\(example.stderr)")
        let injected = try await Binary.run(["inject"], stdin: example.stdout)
        #expect(injected.status == 0, "\(injected.stderr)")
        #expect(injected.stderr.contains("Deployment users-client spec.template: injected"))
        for yaml in [injector.stdout, injected.stdout] {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-rendered-\(UUID().uuidString).yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let run = try await KubernetesChecker.validateYAML(file: file.path)
            #expect(run.status == 0, "\(run.stderr)")
        }
    }
}

enum Kubectl {
    static let available: Bool = {
        guard let run = try? Binary.runBlocking(["kubectl", "version", "--client"], executable: URL(fileURLWithPath: "/usr/bin/env")) else { return false }
        return run.status == 0
    }()
}

extension JSONValue {
    /// Object members sorted, for comparing with a tree that went through Python's `json`
    /// (which keeps order too, but `jsonpatch` appends new members where it likes).
    var canonical: JSONValue {
        switch self {
        case .object(let pairs): return .object(pairs.map { ($0.0, $0.1.canonical) }.sorted { $0.0 < $1.0 })
        case .array(let items): return .array(items.map(\.canonical))
        default: return self
        }
    }
}
