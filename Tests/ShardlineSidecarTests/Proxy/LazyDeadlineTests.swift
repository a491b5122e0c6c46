import NIOCore
import NIOEmbedded
import Testing
@testable import ShardlineSidecar

@Suite("Lazy deadline")
struct LazyDeadlineTests {
    final class Expiries {
        var count = 0
    }

    @Test("fires once when a set deadline passes")
    func fires() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let deadline = LazyDeadline(eventLoop: loop) { expiries.count += 1 }
        deadline.set(after: .seconds(10))
        loop.advanceTime(by: .seconds(9))
        #expect(expiries.count == 0)
        loop.advanceTime(by: .seconds(1))
        #expect(expiries.count == 1)
        loop.advanceTime(by: .seconds(60))
        #expect(expiries.count == 1)
    }

    @Test("a cleared deadline never fires")
    func cleared() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let deadline = LazyDeadline(eventLoop: loop) { expiries.count += 1 }
        deadline.set(after: .seconds(10))
        deadline.clear()
        loop.advanceTime(by: .seconds(60))
        #expect(expiries.count == 0)
    }

    @Test("moving the deadline later delays the expiry to the new deadline")
    func movedLater() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let deadline = LazyDeadline(eventLoop: loop) { expiries.count += 1 }
        deadline.set(after: .seconds(10))
        loop.advanceTime(by: .seconds(5))
        deadline.set(after: .seconds(10))  // now due at 15
        loop.advanceTime(by: .seconds(9))  // 14
        #expect(expiries.count == 0)
        loop.advanceTime(by: .seconds(1))  // 15
        #expect(expiries.count == 1)
    }

    @Test("moving the deadline earlier fires at the earlier time")
    func movedEarlier() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let deadline = LazyDeadline(eventLoop: loop) { expiries.count += 1 }
        deadline.set(after: .seconds(60))
        deadline.set(after: .seconds(10))
        loop.advanceTime(by: .seconds(10))
        #expect(expiries.count == 1)
    }

    @Test("cleared and set again, it fires for the new deadline only")
    func clearedThenSet() {
        let loop = EmbeddedEventLoop()
        let expiries = Expiries()
        let deadline = LazyDeadline(eventLoop: loop) { expiries.count += 1 }
        deadline.set(after: .seconds(10))
        deadline.clear()
        loop.advanceTime(by: .seconds(8))
        deadline.set(after: .seconds(10))  // due at 18
        loop.advanceTime(by: .seconds(9))  // 17
        #expect(expiries.count == 0)
        loop.advanceTime(by: .seconds(1))
        #expect(expiries.count == 1)
    }
}
