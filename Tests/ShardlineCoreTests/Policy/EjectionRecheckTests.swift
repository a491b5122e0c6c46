import ShardlineCore
import Testing

@Suite("EjectionRecheck")
struct EjectionRecheckTests {
    let pod = PodAddress(host: "users-1.users.default.svc.cluster.local", port: 8080)
    let other = PodAddress(host: "users-2.users.default.svc.cluster.local", port: 8080)
    let start = ContinuousClock.now

    @Test("a name with no failed connect is never looked up")
    func nothingOnRecord() {
        var recheck = EjectionRecheck(interval: .seconds(1))
        let result1 = recheck.lookUpDue(pod, now: start + .seconds(60))
        #expect(!result1)
        let result2 = recheck.answered(pod, addresses: ["10.0.0.9"])
        #expect(!result2)
    }

    @Test("looked up at most once per interval, counting from the failure, then from each lookup")
    func oncePerInterval() {
        var recheck = EjectionRecheck(interval: .seconds(1))
        recheck.connectFailed(pod, at: ["10.0.0.7"], now: start)
        let result3 = recheck.lookUpDue(pod, now: start + .milliseconds(999))
        #expect(!result3)
        let result4 = recheck.lookUpDue(pod, now: start + .seconds(1))
        #expect(result4)
        // Concurrent fail-fast requests in the same interval start no second lookup.
        let result5 = recheck.lookUpDue(pod, now: start + .milliseconds(1500))
        #expect(!result5)
        let result6 = recheck.lookUpDue(pod, now: start + .seconds(2))
        #expect(result6)
        let result7 = recheck.lookUpDue(other, now: start + .seconds(2))
        #expect(!result7)
    }

    @Test("an answer naming only failed addresses changes nothing; a new address ends it once")
    func newAddressEndsIt() {
        var recheck = EjectionRecheck(interval: .seconds(1))
        recheck.connectFailed(pod, at: ["10.0.0.7"], now: start)
        recheck.connectFailed(pod, at: ["10.0.0.8"], now: start + .milliseconds(10))
        let result8 = recheck.answered(pod, addresses: ["10.0.0.8", "10.0.0.7"])
        #expect(!result8)
        let result9 = recheck.answered(pod, addresses: [])
        #expect(!result9)
        #expect(recheck.hasFailures(pod))
        let result10 = recheck.answered(pod, addresses: ["10.0.0.7", "10.0.0.12"])
        #expect(result10)
        // Forgotten: the new pod starts with a clean record.
        #expect(!recheck.hasFailures(pod))
        let result11 = recheck.answered(pod, addresses: ["10.0.0.13"])
        #expect(!result11)
        let result12 = recheck.lookUpDue(pod, now: start + .seconds(10))
        #expect(!result12)
    }

    @Test("a reload forgets removed pods, a recovered pod is forgotten")
    func forgetting() {
        var recheck = EjectionRecheck(interval: .seconds(1))
        recheck.connectFailed(pod, at: ["10.0.0.7"], now: start)
        recheck.connectFailed(other, at: ["10.0.0.8"], now: start)
        recheck.forget(keeping: [other])
        #expect(!recheck.hasFailures(pod))
        #expect(recheck.hasFailures(other))
        recheck.recovered(other)
        #expect(!recheck.hasFailures(other))
    }
}
