import ShardlineCore

/// Injection into one pod template of an object, with where it sits (`spec.template`).
public struct TemplateInjection: Sendable {
    /// The template's path in the object, dotted (`spec.jobTemplate.spec.template`; empty for a Pod).
    public var path: String
    public var result: PodInjection
}

/// Why an object cannot be handled at all (as opposed to a pod the injector refuses).
public struct InjectionError: Error, CustomStringConvertible, Sendable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func unsupportedKind(_ kind: String) -> InjectionError {
        InjectionError(code: "unsupported-kind", message: "kind '\(kind)' has no pod template; supported: \(ObjectInjector.supportedKinds.joined(separator: ", "))")
    }
}

/// Finds the pod (or pod templates) inside a Kubernetes object and runs `PodInjector` on each.
public struct ObjectInjector: Sendable {
    public static let supportedKinds = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "List"]

    public var pods: PodInjector

    public init(pods: PodInjector) {
        self.pods = pods
    }

    /// Where a kind keeps its pod: the path of the object holding `metadata` and `spec`.
    static func podPath(of kind: String) -> [String]? {
        switch kind {
        case "Pod": return []
        case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job": return ["spec", "template"]
        case "CronJob": return ["spec", "jobTemplate", "spec", "template"]
        default: return nil
        }
    }

    /// The object with every pod template injected as its annotations (and `optedInByDefault`)
    /// ask, plus what happened to each. A `List`'s items are handled one by one.
    public func inject(_ object: JSONValue, optedInByDefault: Bool) throws(InjectionError) -> (object: JSONValue, templates: [TemplateInjection]) {
        guard object.objectPairs != nil else {
            throw InjectionError(code: "not-an-object", message: "a Kubernetes object must be a mapping, not \(object.typeName)")
        }
        guard let kind = object["kind"]?.stringValue, !kind.isEmpty else {
            throw InjectionError(code: "missing-kind", message: "the document has no 'kind'")
        }
        if kind == "List" || kind.hasSuffix("List") && object["items"] != nil {
            guard case .array(let items)? = object["items"] else {
                throw InjectionError(code: "invalid-list", message: "a \(kind)'s 'items' must be a list")
            }
            var newItems: [JSONValue] = []
            var templates: [TemplateInjection] = []
            for (index, item) in items.enumerated() {
                let (injected, itemTemplates) = try inject(item, optedInByDefault: optedInByDefault)
                newItems.append(injected)
                templates += itemTemplates.map { TemplateInjection(path: "items[\(index)]" + ($0.path.isEmpty ? "" : ".\($0.path)"), result: $0.result) }
            }
            var list = object
            if templates.contains(where: \.result.changed) { list["items"] = .array(newItems) }
            return (list, templates)
        }
        guard let path = Self.podPath(of: kind) else { throw .unsupportedKind(kind) }
        let pod = path.isEmpty ? object : object.value(at: path)
        let result = pods.inject(metadata: pod?["metadata"], spec: pod?["spec"], optedInByDefault: optedInByDefault)
        var injected = object
        if result.changed {
            injected.setValue(result.metadata, at: path + ["metadata"])
            injected.setValue(result.spec, at: path + ["spec"])
        }
        return (injected, [TemplateInjection(path: path.joined(separator: "."), result: result)])
    }
}
