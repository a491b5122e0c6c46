import Testing
import ShardlineCore

/// `ShardHealth` answers `admit` and `recordSuccess` without its lock while no address has a
/// detector stored; these check that the shortcut never hides a failure or a reload's reset.
@Suite("ShardHealth")
struct ShardHealthTests {
    let t0 = ContinuousClock.now
    let a = PodAddress(host: "10.0.0.1", port: 8080)
    let b = PodAddress(host: "10.0.0.2", port: 8080)

    func health(failures: Int = 2) -> ShardHealth {
        var settings = OutlierSettings()
        settings.consecutiveFailures = failures
        settings.baseEjection = .seconds(1)
        settings.maxEjection = .seconds(5)
        return ShardHealth(settings: settings)
    }

    @Test("an address ejected while every other is healthy is rejected; the others still pass")
    func ejectionSeenThroughTheShortcut() {
        let health = health()
        #expect(health.admit(a, at: t0) == .allow)
        #expect(health.recordFailure(a, probe: false, at: t0) == .none)
        #expect(health.recordFailure(a, probe: false, at: t0) == .ejected(duration: .seconds(1)))
        #expect(health.admit(a, at: t0 + .milliseconds(500)) == .reject(until: t0 + .seconds(1)))
        #expect(health.admit(b, at: t0 + .milliseconds(500)) == .allow)
    }

    @Test("a success after one failure forgets it, and the next failure starts the count again")
    func successClearsTheCount() {
        let health = health()
        _ = health.recordFailure(a, probe: false, at: t0)
        #expect(health.recordSuccess(a, probe: false, at: t0) == .none)
        #expect(health.recordFailure(a, probe: false, at: t0) == .none)
        #expect(health.admit(a, at: t0) == .allow)
    }

    @Test("a probe that succeeds restores the address; reset and forget drop ejections")
    func probeResetAndForget() {
        let health = health(failures: 1)
        #expect(health.recordFailure(a, probe: false, at: t0) == .ejected(duration: .seconds(1)))
        #expect(health.admit(a, at: t0 + .seconds(2)) == .probe)
        #expect(health.recordSuccess(a, probe: true, at: t0 + .seconds(2)) == .restored)
        #expect(health.admit(a, at: t0 + .seconds(2)) == .allow)

        _ = health.recordFailure(a, probe: false, at: t0)
        _ = health.recordFailure(b, probe: false, at: t0)
        health.reset(a)
        #expect(health.admit(a, at: t0) == .allow)
        #expect(health.admit(b, at: t0) == .reject(until: t0 + .seconds(1)))
        health.forget(keeping: [a])
        #expect(health.admit(b, at: t0) == .allow)
    }
}
