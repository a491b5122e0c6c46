import Foundation
import Logging
import Metrics
import NIOSSL
import ServiceLifecycle
import Synchronization
import X509

/// The webhook's TLS identity, swapped when cert-manager (or `shardline certs`) writes new files.
///
/// Each accepted connection takes the context current at that moment and keeps it for its whole
/// life, so a rotation never breaks a handshake or a connection in flight: only connections
/// accepted after the swap use the new certificate.
public final class ServingCertificate: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let state: Mutex<(context: NIOSSLContext, fingerprint: [UInt8])>

    /// Reads and checks both files; throws (naming the file) when either is unusable.
    public init(certificatePath: String, keyPath: String) throws(WebhookStartError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        let loaded = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        state = Mutex((loaded.context, loaded.fingerprint))
    }

    public var context: NIOSSLContext {
        state.withLock { $0.context }
    }

    public enum ReloadResult: Equatable, Sendable {
        case unchanged
        case reloaded
        case failed(String)
    }

    /// Re-reads the files; swaps the context when their content changed and the new pair is valid.
    /// A half-written rotation (a new certificate with the old key) fails the check and is retried
    /// on the next call, while the old pair keeps serving.
    public func reloadIfChanged() -> ReloadResult {
        let bytes: (certificate: [UInt8], key: [UInt8])
        do throws(WebhookStartError) {
            bytes = try Self.read(certificatePath: certificatePath, keyPath: keyPath)
        } catch {
            return .failed(error.description)
        }
        let fingerprint = Self.fingerprint(bytes.certificate, bytes.key)
        if state.withLock({ $0.fingerprint }) == fingerprint { return .unchanged }
        do throws(WebhookStartError) {
            let context = try Self.makeContext(certificate: bytes.certificate, key: bytes.key, certificatePath: certificatePath, keyPath: keyPath)
            state.withLock { $0 = (context, fingerprint) }
            return .reloaded
        } catch {
            return .failed(error.description)
        }
    }

    private static func load(certificatePath: String, keyPath: String) throws(WebhookStartError) -> (context: NIOSSLContext, fingerprint: [UInt8]) {
        let bytes = try read(certificatePath: certificatePath, keyPath: keyPath)
        let context = try makeContext(certificate: bytes.certificate, key: bytes.key, certificatePath: certificatePath, keyPath: keyPath)
        return (context, fingerprint(bytes.certificate, bytes.key))
    }

    private static func read(certificatePath: String, keyPath: String) throws(WebhookStartError) -> (certificate: [UInt8], key: [UInt8]) {
        func contents(_ path: String, _ what: String) throws(WebhookStartError) -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw WebhookStartError("cannot read the \(what) '\(path)'")
            }
            return Array(data)
        }
        return (try contents(certificatePath, "certificate (--cert)"), try contents(keyPath, "private key (--key)"))
    }

    private static func fingerprint(_ certificate: [UInt8], _ key: [UInt8]) -> [UInt8] {
        var hasher = FNV1a64()
        hasher.add(certificate)
        hasher.add([0])
        hasher.add(key)
        return withUnsafeBytes(of: hasher.value.bigEndian, Array.init) + withUnsafeBytes(of: UInt64(certificate.count + key.count).bigEndian, Array.init)
    }

    static func makeContext(certificate: [UInt8], key: [UInt8], certificatePath: String, keyPath: String) throws(WebhookStartError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificate)
        } catch {
            throw WebhookStartError("the certificate '\(certificatePath)' is not a PEM certificate: \(error)")
        }
        guard !chain.isEmpty else { throw WebhookStartError("the certificate '\(certificatePath)' holds no certificate") }
        do {
            privateKey = try NIOSSLPrivateKey(bytes: key, format: .pem)
        } catch {
            throw WebhookStartError("the private key '\(keyPath)' is not a PEM private key: \(error)")
        }
        // The leaf's public key must be the key's: a rotation caught between its two writes must
        // not be served.
        if let leaf = try? X509.Certificate(pemEncoded: String(decoding: certificate, as: UTF8.self)),
           let parsedKey = try? X509.Certificate.PrivateKey(pemEncoded: String(decoding: key, as: UTF8.self)),
           leaf.publicKey != parsedKey.publicKey {
            throw WebhookStartError("the private key '\(keyPath)' does not belong to the certificate '\(certificatePath)'")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)
        )
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw WebhookStartError("cannot use the certificate '\(certificatePath)' with the key '\(keyPath)': \(error)")
        }
    }
}

/// FNV-1a 64 over bytes: a stable change detector for the certificate files (never `Hasher`).
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }
}

/// Watches the certificate files and swaps the serving context when they change: cert-manager
/// rotates a mounted Secret by renaming its `..data` symlink, which a content check sees.
public struct CertificateReloader: Service {
    let certificate: ServingCertificate
    let interval: Duration
    let logger: Logger

    public init(certificate: ServingCertificate, interval: Duration, logger: Logger) {
        self.certificate = certificate
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let reloads = Counter(label: WebhookMetrics.certificateReloads, dimensions: [("result", "success")])
        let failures = Counter(label: WebhookMetrics.certificateReloads, dimensions: [("result", "failure")])
        let certificate = self.certificate, interval = self.interval, logger = self.logger
        try? await cancelWhenGracefulShutdown {
            var lastFailure: String?
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                switch certificate.reloadIfChanged() {
                case .unchanged:
                    lastFailure = nil
                case .reloaded:
                    lastFailure = nil
                    reloads.increment()
                    logger.info("serving certificate reloaded", metadata: ["cert": .string(certificate.certificatePath)])
                case .failed(let reason):
                    // A rotation in progress fails until both files are written; say so once per reason.
                    if reason != lastFailure {
                        failures.increment()
                        logger.error("serving certificate not reloaded; the previous one keeps serving", metadata: ["reason": .string(reason)])
                        lastFailure = reason
                    }
                }
            }
        }
    }
}

/// A start-up failure with a message for the operator (unreadable file, address in use, ...).
public struct WebhookStartError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
