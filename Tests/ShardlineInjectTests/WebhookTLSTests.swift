import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import ShardlineCore
@testable import ShardlineInject
import ShardlineObservability
import Testing

/// The webhook over real TLS, with certificates made by the `shardline certs` binary, laid out
/// the way the kubelet mounts a Secret (`tls.crt -> ..data/tls.crt`, `..data -> ..<timestamp>`)
/// and rotated the way it updates one.
@Suite("webhook over TLS")
struct WebhookTLSTests {
    static let hostname = "shardline-injector.shardline-system.svc"

    /// A directory laid out like a mounted Secret.
    struct MountedSecret {
        let directory: URL
        private var generation = 0

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-webhook-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        var certificate: String { directory.appendingPathComponent("tls.crt").path }
        var key: String { directory.appendingPathComponent("tls.key").path }

        /// Publishes the files of `source` as the kubelet does: a new timestamped directory, then
        /// an atomic rename of the `..data` symlink onto it.
        mutating func publish(from source: URL) throws {
            generation += 1
            let manager = FileManager.default
            let version = directory.appendingPathComponent("..2026_11_29_\(generation)")
            try manager.createDirectory(at: version, withIntermediateDirectories: true)
            for name in ["tls.crt", "tls.key"] {
                try manager.copyItem(at: source.appendingPathComponent(name), to: version.appendingPathComponent(name))
            }
            let temporary = directory.appendingPathComponent("..data_tmp").path
            try? manager.removeItem(atPath: temporary)
            try manager.createSymbolicLink(atPath: temporary, withDestinationPath: version.lastPathComponent)
            #expect(rename(temporary, directory.appendingPathComponent("..data").path) == 0)
            for name in ["tls.crt", "tls.key"] where (try? manager.destinationOfSymbolicLink(atPath: directory.appendingPathComponent(name).path)) == nil {
                try manager.createSymbolicLink(atPath: directory.appendingPathComponent(name).path, withDestinationPath: "..data/\(name)")
            }
        }
    }

    /// `shardline certs` into a fresh directory; checks what it prints.
    static func makeCertificates() async throws -> URL {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("shardline-certs-\(UUID().uuidString)")
        let run = try await Binary.run(["certs", "--service", "shardline-injector", "--namespace", "shardline-system", "--output", output.path])
        #expect(run.status == 0, "\(run.stderr)")
        let ca = try Data(contentsOf: output.appendingPathComponent("ca.crt"))
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == ca.base64EncodedString())
        let mode = try FileManager.default.attributesOfItem(atPath: output.appendingPathComponent("tls.key").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        return output
    }

    static func clientContext(trusting certificates: URL) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificates.appendingPathComponent("ca.crt").path))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    static func connect(port: Int, context: NIOSSLContext, group: any EventLoopGroup) async throws -> Connection {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: hostname))
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
    }

    /// One request on an open connection; the status and body.
    static func exchange(
        _ method: HTTPMethod, _ path: String, body: [UInt8] = [],
        inbound: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) async throws -> (status: Int, body: [UInt8]) {
        var headers = HTTPHeaders([("host", hostname), ("content-type", "application/json"), ("content-length", String(body.count))])
        headers.add(name: "connection", value: "keep-alive")
        try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)))
        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
        var status = 0
        var received: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let head): status = Int(head.status.code)
            case .body(var buffer): received += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end: return (status, received)
            }
        }
        throw WebhookStartError("connection closed before the response ended")
    }

    /// A fresh connection, one request, closed.
    static func request(_ method: HTTPMethod, _ path: String, body: [UInt8] = [], port: Int, context: NIOSSLContext, group: any EventLoopGroup) async throws -> (status: Int, body: [UInt8]) {
        let connection = try await connect(port: port, context: context, group: group)
        return try await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            return try await exchange(method, path, body: body, inbound: &iterator, outbound: outbound)
        }
    }

    @Test func servesAdmissionReviewsAndSwapsItsCertificateWithoutBreakingOpenConnections() async throws {
        let first = try await Self.makeCertificates()
        let second = try await Self.makeCertificates()
        var secret = try MountedSecret()
        try secret.publish(from: first)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let logger = Logger(label: "test.webhook")
        let certificate = try ServingCertificate(certificatePath: secret.certificate, keyPath: secret.key)
        let routes = WebhookRoutes(
            reviewer: AdmissionReviewer(objects: ObjectInjector(pods: PodInjector())),
            registry: MetricsBootstrap.processRegistry(), logger: logger
        )
        let bound = AsyncStream<SocketAddress?>.makeStream()
        let server = WebhookServer(
            address: HostPort(host: "127.0.0.1", port: 0), certificate: certificate, routes: routes, group: group,
            logger: logger, drainTimeout: .seconds(5), onBound: { bound.continuation.yield($0); bound.continuation.finish() }
        )
        let reloader = CertificateReloader(certificate: certificate, interval: .milliseconds(100), logger: logger)
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: server), .init(service: reloader)], gracefulShutdownSignals: [], logger: logger
        ))
        let running = Task { try await serviceGroup.run() }
        var boundIterator = bound.stream.makeAsyncIterator()
        let address = try #require(await boundIterator.next() ?? nil)
        let port = try #require(address.port)

        let trustsFirst = try Self.clientContext(trusting: first)
        let trustsSecond = try Self.clientContext(trusting: second)
        let fixture = try Repo.fixture("pod-opt-in")

        // A connection opened before the rotation, kept open across it.
        let kept = try await Self.connect(port: port, context: trustsFirst, group: group)
        try await kept.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            let health = try await Self.exchange(.GET, "/healthz", inbound: &responses, outbound: outbound)
            #expect(health.status == 200)
            let admitted = try await Self.exchange(.POST, "/mutate", body: fixture, inbound: &responses, outbound: outbound)
            #expect(admitted.status == 200)
            let response = try JSONParser.parse(admitted.body)
            #expect(response.value(at: ["response", "patchType"]) == .string("JSONPatch"))
            let garbage = try await Self.exchange(.POST, "/mutate", body: Array("{not json".utf8), inbound: &responses, outbound: outbound)
            #expect(garbage.status == 400)
            #expect(try JSONParser.parse(garbage.body)["message"]?.stringValue?.contains("not JSON") == true)

            // A rotation half done (new certificate, old key) is not served...
            let version = secret.directory.appendingPathComponent("..data").resolvingSymlinksInPath()
            try Data(contentsOf: second.appendingPathComponent("tls.crt")).write(to: version.appendingPathComponent("tls.crt"))
            #expect(certificate.reloadIfChanged() != .reloaded)
            // ...then the kubelet-style swap to the new pair is.
            try secret.publish(from: second)
            let deadline = ContinuousClock.now + .seconds(15)
            var swapped = false
            while ContinuousClock.now < deadline {
                if let answer = try? await Self.request(.GET, "/healthz", port: port, context: trustsSecond, group: group), answer.status == 200 {
                    swapped = true
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(swapped, "new connections never got the rotated certificate")

            // The connection opened before the rotation still works, on its original session.
            let after = try await Self.exchange(.POST, "/mutate", body: fixture, inbound: &responses, outbound: outbound)
            #expect(after.status == 200)
            #expect(try JSONParser.parse(after.body) == response)
        }
        // New connections that trust only the old CA now fail: the old certificate is gone.
        await #expect(throws: (any Error).self) {
            _ = try await Self.request(.GET, "/healthz", port: port, context: trustsFirst, group: group)
        }
        let metrics = try await Self.request(.GET, "/metrics", port: port, context: trustsSecond, group: group)
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains(#"shardline_webhook_certificate_reloads_total{result="success"}"#))
        #expect(text.contains(#"shardline_webhook_admissions_total{outcome="injected",dry_run="false"}"#))
        #expect(text.contains("shardline_webhook_bad_requests_total"))
        let missing = try await Self.request(.GET, "/nope", port: port, context: trustsSecond, group: group)
        #expect(missing.status == 404)

        await serviceGroup.triggerGracefulShutdown()
        try await running.value
        await #expect(throws: (any Error).self) {
            _ = try await Self.request(.GET, "/healthz", port: port, context: trustsSecond, group: group)
        }
        try await group.shutdownGracefully()
        for directory in [first, second, secret.directory] { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func startRefusesMismatchedOrMissingFilesNamingThem() async throws {
        let first = try await Self.makeCertificates()
        let second = try await Self.makeCertificates()
        #expect {
            _ = try ServingCertificate(certificatePath: first.appendingPathComponent("tls.crt").path, keyPath: second.appendingPathComponent("tls.key").path)
        } throws: { error in
            "\(error)".contains("does not belong to the certificate")
        }
        #expect {
            _ = try ServingCertificate(certificatePath: "/nonexistent/tls.crt", keyPath: first.appendingPathComponent("tls.key").path)
        } throws: { error in
            "\(error)".contains("cannot read the certificate (--cert) '/nonexistent/tls.crt'")
        }
        for directory in [first, second] { try? FileManager.default.removeItem(at: directory) }
    }
}
