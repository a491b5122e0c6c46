import ShardlineCore

/// What an injected sidecar looks like unless a pod's annotations say otherwise. One value feeds
/// both `shardline inject` and the webhook, so a pod gets the same sidecar either way.
public struct InjectionSettings: Sendable, Equatable {
    /// The version written into `shardline.io/injected`.
    public static let version = "0.1.0"

    public var image: String = "registry.example/shardline:0.1"
    public var imagePullPolicy: String = "IfNotPresent"
    /// The ConfigMap holding `config.yaml`, mounted read-only at /etc/shardline.
    public var configMap: String = "shardline-config"
    /// A native sidecar (init container with `restartPolicy: Always`, Kubernetes 1.29+) or an
    /// ordinary container for older clusters.
    public var nativeSidecar: Bool = true
    public var resources = SidecarResources()
    /// `--log-level` for the sidecar; nil keeps the config's `sidecar.logLevel`.
    public var logLevel: String?
    /// Sets `http_proxy`/`no_proxy` on the app containers.
    public var proxyEnv: Bool = false

    public init() {}
}

public struct SidecarResources: Sendable, Equatable {
    public var cpuRequest: String? = "100m"
    public var memoryRequest: String? = "32Mi"
    public var cpuLimit: String? = nil
    public var memoryLimit: String? = "128Mi"

    public init() {}

    var json: JSONValue {
        var requests = JSONValue.object([])
        var limits = JSONValue.object([])
        if let cpuRequest { requests["cpu"] = .string(cpuRequest) }
        if let memoryRequest { requests["memory"] = .string(memoryRequest) }
        if let cpuLimit { limits["cpu"] = .string(cpuLimit) }
        if let memoryLimit { limits["memory"] = .string(memoryLimit) }
        var resources = JSONValue.object([])
        if requests.objectPairs?.isEmpty == false { resources["requests"] = requests }
        if limits.objectPairs?.isEmpty == false { resources["limits"] = limits }
        return resources
    }
}

/// The fixed shape of an injected sidecar: names, ports and paths the sidecar's image and the
/// probes agree on.
public enum SidecarShape {
    public static let containerName = "shardline"
    public static let volumeName = "shardline-config"
    public static let configDirectory = "/etc/shardline"
    public static let configPath = "/etc/shardline/config.yaml"
    /// The sidecar-only binary the image (sidecar/Dockerfile) ships beside the full `/shardline`.
    public static let command = "/shardline-sidecar"
    /// The traffic listener: loopback only, never an open proxy.
    public static let trafficPort = 15001
    /// The admin listener: on all addresses so the kubelet's probes reach it over the pod IP.
    public static let adminPort = 15090
    public static let adminPortName = "shardline-admin"
    /// The image's non-root user (distroless `nonroot`).
    public static let user = 65532
    public static let proxyURL = "http://127.0.0.1:15001"
    public static let noProxy = "localhost,127.0.0.1,::1,kubernetes.default.svc"
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}

/// The annotations (and the namespace label) users write, and the mark the injector leaves.
public enum InjectionAnnotation {
    public static let inject = "shardline.io/inject"
    public static let namespaceLabel = "shardline.io/injection"
    public static let injected = "shardline.io/injected"
    public static let image = "shardline.io/image"
    public static let configMap = "shardline.io/config-map"
    public static let cpuRequest = "shardline.io/cpu-request"
    public static let memoryRequest = "shardline.io/memory-request"
    public static let cpuLimit = "shardline.io/cpu-limit"
    public static let memoryLimit = "shardline.io/memory-limit"
    public static let logLevel = "shardline.io/log-level"
    public static let proxyEnv = "shardline.io/proxy-env"
    /// `native` (default) or `container`.
    public static let sidecarMode = "shardline.io/sidecar-mode"
    public static let enabled = "enabled"
    public static let disabled = "disabled"
}

/// A Kubernetes resource quantity (`100m`, `64Mi`, `1.5`, `1e3`): checked before it goes into a
/// pod spec, since the API server would reject the whole pod for a bad one.
enum Quantity {
    private static let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"]

    static func isValid(_ text: String) -> Bool {
        if isDecimal(Substring(text)) { return true }
        for suffix in suffixes where text.hasSuffix(suffix) {
            if isDecimal(text.dropLast(suffix.count)) { return true }
        }
        if let exponent = text.lastIndex(where: { $0 == "e" || $0 == "E" }) {
            var power = text[text.index(after: exponent)...]
            if power.first == "+" || power.first == "-" { power = power.dropFirst() }
            return isDecimal(text[..<exponent]) && !power.isEmpty && power.allSatisfy(\.isASCIIDigit)
        }
        return false
    }

    private static func isDecimal(_ text: Substring) -> Bool {
        var number = text
        if number.first == "+" || number.first == "-" { number = number.dropFirst() }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        return !number.isEmpty && parts.count <= 2
            && parts.allSatisfy { $0.allSatisfy(\.isASCIIDigit) } && parts.contains { !$0.isEmpty }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
