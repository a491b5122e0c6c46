import Foundation
import Logging
import Synchronization
import Testing
@testable import ShardlineSidecar

extension Ops {
    @Suite("JSON log lines")
    struct JSONLoggingTests {
        // Expected instants computed independently (Python's datetime), not by the code under test.
        @Test("timestamps are RFC 3339 UTC with milliseconds", arguments: [
            (Int64(0), Int64(0), "1970-01-01T00:00:00.000Z"),
            (951_782_400, 0, "2000-02-29T00:00:00.000Z"),
            (1_795_585_560, 123_456_789, "2026-11-25T05:46:00.123Z"),
            (13_574_649_599, 999_999_999, "2400-02-29T23:59:59.999Z"),
            (-1, 0, "1969-12-31T23:59:59.000Z"),
        ])
        func timestamps(seconds: Int64, nanoseconds: Int64, expected: String) {
            #expect(RFC3339.format(WallClock.Instant(seconds: seconds, nanoseconds: nanoseconds)) == expected)
        }

        @Test("a line is one JSON object: fixed fields first, metadata flattened and typed")
        func lineShape() throws {
            let line = LogLineFormat.line(
                timestamp: WallClock.Instant(seconds: 1_795_585_560, nanoseconds: 5_000_000), level: .warning,
                label: "shardline.access", message: "he said \"hi\"\nthen left",
                metadata: [
                    "status": .stringConvertible(503),
                    "durationMs": .stringConvertible(1.5),
                    "retried": .stringConvertible(true),
                    "upstream": .dictionary(["host": "users-1.users", "port": .stringConvertible(8080)]),
                    "tags": .array(["a", "b"]),
                    "msg": "a metadata key that collides with a fixed field",
                ]
            )
            #expect(!line.contains("\n"))
            #expect(line.hasPrefix(#"{"ts":"2026-11-25T05:46:00.005Z","level":"warning","logger":"shardline.access","msg":"he said \"hi\"\nthen left""#))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["msg"] as? String == "he said \"hi\"\nthen left")
            #expect(object["metadata.msg"] as? String == "a metadata key that collides with a fixed field")
            #expect(object["status"] as? Int == 503)
            #expect(object["durationMs"] as? Double == 1.5)
            #expect(object["retried"] as? Bool == true)
            #expect(object["upstream.host"] as? String == "users-1.users")
            #expect(object["upstream.port"] as? Int == 8080)
            #expect(object["tags"] as? [String] == ["a", "b"])
        }

        @Test("the shared level gates every handler; a logger can pin its own")
        func levels() throws {
            let sink = CapturingSink()
            let control = LogLevelControl(.info)
            var logger = Logger(label: "test") { JSONLogHandler(label: $0, sink: sink, levelControl: control) }
            logger.debug("hidden at info")
            control.level = .debug
            logger.debug("shown at debug", metadata: ["request": "r1"])
            logger.logLevel = .error
            logger.warning("hidden: this logger is pinned to error")
            control.level = .trace
            logger.info("still hidden: the pin outranks the shared level")

            let lines = sink.lines
            try #require(lines.count == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect(object["msg"] as? String == "shown at debug")
            #expect(object["level"] as? String == "debug")
            #expect(object["logger"] as? String == "test")
            #expect(object["request"] as? String == "r1")
            #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
        }
    }
}

extension Ops {
    final class CapturingSink: LogSink {
        private let captured = Mutex<[String]>([])
        var lines: [String] { captured.withLock { $0 } }
        func write(line: String) { captured.withLock { $0.append(line) } }
    }
}
