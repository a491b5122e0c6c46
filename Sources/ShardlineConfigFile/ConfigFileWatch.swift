/// Follows one config file across updates, for whoever serves from it (the sidecar's reloader,
/// the SDK client's hot reload): each read says whether the file is a new version, and a broken
/// file is reported once rather than on every poll.
///
/// A Kubernetes ConfigMap volume updates by renaming its `..data` symlink onto a new directory, so
/// the file's resolved path changes; an in-place edit changes the content hash. `ConfigFileVersion`
/// holds both, so either kind of update is seen.
public struct ConfigFileWatch: Sendable {
    public enum Reading: Sendable {
        /// Same version as the last read: nothing to parse.
        case unchanged
        /// A new version (or a forced re-read): parse and serve it if valid.
        case changed(ConfigFileSnapshot)
        /// The file could not be read at all.
        case unreadable(ConfigFileError)
    }

    public let path: String
    /// The version last read, valid or not, so polls do not parse the same broken file again.
    public private(set) var version: ConfigFileVersion
    private var reportedFailure: String?

    /// - Parameter version: the version the serving config was read from.
    public init(path: String, version: ConfigFileVersion) {
        self.path = path
        self.version = version
    }

    /// Reads the file. A poll (`force: false`) skips an unchanged version; a signal or an explicit
    /// request (`force: true`) always re-reads.
    public mutating func read(force: Bool) -> Reading {
        let snapshot: ConfigFileSnapshot
        do throws(ConfigFileError) {
            snapshot = try ConfigFile.read(path: path)
        } catch {
            return .unreadable(error)
        }
        if !force && snapshot.version == version { return .unchanged }
        version = snapshot.version
        return .changed(snapshot)
    }

    /// Whether a failure deserves a log line and a count: a poll meets a broken file every interval
    /// until it is fixed, so it is reported once; a forced read is someone asking, so it always is.
    public mutating func shouldReport(failure message: String, forced: Bool) -> Bool {
        defer { reportedFailure = message }
        return forced || reportedFailure != message
    }

    /// The file served: the next failure is news again.
    public mutating func succeeded() {
        reportedFailure = nil
    }
}
