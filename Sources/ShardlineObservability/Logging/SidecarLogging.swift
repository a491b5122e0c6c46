import Logging
import Synchronization

/// Process-wide logging set-up for the `shardline sidecar` command. swift-log allows one
/// bootstrap per process (a second one traps), so this is idempotent: the first caller's sink
/// wins and later callers get the same level control back.
public enum SidecarLogging {
    private static let installed = Mutex<LogLevelControl?>(nil)

    /// Routes every `Logger(label:)` of the process to `JSONLogHandler` on `sink`.
    @discardableResult
    public static func bootstrap(level: Logger.Level, sink: any LogSink = FileDescriptorLogSink.standardOutput) -> LogLevelControl {
        installed.withLock { control in
            if let control {
                control.level = level
                return control
            }
            let created = LogLevelControl(level)
            LoggingSystem.bootstrap { label in
                JSONLogHandler(label: label, sink: sink, levelControl: created)
            }
            control = created
            return created
        }
    }

    /// The level control installed by `bootstrap`, if any.
    public static var levelControl: LogLevelControl? {
        installed.withLock { $0 }
    }
}
