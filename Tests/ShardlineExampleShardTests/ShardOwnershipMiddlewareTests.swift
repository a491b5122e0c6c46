import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ShardlineCore
import ShardlineShard
import ShardlineShardHummingbird
import Testing

@Suite("ShardOwnershipMiddleware (Hummingbird)")
struct ShardOwnershipMiddlewareTests {
    static let config = """
    services:
      - name: users
        hosts: [users]
        pattern: '^/users/([^/]+)'
        statefulSet: users
        service: users
        port: 8080
        replicas: 3
    """

    /// A router whose handler says which verdict reached it.
    static func application(ordinal: Int) throws -> (some ApplicationProtocol, ShardOwnership) {
        let ownership = try ShardOwnership(config: try ConfigLoader.load(yaml: config), ordinal: ordinal)
        let router = Router(context: ShardRequestContext.self)
        router.add(middleware: ShardOwnershipMiddleware(ownership: CurrentShardOwnership(ownership), uncheckedPaths: ["/healthz"]))
        router.get("**") { _, context -> String in
            switch context.shardVerdict {
            case .own(let owned): return "own \(owned.key ?? "-")"
            case .handoff: return "handoff"
            case nil: return "unchecked"
            default: return "unexpected"
            }
        }
        return (Application(router: router), ownership)
    }

    @Test("own keys reach the handler; other shards' keys get 421 with owner and topology; nothing else runs")
    func ownAndMisdirected() async throws {
        let (app, ownership) = try Self.application(ordinal: 1)
        let router = ShardRouter(config: try ConfigLoader.load(yaml: Self.config))
        try await app.test(.router) { client in
            var own = 0, misdirected = 0
            for index in 0..<60 {
                let path = "/users/u\(index)/profile"
                let owner = try router.route(service: 0, target: path).get().shard
                let response = try await client.execute(uri: path, method: .get)
                if owner == 1 {
                    own += 1
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "own u\(index)")
                } else {
                    misdirected += 1
                    #expect(response.status.code == 421)
                    #expect(response.headers[HTTPField.Name(ShardlineHeaders.owner)!] == String(owner))
                    #expect(response.headers[HTTPField.Name(ShardlineHeaders.topology)!] == ownership.fingerprint.headerValue)
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(String(buffer: response.body).contains(#""error":"misdirected""#))
                }
            }
            #expect(own > 5 && misdirected > 20)
        }
    }

    @Test("probe paths are unchecked; a handoff reaches the handler as such; bad Shardline headers get 400")
    func probesHandoffAndErrors() async throws {
        let (app, _) = try Self.application(ordinal: 2)
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(String(buffer: response.body) == "unchecked")
            }
            try await client.execute(uri: "/users/anyone/x", method: .get, headers: [HTTPField.Name(ShardlineHeaders.handoff)!: "1"]) { response in
                #expect(String(buffer: response.body) == "handoff")
            }
            try await client.execute(uri: "/users/anyone/x", method: .get, headers: [HTTPField.Name(ShardlineHeaders.handoff)!: "maybe"]) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("invalid_handoff"))
            }
        }
    }
}
