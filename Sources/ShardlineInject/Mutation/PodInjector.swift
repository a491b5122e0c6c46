import ShardlineCore

/// What injection did to one pod (or pod template), and why.
public struct PodInjection: Sendable {
    public enum Outcome: String, Sendable, Equatable {
        /// The sidecar was added.
        case injected
        /// The pod carries the injector's mark and its sidecar already: nothing to do.
        case alreadyInjected
        /// Neither the pod nor its namespace (or `--all`) asked for a sidecar.
        case notOptedIn
        /// `shardline.io/inject: disabled`.
        case optedOut
        /// The pod has a container named like the sidecar that the injector did not add.
        case leftAlone
        /// The pod asked for a sidecar that cannot be added; `messages` says why.
        case refused
    }

    public var outcome: Outcome
    public var metadata: JSONValue
    public var spec: JSONValue
    /// Warnings (for `injected`, `leftAlone`) or the reason (for `refused`).
    public var messages: [String]

    public var changed: Bool { outcome == .injected }
}

/// The mutation itself: a pure function from a pod's metadata and spec (generic trees, so fields
/// this code does not know pass through untouched) to the injected ones. `shardline inject` and the
/// webhook both call this and nothing else, so both give the same pod.
public struct PodInjector: Sendable {
    public var settings: InjectionSettings

    public init(settings: InjectionSettings = InjectionSettings()) {
        self.settings = settings
    }

    /// - Parameters:
    ///   - optedInByDefault: the namespace carries `shardline.io/injection: enabled`, or
    ///     `shardline inject --all`: inject unless the pod says `disabled`.
    public func inject(metadata: JSONValue?, spec: JSONValue?, optedInByDefault: Bool = false) -> PodInjection {
        let metadata = metadata ?? .object([])
        let spec = spec ?? .object([])
        func result(_ outcome: PodInjection.Outcome, _ messages: [String] = []) -> PodInjection {
            PodInjection(outcome: outcome, metadata: metadata, spec: spec, messages: messages)
        }
        guard metadata.objectPairs != nil else { return result(.refused, ["metadata must be an object, not \(metadata.typeName)"]) }
        guard spec.objectPairs != nil else { return result(.refused, ["spec must be an object, not \(spec.typeName)"]) }
        let annotationsValue = metadata["annotations"] ?? .object([])
        let annotations: [(String, JSONValue)]
        switch annotationsValue {
        case .null: annotations = []
        case .object(let pairs): annotations = pairs
        default: return result(.refused, ["metadata.annotations must be an object, not \(annotationsValue.typeName)"])
        }
        func annotation(_ name: String) -> String? {
            annotations.first { $0.0 == name }?.1.stringValue
        }

        switch annotation(InjectionAnnotation.inject) {
        case .some(InjectionAnnotation.disabled):
            return result(.optedOut)
        case .some(InjectionAnnotation.enabled):
            break
        case nil:
            guard optedInByDefault else { return result(.notOptedIn) }
        case let other?:
            return result(.refused, ["annotation \(InjectionAnnotation.inject) is '\(other)'; use '\(InjectionAnnotation.enabled)' or '\(InjectionAnnotation.disabled)'"])
        }

        var lists: [String: [JSONValue]] = [:]
        for field in ["containers", "initContainers", "volumes"] {
            switch spec[field] {
            case nil, .null?: lists[field] = []
            case .array(let items)?: lists[field] = items
            case let other?: return result(.refused, ["spec.\(field) must be a list, not \(other.typeName)"])
            }
        }
        let containers = lists["containers"]!, initContainers = lists["initContainers"]!, volumes = lists["volumes"]!

        if (containers + initContainers).contains(where: { $0["name"]?.stringValue == SidecarShape.containerName }) {
            if annotation(InjectionAnnotation.injected) != nil { return result(.alreadyInjected) }
            return result(.leftAlone, ["the pod already has a container named '\(SidecarShape.containerName)' that the injector did not add; left alone"])
        }
        if spec["hostNetwork"]?.boolValue == true {
            return result(.refused, ["hostNetwork pods share the node's ports: the sidecar's ports \(SidecarShape.trafficPort) and \(SidecarShape.adminPort) would clash with every other such pod on the node"])
        }

        let effective: InjectionSettings
        switch resolveSettings(annotation) {
        case .success(let resolved): effective = resolved
        case .failure(let problems): return result(.refused, problems.messages)
        }

        let sidecarPorts = [SidecarShape.trafficPort, SidecarShape.adminPort]
        for (field, list) in [("containers", containers), ("initContainers", initContainers)] {
            for (index, container) in list.enumerated() {
                let name = container["name"]?.stringValue ?? "#\(index)"
                for port in container["ports"]?.arrayValue ?? [] {
                    for key in ["containerPort", "hostPort"] {
                        if let number = port[key]?.integerValue, sidecarPorts.contains(number) {
                            return result(.refused, ["spec.\(field)[\(index)] ('\(name)') uses port \(number) (\(key)), which the sidecar needs (\(SidecarShape.trafficPort) traffic, \(SidecarShape.adminPort) admin)"])
                        }
                    }
                }
            }
        }
        if volumes.contains(where: { $0["name"]?.stringValue == SidecarShape.volumeName }) {
            return result(.refused, ["the pod already has a volume named '\(SidecarShape.volumeName)', which the sidecar's config would use"])
        }

        var warnings: [String] = []
        var newSpec = spec
        var newContainers = containers
        if effective.proxyEnv {
            for index in newContainers.indices {
                let name = newContainers[index]["name"]?.stringValue ?? "#\(index)"
                var env: [JSONValue]
                switch newContainers[index]["env"] {
                case nil, .null?: env = []
                case .array(let items)?: env = items
                case let other?: return result(.refused, ["spec.containers[\(index)].env must be a list, not \(other.typeName)"])
                }
                for (variable, value) in [("http_proxy", SidecarShape.proxyURL), ("no_proxy", SidecarShape.noProxy)] {
                    if env.contains(where: { $0["name"]?.stringValue == variable }) {
                        warnings.append("container '\(name)' already sets \(variable); kept as it is")
                    } else {
                        env.append(.object([("name", .string(variable)), ("value", .string(value))]))
                    }
                }
                newContainers[index]["env"] = .array(env)
            }
        }
        let sidecar = sidecarContainer(effective)
        if effective.nativeSidecar {
            newSpec["initContainers"] = .array([sidecar] + initContainers)
            if spec["containers"] != nil || effective.proxyEnv { newSpec["containers"] = .array(newContainers) }
        } else {
            newSpec["containers"] = .array(newContainers + [sidecar])
        }
        newSpec["volumes"] = .array(volumes + [
            .object([
                ("name", .string(SidecarShape.volumeName)),
                ("configMap", .object([("name", .string(effective.configMap))])),
            ]),
        ])

        var newMetadata = metadata
        var newAnnotations = annotationsValue == .null ? JSONValue.object([]) : annotationsValue
        newAnnotations[InjectionAnnotation.injected] = .string(InjectionSettings.version)
        newMetadata["annotations"] = newAnnotations
        return PodInjection(outcome: .injected, metadata: newMetadata, spec: newSpec, messages: warnings)
    }

    private struct Problems: Error { var messages: [String] }

    /// The settings with this pod's override annotations applied, each value checked before it
    /// can reach a pod spec the API server would refuse.
    private func resolveSettings(_ annotation: (String) -> String?) -> Result<InjectionSettings, Problems> {
        var resolved = settings
        var problems: [String] = []
        if let image = annotation(InjectionAnnotation.image) {
            if image.isEmpty || image.contains(where: \.isWhitespace) {
                problems.append("annotation \(InjectionAnnotation.image) '\(image)' is not an image reference")
            } else {
                resolved.image = image
            }
        }
        if let name = annotation(InjectionAnnotation.configMap) {
            if DNSNames.isSubdomain(name) {
                resolved.configMap = name
            } else {
                problems.append("annotation \(InjectionAnnotation.configMap) '\(name)' is not a ConfigMap name (lower-case DNS subdomain, at most 253 characters)")
            }
        }
        let quantities: [(String, WritableKeyPath<SidecarResources, String?>)] = [
            (InjectionAnnotation.cpuRequest, \.cpuRequest), (InjectionAnnotation.memoryRequest, \.memoryRequest),
            (InjectionAnnotation.cpuLimit, \.cpuLimit), (InjectionAnnotation.memoryLimit, \.memoryLimit),
        ]
        for (name, keyPath) in quantities {
            guard let value = annotation(name) else { continue }
            if Quantity.isValid(value) {
                resolved.resources[keyPath: keyPath] = value
            } else {
                problems.append("annotation \(name) '\(value)' is not a Kubernetes quantity (e.g. 100m, 64Mi)")
            }
        }
        if let level = annotation(InjectionAnnotation.logLevel) {
            if SidecarShape.logLevels.contains(level) {
                resolved.logLevel = level
            } else {
                problems.append("annotation \(InjectionAnnotation.logLevel) '\(level)' is not a level; use one of \(SidecarShape.logLevels.joined(separator: ", "))")
            }
        }
        if let proxyEnv = annotation(InjectionAnnotation.proxyEnv) {
            switch proxyEnv {
            case "true": resolved.proxyEnv = true
            case "false": resolved.proxyEnv = false
            default: problems.append("annotation \(InjectionAnnotation.proxyEnv) '\(proxyEnv)' must be \"true\" or \"false\"")
            }
        }
        if let mode = annotation(InjectionAnnotation.sidecarMode) {
            switch mode {
            case "native": resolved.nativeSidecar = true
            case "container": resolved.nativeSidecar = false
            default: problems.append("annotation \(InjectionAnnotation.sidecarMode) '\(mode)' must be 'native' or 'container'")
            }
        }
        return problems.isEmpty ? .success(resolved) : .failure(Problems(messages: problems))
    }

    /// The sidecar container. The command is spelled out rather than left to the image's
    /// entrypoint, so any image that ships the binaries at / works. It runs `/shardline-sidecar`
    /// (the sidecar alone, `shardline sidecar`'s flags) rather than the full CLI: paid in every
    /// client pod, its smaller binary keeps fewer code pages resident.
    func sidecarContainer(_ settings: InjectionSettings) -> JSONValue {
        var args: [JSONValue] = [
            .string("--config"), .string(SidecarShape.configPath),
            .string("--listen"), .string("127.0.0.1:\(SidecarShape.trafficPort)"),
            .string("--admin"), .string("0.0.0.0:\(SidecarShape.adminPort)"),
        ]
        if let level = settings.logLevel { args += [.string("--log-level"), .string(level)] }
        func probe(_ path: String, period: Int, failures: Int) -> JSONValue {
            .object([
                ("httpGet", .object([("path", .string(path)), ("port", .string(SidecarShape.adminPortName))])),
                ("periodSeconds", .int(period)),
                ("failureThreshold", .int(failures)),
            ])
        }
        var container: [(String, JSONValue)] = [
            ("name", .string(SidecarShape.containerName)),
            ("image", .string(settings.image)),
            ("imagePullPolicy", .string(settings.imagePullPolicy)),
        ]
        if settings.nativeSidecar { container.append(("restartPolicy", .string("Always"))) }
        container += [
            ("command", .array([.string(SidecarShape.command)])),
            ("args", .array(args)),
            ("ports", .array([.object([
                ("name", .string(SidecarShape.adminPortName)),
                ("containerPort", .int(SidecarShape.adminPort)),
                ("protocol", .string("TCP")),
            ])])),
            // The app containers of a native sidecar start once this passes: the app's first
            // request never meets a sidecar that is not listening yet.
            ("startupProbe", probe("/readyz", period: 1, failures: 30)),
            ("readinessProbe", probe("/readyz", period: 5, failures: 3)),
            ("livenessProbe", probe("/healthz", period: 10, failures: 3)),
            ("resources", settings.resources.json),
            ("securityContext", .object([
                ("runAsNonRoot", .bool(true)),
                ("runAsUser", .int(SidecarShape.user)),
                ("runAsGroup", .int(SidecarShape.user)),
                ("readOnlyRootFilesystem", .bool(true)),
                ("allowPrivilegeEscalation", .bool(false)),
                ("capabilities", .object([("drop", .array([.string("ALL")]))])),
                ("seccompProfile", .object([("type", .string("RuntimeDefault"))])),
            ])),
            ("volumeMounts", .array([.object([
                ("name", .string(SidecarShape.volumeName)),
                ("mountPath", .string(SidecarShape.configDirectory)),
                ("readOnly", .bool(true)),
            ])])),
        ]
        return .object(container)
    }
}

/// Kubernetes object-name rules the injector checks before writing a name into a pod.
enum DNSNames {
    /// RFC 1123 subdomain: what ConfigMap names must be.
    static func isSubdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            return label.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
                && first != "-" && last != "-"
        }
    }
}
