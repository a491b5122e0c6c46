import ArgumentParser
import Foundation
import ShardlineInject

struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make a self-signed CA and the injector webhook's serving certificate (for clusters without cert-manager).",
        discussion: """
        Writes ca.crt, tls.crt and tls.key (ECDSA P-256; the key mode 0600) into --output, the \
        serving certificate valid for <service>, <service>.<namespace>, \
        <service>.<namespace>.svc and <service>.<namespace>.svc.<cluster-domain>, and prints \
        the caBundle (base64 of ca.crt) for the MutatingWebhookConfiguration on stdout.

        Example (the names manifests/injector uses):
          shardline certs --service shardline-injector --namespace shardline-system --output certs
          kubectl -n shardline-system create secret tls shardline-injector-tls \\
            --cert certs/tls.crt --key certs/tls.key
        """
    )

    @Option(help: ArgumentHelp("The webhook's Service name.", valueName: "name"))
    var service: String

    @Option(help: ArgumentHelp("The Service's namespace.", valueName: "namespace"))
    var namespace: String

    @Option(help: ArgumentHelp("Directory for ca.crt, tls.crt and tls.key (created if missing).", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("The cluster's DNS domain.", valueName: "domain"))
    var clusterDomain: String = "cluster.local"

    @Option(help: ArgumentHelp("Validity of both certificates, in days.", valueName: "days"))
    var days: Int = 365

    func validate() throws {
        for (flag, value) in [("--service", service), ("--namespace", namespace)] {
            guard Self.isDNSLabel(value) else {
                throw ValidationError("\(flag) '\(value)' is not a DNS label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)")
            }
        }
        guard !clusterDomain.isEmpty, clusterDomain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ Self.isDNSLabel(String($0)) }) else {
            throw ValidationError("--cluster-domain '\(clusterDomain)' is not a DNS name")
        }
        guard (1...3650).contains(days) else { throw ValidationError("--days must be in 1...3650") }
    }

    static func isDNSLabel(_ value: String) -> Bool {
        guard let first = value.first, let last = value.last, value.count <= 63 else { return false }
        return value.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" } && first != "-" && last != "-"
    }

    func run() throws {
        do {
            let certificates = try WebhookCertificates.generate(
                service: service, namespace: namespace, clusterDomain: clusterDomain, validity: .seconds(days * 24 * 3600)
            )
            try certificates.write(to: output)
            FileHandle.standardError.write(Data("wrote \(output)/ca.crt, tls.crt, tls.key for \(certificates.dnsNames.joined(separator: ", "))\ncaBundle:\n".utf8))
            print(certificates.caBundle)
        } catch {
            FileHandle.standardError.write(Data("shardline certs: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
