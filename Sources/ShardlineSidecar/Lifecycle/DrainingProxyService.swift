import Logging
import ServiceLifecycle

/// Runs the proxy inside the service group and marks the sidecar as draining the moment
/// graceful shutdown reaches it, so `/readyz` turns 503 while in-flight requests finish (the
/// proxy stops accepting and drains on the same signal). It also logs, once, when every
/// listener is bound, with the time from start: the figure a startup probe has to allow for.
struct DrainingProxyService: Service {
    let proxy: ProxyServer
    let listeners: [ProxyListener]
    let admin: AdminServer
    let readiness: SidecarReadiness
    let startedAt: ContinuousClock.Instant
    let logger: Logger

    func run() async throws {
        let readiness = self.readiness
        let logger = self.logger
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await announceReady() }
                do {
                    try await proxy.run()
                } catch where !proxy.isReady && !readiness.isDraining {
                    let addresses = listeners.map(\.address.description).joined(separator: ", ")
                    throw SidecarStartError("cannot listen on the traffic listeners (\(addresses)): \(error)")
                }
                group.cancelAll()
            }
            if readiness.isDraining {
                logger.info("proxy stopped; in-flight requests are done")
            }
        } onGracefulShutdown: {
            readiness.markDraining()
            logger.info("draining: stopped accepting connections, finishing in-flight requests")
        }
    }

    private func announceReady() async {
        while !Task.isCancelled && !readiness.isDraining {
            if proxy.isReady {
                let addresses = await proxy.boundAddresses().map(\.hostPortText)
                let adminAddress = await admin.boundAddress()?.hostPortText ?? "not bound"
                let millis = (ContinuousClock.now - startedAt).inMilliseconds
                logger.info("ready", metadata: [
                    "listeners": .array(addresses.map { .string($0) }),
                    "admin": .string(adminAddress),
                    "startToReadyMs": .stringConvertible((millis * 10).rounded() / 10),
                ])
                return
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
