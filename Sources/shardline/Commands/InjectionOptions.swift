import ArgumentParser
import ShardlineCore
import ShardlineInject

/// The injected sidecar's defaults, shared by `shardline inject` and `shardline webhook` so both
/// give a pod the same sidecar. A pod's `shardline.io/*` annotations override them.
struct InjectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The sidecar image (annotation shardline.io/image overrides).", valueName: "image"))
    var image: String = InjectionSettings().image

    @Option(help: ArgumentHelp("The ConfigMap with the sidecar's config.yaml, mounted read-only at /etc/shardline (annotation shardline.io/config-map).", valueName: "name"))
    var configMap: String = InjectionSettings().configMap

    @Option(help: ArgumentHelp("native: an init container with restartPolicy: Always (Kubernetes 1.29+); container: an ordinary container, for older clusters (annotation shardline.io/sidecar-mode).", valueName: "native|container"))
    var sidecarMode: String = "native"

    @Option(help: ArgumentHelp("CPU request (annotation shardline.io/cpu-request); empty for none.", valueName: "quantity"))
    var cpuRequest: String = InjectionSettings().resources.cpuRequest ?? ""

    @Option(help: ArgumentHelp("Memory request (annotation shardline.io/memory-request); empty for none.", valueName: "quantity"))
    var memoryRequest: String = InjectionSettings().resources.memoryRequest ?? ""

    @Option(help: ArgumentHelp("CPU limit (annotation shardline.io/cpu-limit); empty for none.", valueName: "quantity"))
    var cpuLimit: String = InjectionSettings().resources.cpuLimit ?? ""

    @Option(help: ArgumentHelp("Memory limit (annotation shardline.io/memory-limit); empty for none.", valueName: "quantity"))
    var memoryLimit: String = InjectionSettings().resources.memoryLimit ?? ""

    @Option(help: ArgumentHelp("The sidecar's --log-level (annotation shardline.io/log-level); default: the config's sidecar.logLevel.", valueName: "level"))
    var sidecarLogLevel: String?

    @Flag(help: "Set http_proxy/no_proxy on the app containers (annotation shardline.io/proxy-env: \"true\").")
    var proxyEnv = false

    func validate() throws {
        if image.isEmpty || image.contains(where: \.isWhitespace) { throw ValidationError("--image '\(image)' is not an image reference") }
        if !["native", "container"].contains(sidecarMode) { throw ValidationError("--sidecar-mode must be native or container, not '\(sidecarMode)'") }
        let probe = PodInjector(settings: settings)
        // The annotation checks are the flags' checks: run one pod through them.
        let annotations: [(String, String)] = [
            (InjectionAnnotation.configMap, configMap), (InjectionAnnotation.cpuRequest, cpuRequest),
            (InjectionAnnotation.memoryRequest, memoryRequest), (InjectionAnnotation.cpuLimit, cpuLimit),
            (InjectionAnnotation.memoryLimit, memoryLimit),
        ] + (sidecarLogLevel.map { [(InjectionAnnotation.logLevel, $0)] } ?? [])
        for (annotation, value) in annotations where !value.isEmpty {
            let result = probe.inject(
                metadata: .object([("annotations", .object([(InjectionAnnotation.inject, .string("enabled")), (annotation, .string(value))]))]),
                spec: .object([("containers", .array([]))])
            )
            if result.outcome == .refused {
                let flag = "--" + annotation.replacingOccurrences(of: "shardline.io/", with: "").replacingOccurrences(of: "log-level", with: "sidecar-log-level")
                throw ValidationError("\(flag) '\(value)': " + result.messages.joined(separator: "; ").replacingOccurrences(of: "annotation \(annotation) '\(value)' ", with: ""))
            }
        }
    }

    var settings: InjectionSettings {
        var settings = InjectionSettings()
        settings.image = image
        settings.configMap = configMap
        settings.nativeSidecar = sidecarMode == "native"
        settings.resources.cpuRequest = cpuRequest.isEmpty ? nil : cpuRequest
        settings.resources.memoryRequest = memoryRequest.isEmpty ? nil : memoryRequest
        settings.resources.cpuLimit = cpuLimit.isEmpty ? nil : cpuLimit
        settings.resources.memoryLimit = memoryLimit.isEmpty ? nil : memoryLimit
        settings.logLevel = sidecarLogLevel
        settings.proxyEnv = proxyEnv
        return settings
    }
}
