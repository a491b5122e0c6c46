import Prometheus
import ShardlineCore

/// One admin answer, before it is written to a socket.
public struct AdminResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    static func json(_ status: Int, _ value: JSONValue) -> AdminResponse {
        AdminResponse(status: status, contentType: "application/json", body: Array((value.serialized() + "\n").utf8))
    }
}

/// What the admin listener answers, decided apart from any I/O so each endpoint is tested as a
/// function: `/healthz` (liveness: the process answers), `/readyz` (readiness), `/metrics`
/// (Prometheus text) and `/config` (the effective config as JSON).
///
/// The listener binds `0.0.0.0` in a pod so the kubelet and Prometheus reach it over the pod IP;
/// those need only `/healthz`, `/readyz` and `/metrics`. `/config` shows the cluster's internal
/// layout (shard pod names and addresses, the key patterns, the file path), which no other pod
/// has a reason to read, so it answers loopback clients only: `kubectl port-forward` and
/// `kubectl exec ... curl 127.0.0.1` arrive on loopback.
public struct AdminRoutes: Sendable {
    static let paths = ["/healthz", "/readyz", "/metrics", "/config"]
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    let readiness: SidecarReadiness
    let routerStore: RouterStore
    let registry: PrometheusCollectorRegistry
    /// The config file the serving config came from, shown by `/config`.
    let configPath: String

    public init(readiness: SidecarReadiness, routerStore: RouterStore, registry: PrometheusCollectorRegistry, configPath: String) {
        self.readiness = readiness
        self.routerStore = routerStore
        self.registry = registry
        self.configPath = configPath
    }

    /// - Parameters:
    ///   - method: the request method; only GET and HEAD are served.
    ///   - target: the request target; a query string is ignored.
    ///   - clientIsLocal: whether the client connected over loopback (only those see `/config`).
    public func respond(method: String, target: String, clientIsLocal: Bool) -> AdminResponse {
        let path = String(target.prefix { $0 != "?" })
        guard Self.paths.contains(path) else {
            return .json(404, .object([
                ("error", .string("not_found")),
                ("message", .string("no admin endpoint at '\(path)'; try \(Self.paths.joined(separator: ", "))")),
            ]))
        }
        guard method == "GET" || method == "HEAD" else {
            return .json(405, .object([
                ("error", .string("method_not_allowed")),
                ("message", .string("\(path) answers GET and HEAD, not \(method)")),
            ]))
        }
        switch path {
        case "/healthz":
            return .json(200, .object([("status", .string("ok"))]))
        case "/readyz":
            return readyz()
        case "/metrics":
            return AdminResponse(status: 200, contentType: Self.prometheusContentType, body: registry.emitToBuffer())
        default:
            guard clientIsLocal else {
                return .json(403, .object([
                    ("error", .string("forbidden")),
                    ("message", .string("/config shows the shard layout and is answered on loopback only; use kubectl port-forward or exec")),
                ]))
            }
            return config()
        }
    }

    private func readyz() -> AdminResponse {
        switch readiness.status {
        case .ready:
            return .json(200, .object([("ready", .bool(true)), ("generation", .int(routerStore.current.generation))]))
        case .starting:
            return .json(503, .object([("ready", .bool(false)), ("reason", .string("starting: the traffic listeners are not bound yet"))]))
        case .draining:
            return .json(503, .object([("ready", .bool(false)), ("reason", .string("draining: the sidecar is shutting down and accepts no new connections"))]))
        }
    }

    private func config() -> AdminResponse {
        let snapshot = routerStore.current
        var pairs: [(String, JSONValue)] = [
            ("generation", .int(snapshot.generation)),
            ("source", .string(configPath)),
        ]
        if case .object(let configPairs) = snapshot.router.config.json {
            pairs += configPairs
        }
        return .json(200, .object(pairs))
    }
}
