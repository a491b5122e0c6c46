import ShardlineCore
@testable import ShardlineInject
import Testing

@Suite("PodInjector: the mutation")
struct PodInjectorTests {
    let injector = PodInjector()

    static let optedIn = JSONValue.json(#"{"name":"web","annotations":{"shardline.io/inject":"enabled"},"x-unknown":{"kept":[1,2]}}"#)
    static let spec = JSONValue.json(#"""
    {"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080}],"futureField":{"a":true}}],
     "initContainers":[{"name":"migrate","image":"migrate:1"}],
     "volumes":[{"name":"data","emptyDir":{}}],
     "someFutureSpecField":"kept"}
    """#)

    func container(_ spec: JSONValue, in list: String, named name: String) -> JSONValue? {
        spec[list]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    @Test func addsANativeSidecarFirstAmongInitContainersWithProbesAndARestrictedSecurityContext() throws {
        let result = injector.inject(metadata: Self.optedIn, spec: Self.spec)
        #expect(result.outcome == .injected)
        let inits = try #require(result.spec["initContainers"]?.arrayValue)
        #expect(inits.map { $0["name"]?.stringValue } == ["shardline", "migrate"])
        let sidecar = inits[0]
        #expect(sidecar["restartPolicy"] == .string("Always"))
        #expect(sidecar["image"] == .string(InjectionSettings().image))
        #expect(sidecar["command"] == .json(#"["/shardline-sidecar"]"#))
        #expect(sidecar["args"] == .json(#"["--config","/etc/shardline/config.yaml","--listen","127.0.0.1:15001","--admin","0.0.0.0:15090"]"#))
        #expect(sidecar.value(at: ["startupProbe", "httpGet", "path"]) == .string("/readyz"))
        #expect(sidecar.value(at: ["readinessProbe", "httpGet", "path"]) == .string("/readyz"))
        #expect(sidecar.value(at: ["livenessProbe", "httpGet", "path"]) == .string("/healthz"))
        #expect(sidecar.value(at: ["livenessProbe", "httpGet", "port"]) == .string("shardline-admin"))
        #expect(sidecar["ports"] == .json(#"[{"name":"shardline-admin","containerPort":15090,"protocol":"TCP"}]"#))
        let security = try #require(sidecar["securityContext"])
        #expect(security["runAsNonRoot"] == .bool(true))
        #expect(security["readOnlyRootFilesystem"] == .bool(true))
        #expect(security["allowPrivilegeEscalation"] == .bool(false))
        #expect(security.value(at: ["capabilities", "drop"]) == .json(#"["ALL"]"#))
        #expect(security.value(at: ["seccompProfile", "type"]) == .string("RuntimeDefault"))
        #expect(sidecar["resources"] == .json(#"{"requests":{"cpu":"100m","memory":"32Mi"},"limits":{"memory":"128Mi"}}"#))
        #expect(sidecar["volumeMounts"] == .json(#"[{"name":"shardline-config","mountPath":"/etc/shardline","readOnly":true}]"#))
        #expect(result.spec["volumes"]?.arrayValue?.last == .json(#"{"name":"shardline-config","configMap":{"name":"shardline-config"}}"#))
        #expect(result.metadata.value(at: ["annotations", "shardline.io/injected"]) == .string(InjectionSettings.version))
        // The app container is untouched (no proxy env unless asked), unknown fields survive.
        #expect(result.spec["containers"] == Self.spec["containers"])
        #expect(result.spec["someFutureSpecField"] == .string("kept"))
        #expect(result.metadata["x-unknown"] == Self.optedIn["x-unknown"])
    }

    @Test func containerModeAppendsAnOrdinaryContainerWithoutRestartPolicy() throws {
        var settings = InjectionSettings()
        settings.nativeSidecar = false
        let result = PodInjector(settings: settings).inject(metadata: Self.optedIn, spec: Self.spec)
        #expect(result.outcome == .injected)
        let containers = try #require(result.spec["containers"]?.arrayValue)
        #expect(containers.map { $0["name"]?.stringValue } == ["app", "shardline"])
        #expect(containers[1]["restartPolicy"] == nil)
        #expect(result.spec["initContainers"] == Self.spec["initContainers"])
    }

    @Test func injectingTwiceGivesWhatInjectingOnceGives() {
        let once = injector.inject(metadata: Self.optedIn, spec: Self.spec)
        let twice = injector.inject(metadata: once.metadata, spec: once.spec)
        #expect(twice.outcome == .alreadyInjected)
        #expect(twice.metadata == once.metadata)
        #expect(twice.spec == once.spec)
        #expect(!twice.changed)
    }

    @Test func optInRules() {
        let none = JSONValue.json(#"{"name":"web"}"#)
        let disabled = JSONValue.json(#"{"annotations":{"shardline.io/inject":"disabled"}}"#)
        #expect(injector.inject(metadata: none, spec: Self.spec).outcome == .notOptedIn)
        #expect(injector.inject(metadata: none, spec: Self.spec, optedInByDefault: true).outcome == .injected)
        #expect(injector.inject(metadata: disabled, spec: Self.spec).outcome == .optedOut)
        // A pod's `disabled` wins over its namespace's label (or --all).
        let optedOut = injector.inject(metadata: disabled, spec: Self.spec, optedInByDefault: true)
        #expect(optedOut.outcome == .optedOut)
        #expect(optedOut.spec == Self.spec)
        let typo = injector.inject(metadata: .json(#"{"annotations":{"shardline.io/inject":"yes"}}"#), spec: Self.spec)
        #expect(typo.outcome == .refused)
        #expect(typo.messages.first?.contains("shardline.io/inject is 'yes'") == true)
    }

    @Test func aContainerNamedLikeTheSidecarIsLeftAloneWithAWarning() {
        let spec = JSONValue.json(#"{"containers":[{"name":"app","image":"a"},{"name":"shardline","image":"mine"}]}"#)
        let result = injector.inject(metadata: Self.optedIn, spec: spec)
        #expect(result.outcome == .leftAlone)
        #expect(result.spec == spec)
        #expect(result.metadata == Self.optedIn)
        #expect(result.messages.first?.contains("already has a container named 'shardline'") == true)
    }

    @Test func refusesHostNetworkPortClashesAndAVolumeOfTheSameName() {
        let hostNetwork = injector.inject(metadata: Self.optedIn, spec: .json(#"{"hostNetwork":true,"containers":[{"name":"app"}]}"#))
        #expect(hostNetwork.outcome == .refused)
        #expect(hostNetwork.messages.first?.contains("hostNetwork") == true)
        #expect(hostNetwork.messages.first?.contains("clash") == true)

        let clash = injector.inject(metadata: Self.optedIn, spec: .json(#"{"containers":[{"name":"app","ports":[{"containerPort":15001}]}]}"#))
        #expect(clash.outcome == .refused)
        #expect(clash.messages.first?.contains("spec.containers[0] ('app') uses port 15001") == true)

        let initClash = injector.inject(metadata: Self.optedIn, spec: .json(#"{"containers":[{"name":"app"}],"initContainers":[{"name":"x","ports":[{"containerPort":1,"hostPort":15090}]}]}"#))
        #expect(initClash.messages.first?.contains("spec.initContainers[0] ('x') uses port 15090 (hostPort)") == true)

        let volume = injector.inject(metadata: Self.optedIn, spec: .json(#"{"containers":[{"name":"app"}],"volumes":[{"name":"shardline-config","emptyDir":{}}]}"#))
        #expect(volume.outcome == .refused)
        #expect(volume.messages.first?.contains("volume named 'shardline-config'") == true)
    }

    @Test func annotationsOverrideTheDefaults() throws {
        let metadata = JSONValue.json(#"""
        {"annotations":{"shardline.io/inject":"enabled","shardline.io/image":"reg/shardline:2","shardline.io/config-map":"users-routing",
         "shardline.io/cpu-request":"250m","shardline.io/memory-request":"64Mi","shardline.io/cpu-limit":"1","shardline.io/memory-limit":"1Gi",
         "shardline.io/log-level":"debug","shardline.io/proxy-env":"true"}}
        """#)
        let spec = JSONValue.json(#"{"containers":[{"name":"app"},{"name":"other","env":[{"name":"http_proxy","value":"http://corp:3128"}]}]}"#)
        let result = injector.inject(metadata: metadata, spec: spec)
        #expect(result.outcome == .injected)
        let sidecar = try #require(result.spec["initContainers"]?.arrayValue?.first)
        #expect(sidecar["image"] == .string("reg/shardline:2"))
        #expect(sidecar["resources"] == .json(#"{"requests":{"cpu":"250m","memory":"64Mi"},"limits":{"cpu":"1","memory":"1Gi"}}"#))
        #expect(sidecar["args"]?.arrayValue?.suffix(2) == [.string("--log-level"), .string("debug")])
        #expect(result.spec["volumes"]?.arrayValue?.first?.value(at: ["configMap", "name"]) == .string("users-routing"))
        let app = try #require(container(result.spec, in: "containers", named: "app"))
        #expect(app["env"] == .json(#"[{"name":"http_proxy","value":"http://127.0.0.1:15001"},{"name":"no_proxy","value":"localhost,127.0.0.1,::1,kubernetes.default.svc"}]"#))
        // A container with its own http_proxy keeps it; only no_proxy is added, and a warning says so.
        let other = try #require(container(result.spec, in: "containers", named: "other"))
        #expect(other["env"]?.arrayValue?.count == 2)
        #expect(other["env"]?.arrayValue?.first?["value"] == .string("http://corp:3128"))
        #expect(result.messages == ["container 'other' already sets http_proxy; kept as it is"])
    }

    @Test(arguments: [
        ("shardline.io/log-level", "loud", "is not a level"),
        ("shardline.io/cpu-request", "lots", "is not a Kubernetes quantity"),
        ("shardline.io/memory-limit", "12XB", "is not a Kubernetes quantity"),
        ("shardline.io/config-map", "Bad_Name", "is not a ConfigMap name"),
        ("shardline.io/proxy-env", "yes", "must be \"true\" or \"false\""),
        ("shardline.io/sidecar-mode", "sidecar", "must be 'native' or 'container'"),
        ("shardline.io/image", "", "is not an image reference"),
    ])
    func badOverrideAnnotationsAreRefusedNamingTheAnnotation(annotation: String, value: String, reason: String) {
        let metadata = JSONValue.object([("annotations", .object([("shardline.io/inject", .string("enabled")), (annotation, .string(value))]))])
        let result = injector.inject(metadata: metadata, spec: Self.spec)
        #expect(result.outcome == .refused)
        #expect(result.messages.count == 1)
        #expect(result.messages.first?.hasPrefix("annotation \(annotation) '\(value)' \(reason)") == true, "\(result.messages)")
        #expect(result.spec == Self.spec)
    }

    @Test func malformedPodShapesAreRefusedNotCrashed() {
        #expect(injector.inject(metadata: .json(#"{"annotations":"x"}"#), spec: Self.spec).messages == ["metadata.annotations must be an object, not a string"])
        #expect(injector.inject(metadata: Self.optedIn, spec: .json(#"{"containers":{}}"#)).messages == ["spec.containers must be a list, not an object"])
        #expect(injector.inject(metadata: Self.optedIn, spec: .string("x")).outcome == .refused)
    }

    @Test func quantities() {
        for good in ["100m", "1", "0.5", "64Mi", "1Gi", "1e3", "2E+2", "500k", "+1", ".5", "1E", "2Ei"] { #expect(Quantity.isValid(good), "\(good)") }
        for bad in ["", "m", "1.2.3", "12XB", "1e", "ten", "1 Gi", "-"] { #expect(!Quantity.isValid(bad), "\(bad)") }
    }
}
