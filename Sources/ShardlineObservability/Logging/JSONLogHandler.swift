import Logging
import ShardlineCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes every log event as one JSON object per line, the format Kubernetes log pipelines
/// (Fluent Bit, Vector, Loki) parse without a custom regex:
/// `{"ts":"2026-11-25T05:46:00.123Z","level":"info","logger":"shardline.sidecar","msg":"...",...}`,
/// metadata flattened into the same object (`upstream.host` for nested dictionaries).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let sink: any LogSink
    private let levelControl: LogLevelControl
    /// Set when a caller changes one logger's level; otherwise the shared level applies, so a
    /// config reload can change the level of every logger at once.
    private var pinnedLevel: Logger.Level?

    public init(label: String, sink: any LogSink, levelControl: LogLevelControl, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.levelControl = levelControl
        self.metadataProvider = metadataProvider
    }

    public var logLevel: Logger.Level {
        get { pinnedLevel ?? levelControl.level }
        set { pinnedLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let eventMetadata = event.metadata { merged.merge(eventMetadata) { _, new in new } }
        let line = LogLineFormat.line(
            timestamp: WallClock.now(), level: event.level, label: label,
            message: event.message.description, metadata: merged
        )
        sink.write(line: line)
    }
}

/// The log level every `JSONLogHandler` of a process follows unless a logger pins its own.
public final class LogLevelControl: Sendable {
    private let storage: Atomic<Int>

    public init(_ level: Logger.Level) {
        storage = Atomic(LogLevelControl.index(of: level))
    }

    public var level: Logger.Level {
        get { Logger.Level.allCases[storage.load(ordering: .relaxed)] }
        set { storage.store(LogLevelControl.index(of: newValue), ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> Int {
        Logger.Level.allCases.firstIndex(of: level) ?? 0
    }
}

extension Logger.Level {
    /// The swift-log level of a config file's `logLevel`.
    public init(_ level: SidecarSettings.LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}

/// Where formatted log lines go.
public protocol LogSink: Sendable {
    /// `line` has no trailing newline; the sink adds it.
    func write(line: String)
}

/// Writes lines to a file descriptor (stdout by default), one `write(2)` per line under a lock,
/// so lines from concurrent event loops never interleave.
public final class FileDescriptorLogSink: LogSink {
    public static let standardOutput = FileDescriptorLogSink(fileDescriptor: 1)

    private let fileDescriptor: Int32
    private let lock = Mutex(())

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return  // A closed stdout must not take the proxy down with it.
                    }
                }
            }
        }
    }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, pointer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, pointer, count)
    #else
    return Darwin.write(fd, pointer, count)
    #endif
}

/// The JSON object of one log line. Field order is fixed (ts, level, logger, msg, then metadata
/// sorted by key) so lines diff and grep well.
public enum LogLineFormat {
    static let reservedKeys: Set<String> = ["ts", "level", "logger", "msg"]

    public static func line(timestamp: WallClock.Instant, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var pairs: [(String, JSONValue)] = [
            ("ts", .string(RFC3339.format(timestamp))),
            ("level", .string(level.rawValue)),
            ("logger", .string(label)),
            ("msg", .string(message)),
        ]
        var flattened: [(String, JSONValue)] = []
        flatten(metadata, prefix: "", into: &flattened)
        flattened.sort { $0.0 < $1.0 }
        for (key, value) in flattened {
            // A metadata key must not overwrite the fixed fields a log pipeline indexes on.
            pairs.append((reservedKeys.contains(key) ? "metadata.\(key)" : key, value))
        }
        return JSONValue.object(pairs).serialized()
    }

    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into pairs: inout [(String, JSONValue)]) {
        for (key, value) in metadata {
            let name = prefix.isEmpty ? key : "\(prefix).\(key)"
            if case .dictionary(let nested) = value {
                flatten(nested, prefix: name, into: &pairs)
            } else {
                pairs.append((name, json(value)))
            }
        }
    }

    /// Numbers and booleans logged as values (`"status": 200`) stay JSON numbers and booleans, so
    /// a log query can compare them without parsing strings.
    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(text)
        case .stringConvertible(let convertible):
            switch convertible {
            case let number as Int: return .int(number)
            case let number as Int64: return .int(Int(number))
            case let number as Int32: return .int(Int(number))
            case let number as UInt64: return .uint(number)
            case let number as UInt: return .uint(UInt64(number))
            case let number as UInt32: return .int(Int(number))
            case let number as UInt16: return .int(Int(number))
            case let number as Double: return .double(number)
            case let flag as Bool: return .bool(flag)
            default: return .string(convertible.description)
            }
        case .array(let items):
            return .array(items.map(json))
        case .dictionary(let nested):
            return .object(nested.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
        }
    }
}
