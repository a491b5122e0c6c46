import Crypto
import Foundation
import X509

/// A self-signed CA and a serving certificate for the webhook's Service, for clusters without
/// cert-manager: the API server trusts the CA (the `caBundle`), the webhook serves the leaf.
public struct WebhookCertificates: Sendable {
    /// PEM: the CA certificate, the serving certificate, the serving key (PKCS#8).
    public var caCertificatePEM: String
    public var certificatePEM: String
    public var privateKeyPEM: String
    public var dnsNames: [String]

    /// The `caBundle` field of a MutatingWebhookConfiguration: the CA's PEM, base64.
    public var caBundle: String { Data(caCertificatePEM.utf8).base64EncodedString() }

    /// The names the API server may use to reach a Service: it calls
    /// `<service>.<namespace>.svc`, the others serve in-cluster clients and people.
    public static func dnsNames(service: String, namespace: String, clusterDomain: String = "cluster.local") -> [String] {
        [service, "\(service).\(namespace)", "\(service).\(namespace).svc", "\(service).\(namespace).svc.\(clusterDomain)"]
    }

    /// - Parameters:
    ///   - validity: how long both certificates are valid; the webhook must be given new ones
    ///     before then (cert-manager does that by itself).
    public static func generate(
        service: String, namespace: String, clusterDomain: String = "cluster.local",
        validity: Duration = .seconds(365 * 24 * 3600), now: Date = Date()
    ) throws -> WebhookCertificates {
        let names = dnsNames(service: service, namespace: namespace, clusterDomain: clusterDomain)
        let notBefore = now.addingTimeInterval(-300)   // tolerate clocks a little behind
        let notAfter = now.addingTimeInterval(TimeInterval(validity.components.seconds))

        let caKey = P256.Signing.PrivateKey()
        let caPublicKey = Certificate.PublicKey(caKey.publicKey)
        let caName = try DistinguishedName {
            OrganizationName("shardline")
            CommonName("shardline injector CA \(service).\(namespace)")
        }
        let caIdentifier = SubjectKeyIdentifier(hash: caPublicKey)
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: caPublicKey,
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: caName,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                caIdentifier
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )

        let servingKey = P256.Signing.PrivateKey()
        let servingPublicKey = Certificate.PublicKey(servingKey.publicKey)
        let servingName = try DistinguishedName {
            OrganizationName("shardline")
            CommonName(names[2])
        }
        let serving = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: servingPublicKey,
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: servingName,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names.map { GeneralName.dnsName($0) })
                SubjectKeyIdentifier(hash: servingPublicKey)
                AuthorityKeyIdentifier(keyIdentifier: caIdentifier.keyIdentifier)
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )
        return WebhookCertificates(
            caCertificatePEM: try ca.serializeAsPEM().pemString + "\n",
            certificatePEM: try serving.serializeAsPEM().pemString + "\n",
            privateKeyPEM: servingKey.pemRepresentation + "\n",
            dnsNames: names
        )
    }

    /// Writes `ca.crt`, `tls.crt` and `tls.key` (mode 0600) into `directory`, creating it. Each file
    /// is written to a temporary name and renamed, so a running webhook never reads half a file.
    public func write(to directory: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, contents, mode) in [("ca.crt", caCertificatePEM, 0o644), ("tls.crt", certificatePEM, 0o644), ("tls.key", privateKeyPEM, 0o600)] {
            let path = (directory as NSString).appendingPathComponent(name)
            let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
            guard manager.createFile(atPath: temporary, contents: Data(contents.utf8), attributes: [.posixPermissions: mode]) else {
                throw WebhookStartError("cannot write '\(temporary)'")
            }
            if rename(temporary, path) != 0 {
                try? manager.removeItem(atPath: temporary)
                throw WebhookStartError("cannot move '\(temporary)' to '\(path)'")
            }
        }
    }
}
