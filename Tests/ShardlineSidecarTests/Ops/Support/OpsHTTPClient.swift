import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The namespace of the operations tests (`swift test --filter Ops` runs them all) and their
/// helpers, kept apart from the proxy tests' own.
enum Ops {}

extension Ops {
    /// A response as the operations tests look at it.
    struct OpsHTTPResponse: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// The body parsed as a JSON object (test failure if it is not one).
        func jsonObject() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw OpsTestError("the body is not a JSON object: \(body)")
            }
            return object
        }
    }

    struct OpsTestError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One HTTP/1.1 request per connection (`connection: close`), so every request of a test is a
    /// fresh accept on the listener under test: what a drain or a reload must handle.
    enum OpsHTTP {
        static func request(
            port: Int, path: String, method: HTTPMethod = .GET, host: String = "127.0.0.1",
            headers: [(String, String)] = [], timeout: Duration = .seconds(10)
        ) async throws -> OpsHTTPResponse {
            try await withThrowingTaskGroup(of: OpsHTTPResponse.self) { group in
                group.addTask {
                    try await perform(port: port, path: path, method: method, host: host, headers: headers)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw OpsTestError("\(method) \(path) on port \(port) got no response within \(timeout)")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }

        private static func perform(port: Int, path: String, method: HTTPMethod, host: String, headers: [(String, String)]) async throws -> OpsHTTPResponse {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                var requestHeaders = HTTPHeaders([("host", host), ("connection", "close")])
                for (name, value) in headers { requestHeaders.replaceOrAdd(name: name, value: value) }
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: requestHeaders)))
                try await outbound.write(.end(nil))

                var response = OpsHTTPResponse(status: 0, headers: [], body: "")
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        response.status = Int(head.status.code)
                        response.headers = head.headers.map { ($0.name, $0.value) }
                    case .body(var chunk):
                        body.writeBuffer(&chunk)
                    case .end:
                        response.body = String(buffer: body)
                        return response
                    }
                }
                throw OpsTestError("the connection closed before the response ended (status \(response.status))")
            }
        }

        /// Whether a TCP connect to the port succeeds right now (a refused connect is false).
        static func acceptsConnections(port: Int) -> Bool {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return false }
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            return result == 0
        }
    }

    /// Polls `condition` until it holds or `timeout` passes; the tests' only way of waiting, so no
    /// test sleeps a fixed time hoping something happened.
    static func eventually(
        timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(20),
        _ what: String, _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: interval)
        }
        throw OpsTestError("timed out after \(timeout) waiting for: \(what)")
    }
}
