import ShardlineCore

/// One Kubernetes object the generator writes, with the file it goes to in a kustomize folder.
public struct GeneratedObject: Sendable {
    public var kind: String
    public var name: String
    public var fileName: String
    public var value: ManifestValue

    public var yaml: String { ManifestWriter.document(value) }
}

/// The objects of a sharded service, all derived from one validated spec: the StatefulSet, its
/// headless Service, the routing ConfigMap, a PodDisruptionBudget, and optionally an example client.
public struct ShardManifests: Sendable {
    public let service: ShardedService
    /// The client config the ConfigMap holds: this service alone, or when resharding, the deployed
    /// config with this service's shard count changed (other services in it stay as they were).
    public let config: ShardlineConfig
    public let objects: [GeneratedObject]

    /// The name of the ConfigMap the sidecar (and the injector's default) mounts.
    public static let configMapName = "shardline-config"
    /// The key of the config file inside the ConfigMap: mounted as /etc/shardline/config.yaml.
    public static let configKey = "config.yaml"
    /// Labels that select the shard pods. Fixed at creation: a StatefulSet's selector is immutable.
    public static let selectorLabelKeys: Set<String> = ["app.kubernetes.io/name", "app.kubernetes.io/component"]
    public static let injectAnnotation = "shardline.io/inject"

    public init(_ service: ShardedService, config: ShardlineConfig? = nil) {
        self.service = service
        let config = config ?? ShardlineConfig(services: [service.service])
        self.config = config
        let builder = ObjectBuilder(service: service, config: config)
        var objects = [builder.statefulSet(), builder.headlessService(), builder.configMap(), builder.podDisruptionBudget()]
        if let client = service.spec.client { objects.append(builder.clientDeployment(client)) }
        self.objects = objects
    }

    /// The objects as one YAML stream, for stdout and `kubectl apply -f -`.
    public func stream(header: String?) -> String {
        ManifestWriter.stream(objects.map(\.yaml), header: header)
    }

    /// The files of a kustomize folder: one per object, then `kustomization.yaml` listing them.
    public func folder(header: String?) -> [(fileName: String, contents: String)] {
        let kustomization = ManifestValue.map([
            ManifestEntry("apiVersion", "kustomize.config.k8s.io/v1beta1"),
            ManifestEntry("kind", "Kustomization"),
            ManifestEntry("resources", .list(objects.map { .string($0.fileName) })),
        ])
        return objects.map { ($0.fileName, $0.yaml) } + [("kustomization.yaml", ManifestWriter.document(kustomization, header: header))]
    }

    public func object(kind: String) -> GeneratedObject? {
        objects.first { $0.kind == kind }
    }
}

/// Builds each object. Every name, port and count comes from the validated spec and the topology
/// derived from it, so the objects and the ConfigMap cannot disagree.
private struct ObjectBuilder {
    let service: ShardedService
    let config: ShardlineConfig
    var spec: ShardedServiceSpec { service.spec }
    var topology: StatefulSetTopology { service.topology }

    var selectorLabels: [String: String] {
        ["app.kubernetes.io/name": spec.name, "app.kubernetes.io/component": "shard"]
    }

    var shardLabels: [String: String] {
        spec.labels.merging(selectorLabels) { _, fixed in fixed }.merging(["app.kubernetes.io/managed-by": "shardline"]) { _, fixed in fixed }
    }

    func metadata(name: String, labels: [String: String]) -> ManifestValue {
        .map([
            ManifestEntry("name", .string(name)),
            ManifestEntry("namespace", .string(topology.namespace)),
            ManifestEntry("labels", .sortedMap(labels)),
        ])
    }

    /// Pod-level settings of the restricted Pod Security profile: a non-root user and the runtime's
    /// default seccomp profile.
    func podSecurityContext(fsGroup: Bool) -> ManifestValue {
        var entries: [ManifestEntry] = [
            ManifestEntry("runAsNonRoot", true),
            ManifestEntry("runAsUser", .int(spec.runAsUser)),
            ManifestEntry("runAsGroup", .int(spec.runAsUser)),
        ]
        if fsGroup { entries.append(ManifestEntry("fsGroup", .int(spec.runAsUser), comment: "The shard volume is writable by that group.")) }
        entries.append(ManifestEntry("seccompProfile", .map([ManifestEntry("type", "RuntimeDefault")])))
        return .map(entries)
    }

    /// Container-level settings of the restricted profile: no privilege escalation, no capabilities.
    var containerSecurityContext: ManifestValue {
        .map([
            ManifestEntry("allowPrivilegeEscalation", false),
            ManifestEntry("capabilities", .map([ManifestEntry("drop", .list(["ALL"]))])),
            ManifestEntry("runAsNonRoot", true),
        ])
    }

    var resources: ManifestValue? {
        let r = spec.resources
        var requests: [ManifestEntry] = []
        var limits: [ManifestEntry] = []
        if let cpu = r.cpuRequest { requests.append(ManifestEntry("cpu", .string(cpu))) }
        if let memory = r.memoryRequest { requests.append(ManifestEntry("memory", .string(memory))) }
        if let cpu = r.cpuLimit { limits.append(ManifestEntry("cpu", .string(cpu))) }
        if let memory = r.memoryLimit { limits.append(ManifestEntry("memory", .string(memory))) }
        var entries: [ManifestEntry] = []
        if !requests.isEmpty { entries.append(ManifestEntry("requests", .map(requests))) }
        if !limits.isEmpty { entries.append(ManifestEntry("limits", .map(limits))) }
        return entries.isEmpty ? nil : .map(entries)
    }

    func statefulSet() -> GeneratedObject {
        var container: [ManifestEntry] = [
            ManifestEntry("name", .string(spec.name)),
            ManifestEntry("image", .string(spec.image)),
            ManifestEntry("ports", .list([.map([ManifestEntry("name", "http"), ManifestEntry("containerPort", .int(topology.port))])])),
            ManifestEntry("readinessProbe", .map([
                ManifestEntry("httpGet", .map([ManifestEntry("path", .string(spec.probePath)), ManifestEntry("port", "http")])),
                ManifestEntry("periodSeconds", 5),
                ManifestEntry("failureThreshold", 3),
            ]), comment: "Ready = serving: with publishNotReadyAddresses: false only a Ready pod has a DNS record,\nso clients reach a shard only once this passes."),
        ]
        if let resources { container.append(ManifestEntry("resources", resources)) }
        container.append(ManifestEntry("securityContext", containerSecurityContext))
        if let storage = spec.storage {
            container.append(ManifestEntry("volumeMounts", .list([.map([ManifestEntry("name", "data"), ManifestEntry("mountPath", .string(storage.mountPath))])])))
        }
        var specEntries: [ManifestEntry] = [
            ManifestEntry("serviceName", .string(topology.service), comment: "The headless Service: part of every pod's DNS name,\n\(topology.statefulSet)-<ordinal>.\(topology.service).\(topology.namespace).svc.\(topology.clusterDomain)."),
            ManifestEntry("replicas", .int(topology.replicas), comment: "The shard count: equal to services[\(spec.name)].replicas in the ConfigMap \(ShardManifests.configMapName).\nChange both with `shardline generate --from-config`, which prints the safe order."),
            ManifestEntry("podManagementPolicy", "Parallel", comment: "Shards are independent: start and replace them all at once, not one after another."),
            ManifestEntry("selector", .map([ManifestEntry("matchLabels", .sortedMap(selectorLabels))])),
            ManifestEntry("template", .map([
                ManifestEntry("metadata", .map([ManifestEntry("labels", .sortedMap(shardLabels))])),
                ManifestEntry("spec", .map([
                    ManifestEntry("automountServiceAccountToken", false, comment: "A shard server needs no Kubernetes API access."),
                    ManifestEntry("securityContext", podSecurityContext(fsGroup: spec.storage != nil), comment: "Meets the Pod Security Standards' restricted profile (with the container's below)."),
                    ManifestEntry("containers", .list([.map(container)])),
                ])),
            ])),
        ]
        if let storage = spec.storage {
            var claim: [ManifestEntry] = [ManifestEntry("accessModes", .list(["ReadWriteOnce"]))]
            if let storageClass = storage.storageClass { claim.append(ManifestEntry("storageClassName", .string(storageClass))) }
            claim.append(ManifestEntry("resources", .map([ManifestEntry("requests", .map([ManifestEntry("storage", .string(storage.size))]))])))
            specEntries.append(ManifestEntry("volumeClaimTemplates", .list([.map([
                ManifestEntry("metadata", .map([ManifestEntry("name", "data"), ManifestEntry("labels", .sortedMap(selectorLabels))])),
                ManifestEntry("spec", .map(claim)),
            ])]), comment: "One volume per ordinal (data-\(topology.statefulSet)-<ordinal>): a shard's data stays with its keys.\nScaling down keeps the volumes of removed ordinals; scaling up again reattaches them."))
        }
        let value = ManifestValue.map([
            ManifestEntry("apiVersion", "apps/v1"),
            ManifestEntry("kind", "StatefulSet"),
            ManifestEntry("metadata", metadata(name: topology.statefulSet, labels: shardLabels)),
            ManifestEntry("spec", .map(specEntries)),
        ])
        return GeneratedObject(kind: "StatefulSet", name: topology.statefulSet, fileName: "\(topology.statefulSet)-statefulset.yaml", value: value)
    }

    func headlessService() -> GeneratedObject {
        let value = ManifestValue.map([
            ManifestEntry("apiVersion", "v1"),
            ManifestEntry("kind", "Service"),
            ManifestEntry("metadata", metadata(name: topology.service, labels: shardLabels)),
            ManifestEntry("spec", .map([
                ManifestEntry("clusterIP", "None", comment: "Headless: DNS answers with each pod's own record, not one load-balanced virtual IP."),
                ManifestEntry("publishNotReadyAddresses", false, comment: """
                false: a shard pod has a DNS record only while it is Ready. A pod that is starting or
                restarting has none, so a client's sidecar gets no address for it and answers 503 at
                once (outlier detection then fails it fast), instead of connecting to a server that
                cannot serve yet; it reaches the pod within dnsRefreshInterval of its record returning.
                This is also why growing waits for the new pods to be Ready before the ConfigMap changes.
                """),
                ManifestEntry("selector", .sortedMap(selectorLabels)),
                ManifestEntry("ports", .list([.map([
                    ManifestEntry("name", "http"),
                    ManifestEntry("port", .int(topology.port)),
                    ManifestEntry("targetPort", "http"),
                ])])),
            ])),
        ])
        return GeneratedObject(kind: "Service", name: topology.service, fileName: "\(topology.service)-headless-service.yaml", value: value)
    }

    func configMap() -> GeneratedObject {
        let labels = spec.labels.merging(["app.kubernetes.io/part-of": "shardline", "app.kubernetes.io/managed-by": "shardline"]) { _, fixed in fixed }
        let value = ManifestValue.map([
            ManifestEntry("apiVersion", "v1"),
            ManifestEntry("kind", "ConfigMap"),
            ManifestEntry("metadata", metadata(name: ShardManifests.configMapName, labels: labels)),
            ManifestEntry("data", .map([ManifestEntry(ShardManifests.configKey, .string(ConfigYAML.render(config)))]), comment: """
            The clients' routing config (mounted by their sidecars at /etc/shardline/config.yaml).
            Its topology is the StatefulSet's: same names, namespace, port, replicas, cluster domain.
            Sidecars reload it when the kubelet updates the mounted file; keep this name fixed.
            """),
        ])
        return GeneratedObject(kind: "ConfigMap", name: ShardManifests.configMapName, fileName: "\(ShardManifests.configMapName).yaml", value: value)
    }

    func podDisruptionBudget() -> GeneratedObject {
        let value = ManifestValue.map([
            ManifestEntry("apiVersion", "policy/v1"),
            ManifestEntry("kind", "PodDisruptionBudget"),
            ManifestEntry("metadata", metadata(name: spec.name, labels: shardLabels)),
            ManifestEntry("spec", .map([
                ManifestEntry("maxUnavailable", 1, comment: """
                Every shard holds keys no other shard serves, so a voluntary disruption (a node drain)
                takes at most one shard away at a time. Whatever the shard count, one is the limit.
                """),
                ManifestEntry("unhealthyPodEvictionPolicy", "AlwaysAllow", comment: "A shard that is not Ready serves nothing; evicting it must not block a drain."),
                ManifestEntry("selector", .map([ManifestEntry("matchLabels", .sortedMap(selectorLabels))])),
            ])),
        ])
        return GeneratedObject(kind: "PodDisruptionBudget", name: spec.name, fileName: "\(spec.name)-pdb.yaml", value: value)
    }

    func clientDeployment(_ client: ShardedServiceSpec.ClientSpec) -> GeneratedObject {
        let selector = ["app.kubernetes.io/name": client.name, "app.kubernetes.io/component": "client"]
        let labels = spec.labels.merging(selector) { _, fixed in fixed }
        let variable = spec.name.uppercased().replacingAll("-", with: "_") + "_URL"
        let container = ManifestValue.map([
            ManifestEntry("name", "app"),
            ManifestEntry("image", .string(client.image)),
            ManifestEntry("env", .list([.map([
                ManifestEntry("name", .string(variable)),
                ManifestEntry("value", .string("http://\(spec.name)")),
            ])]), comment: "Plain HTTP to the service's name: with shardline.io/proxy-env the injected sidecar sets\nhttp_proxy, so the request goes through it to the right shard (or call\nhttp://127.0.0.1:15001 with Host: \(spec.name))."),
            ManifestEntry("securityContext", containerSecurityContext),
        ])
        let value = ManifestValue.map([
            ManifestEntry("apiVersion", "apps/v1"),
            ManifestEntry("kind", "Deployment"),
            ManifestEntry("metadata", metadata(name: client.name, labels: labels)),
            ManifestEntry("spec", .map([
                ManifestEntry("replicas", .int(client.replicas)),
                ManifestEntry("selector", .map([ManifestEntry("matchLabels", .sortedMap(selector))])),
                ManifestEntry("template", .map([
                    ManifestEntry("metadata", .map([
                        ManifestEntry("labels", .sortedMap(labels)),
                        ManifestEntry("annotations", .map([
                            ManifestEntry(ShardManifests.injectAnnotation, "enabled"),
                            ManifestEntry("shardline.io/proxy-env", "true"),
                        ]), comment: "Opts in to sidecar injection: the injector adds the Shardline sidecar, which\nmounts the ConfigMap \(ShardManifests.configMapName) from this namespace."),
                    ])),
                    ManifestEntry("spec", .map([
                        ManifestEntry("automountServiceAccountToken", false, comment: "Neither the app nor the sidecar needs Kubernetes API access."),
                        ManifestEntry("securityContext", podSecurityContext(fsGroup: false)),
                        ManifestEntry("containers", .list([container])),
                    ])),
                ])),
            ])),
        ])
        return GeneratedObject(kind: "Deployment", name: client.name, fileName: "\(client.name)-deployment.yaml", value: value)
    }
}
