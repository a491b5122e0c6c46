#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ShardlineCore

/// One read of the config file: its text and what identifies this version of it.
public struct ConfigFileSnapshot: Sendable, Equatable {
    /// The path as configured (`/etc/shardline/config.yaml`), used in messages.
    public var path: String
    public var text: String
    public var version: ConfigFileVersion

    public init(path: String, text: String, version: ConfigFileVersion) {
        self.path = path
        self.text = text
        self.version = version
    }
}

/// What the reloader compares between polls. Kubernetes updates a mounted ConfigMap by writing
/// a new `..2026_11_25_...` directory and renaming the `..data` symlink onto it, so the file's
/// resolved path changes on every update; the content hash also catches an in-place edit (a
/// plain file, `kubectl cp`, an editor) where the path stays the same.
public struct ConfigFileVersion: Sendable, Hashable, CustomStringConvertible {
    /// The path with every symlink resolved.
    public var resolvedPath: String
    /// FNV-1a 64 of the bytes: stable across processes, unlike Swift's `Hasher`.
    public var contentHash: UInt64

    public init(resolvedPath: String, contentHash: UInt64) {
        self.resolvedPath = resolvedPath
        self.contentHash = contentHash
    }

    public var description: String {
        let hex = String(contentHash, radix: 16)
        return "\(resolvedPath)@" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A config file that could not be read at all (as opposed to one that was read and is invalid).
public struct ConfigFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot read config file '\(path)': \(reason)" }
}

public enum ConfigFile {
    /// ConfigMaps are limited to 1 MiB; anything far larger is not a Shardline config.
    static let maximumBytes = 4 << 20

    /// Reads the config file once.
    /// - Parameter followsUpdates: the caller will read the file again to follow updates (the
    ///   sidecar, the SDK's hot reload), so it must be a file; a one-shot reader (the CLI) also
    ///   accepts a pipe such as `--config <(kubectl get cm ...)`.
    public static func read(path: String, followsUpdates: Bool = true) throws(ConfigFileError) -> ConfigFileSnapshot {
        let resolvedPath: String
        if let resolved = realpath(path, nil) {
            resolvedPath = String(cString: resolved)
            free(resolved)
        } else {
            let code = errno
            var status = stat()
            guard code == ENOENT, lstat(path, &status) == 0 else {
                throw ConfigFileError(path: path, reason: errorText(code))
            }
            // `/dev/fd/63` from `--config <(...)`: a link to a pipe, which has no path.
            guard !followsUpdates else {
                throw ConfigFileError(
                    path: path,
                    reason: "not a file; the config is re-read to follow updates, so it must be a file (a pipe cannot be read twice)"
                )
            }
            resolvedPath = path
        }

        let descriptor = open(resolvedPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ConfigFileError(path: path, reason: errorText(errno)) }
        defer { close(descriptor) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress!, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigFileError(path: path, reason: errorText(errno))
            }
            bytes += chunk[0..<count]
            if bytes.count > maximumBytes {
                throw ConfigFileError(path: path, reason: "larger than \(maximumBytes >> 20) MiB; a Shardline config is a few KiB")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigFileError(path: path, reason: "not valid UTF-8 text")
        }
        return ConfigFileSnapshot(
            path: path, text: text,
            version: ConfigFileVersion(resolvedPath: resolvedPath, contentHash: FNV1a64.hash(bytes))
        )
    }

    private static func errorText(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "error \(code)" }
        return String(cString: message)
    }
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
