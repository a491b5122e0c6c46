import Testing
import ShardlineCore

@Suite("OutlierDetector")
struct OutlierDetectorTests {
    let t0 = ContinuousClock.now
    let settings = OutlierDetector.Settings(consecutiveFailures: 3, baseEjection: .seconds(1), maxEjection: .seconds(5))

    func ejectedDetector(at now: ContinuousClock.Instant) -> OutlierDetector {
        var detector = OutlierDetector(settings: settings)
        _ = detector.recordFailure(probe: false, at: now)
        _ = detector.recordFailure(probe: false, at: now)
        _ = detector.recordFailure(probe: false, at: now)
        return detector
    }

    @Test("a healthy shard admits every request")
    func healthyAdmits() {
        var detector = OutlierDetector(settings: settings)
        for _ in 0..<10 { #expect(detector.admit(at: t0) == .allow) }
    }

    @Test("the shard is ejected on exactly the configured number of consecutive failures")
    func ejectsAfterConsecutiveFailures() {
        var detector = OutlierDetector(settings: settings)
        #expect(detector.recordFailure(probe: false, at: t0) == .none)
        #expect(detector.recordFailure(probe: false, at: t0) == .none)
        #expect(detector.admit(at: t0) == .allow)
        #expect(detector.recordFailure(probe: false, at: t0) == .ejected(duration: .seconds(1)))
        #expect(detector.admit(at: t0 + .milliseconds(999)) == .reject(until: t0 + .seconds(1)))
        #expect(detector.isEjected(at: t0 + .milliseconds(500)))
    }

    @Test("a success in between resets the count")
    func successResets() {
        var detector = OutlierDetector(settings: settings)
        _ = detector.recordFailure(probe: false, at: t0)
        _ = detector.recordFailure(probe: false, at: t0)
        #expect(detector.recordSuccess(probe: false, at: t0) == .none)
        _ = detector.recordFailure(probe: false, at: t0)
        _ = detector.recordFailure(probe: false, at: t0)
        #expect(detector.admit(at: t0) == .allow)
        #expect(detector.state == .healthy(failures: 2))
    }

    @Test("after the window exactly one probe goes through; its success restores the shard")
    func probeRestores() {
        var detector = ejectedDetector(at: t0)
        let later = t0 + .seconds(1)
        #expect(detector.admit(at: later) == .probe)
        #expect(detector.admit(at: later) == .reject(until: later + .seconds(5)))
        #expect(detector.recordSuccess(probe: true, at: later) == .restored)
        #expect(detector.admit(at: later) == .allow)
        #expect(detector.state == .healthy(failures: 0))
    }

    @Test("a failed probe ejects again for double the window, capped at maxEjection")
    func failedProbeDoubles() {
        var detector = ejectedDetector(at: t0)
        var now = t0
        var windows: [Duration] = []
        var window = Duration.seconds(1)
        for _ in 0..<5 {
            now += window
            #expect(detector.admit(at: now) == .probe)
            guard case .ejected(let next) = detector.recordFailure(probe: true, at: now) else {
                Issue.record("a failed probe did not eject")
                return
            }
            windows.append(next)
            window = next
        }
        #expect(windows == [.seconds(2), .seconds(4), .seconds(5), .seconds(5), .seconds(5)])
    }

    @Test("outcomes of requests admitted before the ejection do not end it")
    func lateOutcomesIgnored() {
        var detector = ejectedDetector(at: t0)
        #expect(detector.recordSuccess(probe: false, at: t0) == .none)
        #expect(detector.recordFailure(probe: false, at: t0) == .none)
        #expect(detector.admit(at: t0 + .milliseconds(10)) == .reject(until: t0 + .seconds(1)))
        // And while a probe is out, only the probe decides.
        #expect(detector.admit(at: t0 + .seconds(1)) == .probe)
        #expect(detector.recordSuccess(probe: false, at: t0 + .seconds(1)) == .none)
        #expect(detector.isEjected(at: t0 + .seconds(1)))
    }

    @Test("an abandoned probe lets the next request probe")
    func abandonedProbe() {
        var detector = ejectedDetector(at: t0)
        let later = t0 + .seconds(1)
        #expect(detector.admit(at: later) == .probe)
        detector.recordAbandoned(probe: true, at: later)
        #expect(detector.admit(at: later) == .probe)
    }

    @Test("a probe that never reports is replaced after maxEjection")
    func lostProbeReplaced() {
        var detector = ejectedDetector(at: t0)
        let later = t0 + .seconds(1)
        #expect(detector.admit(at: later) == .probe)
        #expect(detector.admit(at: later + .seconds(4)) == .reject(until: later + .seconds(5)))
        #expect(detector.admit(at: later + .seconds(5)) == .probe)
    }

    @Test("settings are clamped to sane values")
    func settingsClamped() {
        let clamped = OutlierDetector.Settings(consecutiveFailures: 0, baseEjection: .seconds(2), maxEjection: .seconds(1))
        #expect(clamped.consecutiveFailures == 1)
        #expect(clamped.maxEjection == .seconds(2))
        #expect(OutlierDetector(settings: clamped).ejectionDuration(number: 1_000_000) == .seconds(2))
    }
}
