import ShardlineCore
@testable import ShardlineInject
import Testing
import Yams

@Suite("shardline inject: YAML documents")
struct ManifestInjectorTests {
    let injector = ManifestInjector(objects: ObjectInjector(pods: PodInjector()))

    static let manifest = """
    apiVersion: v1
    kind: Service
    metadata:
      name: users
      annotations: {note: "yes", port: "8080"}
    spec:
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: users-client
    spec:
      replicas: 2
      selector:
        matchLabels: {app: users-client}
      template:
        metadata:
          labels: {app: users-client}
          annotations:
            shardline.io/inject: enabled
        spec:
          containers:
            - name: app
              image: registry.example/users-client:1.0
              args: ["--flag", "on", "0755", "1.10"]
    ---
    # a comment-only document is not a document
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: report
    spec:
      schedule: "*/5 * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers: [{name: report, image: report:1}]
    """

    func documents(_ yaml: String) throws -> [JSONValue] {
        let parser = try Parser(yaml: yaml)
        var values: [JSONValue] = []
        while let node = try parser.nextRoot() {
            let value = try YAMLTree.value(from: node)
            if value != .null { values.append(value) }
        }
        return values
    }

    @Test func injectsWhereAskedAndLeavesEveryOtherDocumentEqualInContent() throws {
        let input = try documents(Self.manifest)
        let result = try injector.inject([ManifestSource(name: "app.yaml", text: Self.manifest)])
        let output = try documents(result.yaml)
        #expect(output.count == 3)
        #expect(output[0] == input[0])
        #expect(output[2] == input[2])
        // Strings that look like other types stay strings ("yes", "on", "0755", "1.10").
        #expect(output[0].value(at: ["metadata", "annotations", "note"]) == .string("yes"))
        #expect(output[1].value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["args"] == .json(#"["--flag","on","0755","1.10"]"#))
        let inits = output[1].value(at: ["spec", "template", "spec", "initContainers"])?.arrayValue
        #expect(inits?.first?["name"] == .string("shardline"))
        #expect(result.injectedCount == 1)
        #expect(result.notes == ["app.yaml, document 2 (line 9): Deployment users-client spec.template: injected"])

        // Idempotent through YAML too.
        let again = try injector.inject([ManifestSource(name: "again", text: result.yaml)])
        #expect(again.yaml == result.yaml)
        #expect(again.injectedCount == 0)
    }

    @Test func allInjectsEveryTemplateExceptOptOutsAndListsAreWalked() throws {
        let list = """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Pod
            metadata: {name: a}
            spec: {containers: [{name: app, image: a}]}
          - apiVersion: v1
            kind: Pod
            metadata: {name: b, annotations: {shardline.io/inject: disabled}}
            spec: {containers: [{name: app, image: b}]}
        """
        let all = ManifestInjector(objects: ObjectInjector(pods: PodInjector()), all: true)
        let output = try documents(try all.inject([ManifestSource(name: "-", text: list)]).yaml)
        let items = try #require(output.first?["items"]?.arrayValue)
        #expect(items[0].value(at: ["spec", "initContainers"])?.arrayValue?.count == 1)
        #expect(items[1] == (try documents(list)).first?["items"]?.arrayValue?[1])
        // Without --all, nothing asked: the list comes out as it went in.
        let none = try documents(try injector.inject([ManifestSource(name: "-", text: list)]).yaml)
        #expect(none == (try documents(list)))
    }

    @Test(arguments: [
        ("kind: Pod\nmetadata: {name: a\nspec: {}\n", "invalid-yaml", "x.yaml, document 1 (line 3)"),
        ("apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\n  bad: indent\n", "invalid-yaml", "x.yaml, document 2 (line 6)"),
        ("apiVersion: v1\nkind: Service\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "unknown-kind", "x.yaml, document 2 (line 4)"),
        ("apiVersion: v1\nmetadata: {name: w}\n", "missing-kind", "x.yaml, document 1 (line 1)"),
        ("- just\n- a list\n", "missing-kind", "x.yaml, document 1 (line 1)"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  annotations: {shardline.io/inject: enabled}\nspec:\n  hostNetwork: true\n  containers: [{name: app, image: a}]\n", "refused", "x.yaml, document 1 (line 1)"),
    ])
    func errorsNameTheDocumentAndLine(yaml: String, code: String, location: String) {
        #expect {
            _ = try injector.inject([ManifestSource(name: "x.yaml", text: yaml)])
        } throws: { error in
            guard let error = error as? ManifestError else { return false }
            return error.code == code && error.description.hasPrefix(location + ": ")
        }
    }

    @Test func unknownKindsPassWhenAsked() throws {
        let yaml = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n"
        let passing = ManifestInjector(objects: ObjectInjector(pods: PodInjector()), passUnknownKinds: true)
        #expect(try documents(try passing.inject([ManifestSource(name: "w", text: yaml)]).yaml) == (try documents(yaml)))
    }
}
