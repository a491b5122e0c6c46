import ShardlineCore
import Yams

/// One input of `shardline inject`: a file's name (or `-`) and its text.
public struct ManifestSource: Sendable {
    public var name: String
    public var text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}

/// Where a problem is: `deploy.yaml, document 2 (line 14)`.
public struct ManifestLocation: Sendable, CustomStringConvertible, Equatable {
    public var source: String
    public var document: Int
    public var line: Int?

    public var description: String {
        "\(source), document \(document)" + (line.map { " (line \($0))" } ?? "")
    }
}

/// Why `shardline inject` produced nothing: a document it cannot read or handle, named with where.
public struct ManifestError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: String
    public var location: ManifestLocation
    public var message: String

    public var description: String { "\(location): \(message)" }
}

/// The outcome of `shardline inject`: all documents as YAML, and what to tell the user.
public struct ManifestInjection: Sendable {
    public var yaml: String
    /// One line per pod template that was injected, left alone or skipped, with its location.
    public var notes: [String]
    public var injectedCount: Int
}

/// `shardline inject`'s work without the I/O: YAML documents in, YAML documents out, every pod
/// template passed through `PodInjector`. All or nothing: any error means no output at all, so a
/// pipe into `kubectl apply` never receives half a manifest.
public struct ManifestInjector: Sendable {
    /// Kinds without a pod template that pass through unchanged.
    public static let passThroughKinds: Set<String> = [
        "Service", "ConfigMap", "Secret", "Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole",
        "ClusterRoleBinding", "Ingress", "IngressClass", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler",
        "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "LimitRange", "ResourceQuota", "PriorityClass",
        "Endpoints", "EndpointSlice", "CustomResourceDefinition", "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration", "APIService", "Gateway", "HTTPRoute", "Kustomization",
    ]

    public var objects: ObjectInjector
    /// Inject into every pod template that does not say `disabled` (`--all`).
    public var all: Bool
    /// Copy documents of kinds neither injectable nor in `passThroughKinds` instead of failing.
    public var passUnknownKinds: Bool

    public init(objects: ObjectInjector, all: Bool = false, passUnknownKinds: Bool = false) {
        self.objects = objects
        self.all = all
        self.passUnknownKinds = passUnknownKinds
    }

    public func inject(_ sources: [ManifestSource]) throws(ManifestError) -> ManifestInjection {
        var documents: [String] = []
        var notes: [String] = []
        var injectedCount = 0
        for source in sources {
            let parser: Parser
            do {
                parser = try Parser(yaml: source.text)
            } catch {
                throw ManifestError(code: "invalid-yaml", location: ManifestLocation(source: source.name, document: 1, line: Self.line(of: error)), message: Self.describe(error))
            }
            var number = 0
            while true {
                number += 1
                let node: Node?
                do {
                    node = try parser.nextRoot()
                } catch {
                    throw ManifestError(code: "invalid-yaml", location: ManifestLocation(source: source.name, document: number, line: Self.line(of: error)), message: Self.describe(error))
                }
                guard let node else { break }
                let location = ManifestLocation(source: source.name, document: number, line: node.mark?.line)
                let value: JSONValue
                do throws(YAMLTree.Failure) {
                    value = try YAMLTree.value(from: node)
                } catch {
                    throw ManifestError(code: "invalid-yaml", location: ManifestLocation(source: source.name, document: number, line: error.line ?? location.line), message: error.message)
                }
                if value == .null { continue }
                let output = try inject(value, at: location, notes: &notes, injectedCount: &injectedCount)
                do {
                    documents.append(try YAMLTree.emit(output))
                } catch {
                    throw ManifestError(code: "emit-failed", location: location, message: "cannot write the document as YAML: \(error)")
                }
            }
        }
        return ManifestInjection(yaml: documents.joined(separator: "---\n"), notes: notes, injectedCount: injectedCount)
    }

    private func inject(_ value: JSONValue, at location: ManifestLocation, notes: inout [String], injectedCount: inout Int) throws(ManifestError) -> JSONValue {
        guard let kind = value["kind"]?.stringValue, !kind.isEmpty else {
            throw ManifestError(code: "missing-kind", location: location, message: "the document has no 'kind'; is it a Kubernetes object?")
        }
        let injectable = ObjectInjector.podPath(of: kind) != nil || kind == "List" || (kind.hasSuffix("List") && value["items"] != nil)
        if !injectable {
            if Self.passThroughKinds.contains(kind) || passUnknownKinds { return value }
            throw ManifestError(
                code: "unknown-kind", location: location,
                message: "unknown kind '\(kind)': shardline inject handles \(ObjectInjector.supportedKinds.joined(separator: ", ")) and passes common kinds without pods through; --pass-unknown-kinds copies other kinds unchanged"
            )
        }
        let result: (object: JSONValue, templates: [TemplateInjection])
        do throws(InjectionError) {
            result = try objects.inject(value, optedInByDefault: all)
        } catch {
            throw ManifestError(code: error.code, location: location, message: error.message)
        }
        let name = value.value(at: ["metadata", "name"])?.stringValue ?? "(unnamed)"
        for template in result.templates {
            let subject = "\(kind) \(name)" + (template.path.isEmpty ? "" : " \(template.path)")
            switch template.result.outcome {
            case .refused:
                throw ManifestError(code: "refused", location: location, message: "\(subject): not injected: " + template.result.messages.joined(separator: "; "))
            case .injected:
                injectedCount += 1
                notes.append("\(location): \(subject): injected")
                notes += template.result.messages.map { "\(location): \(subject): warning: \($0)" }
            case .leftAlone:
                notes += template.result.messages.map { "\(location): \(subject): warning: \($0)" }
            case .alreadyInjected, .notOptedIn, .optedOut:
                break
            }
        }
        return result.object
    }

    private static func line(of error: any Error) -> Int? {
        guard let yamlError = error as? YamlError else { return nil }
        switch yamlError {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return nil
        }
    }

    private static func describe(_ error: any Error) -> String {
        guard let yamlError = error as? YamlError else { return "invalid YAML: \(error)" }
        switch yamlError {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            return "invalid YAML: \(problem)" + (context.map { " (\($0.text))" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, _):
            return "invalid YAML: duplicate keys \(duplicates.joined(separator: ", "))"
        default:
            return "invalid YAML: \(yamlError)"
        }
    }
}
