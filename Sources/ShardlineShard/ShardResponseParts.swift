import ShardlineCore

/// A complete response a shard sends without running its handler (a 421, or a 400 for a request
/// that cannot be routed), in plain values so that any HTTP framework can write it.
public struct ShardResponseParts: Sendable, Equatable {
    public let status: Int
    /// Header name and value pairs, names lowercase; `content-type` included.
    public let headers: [ShardHeader]
    /// A short JSON object: `error`, `message`, and for a 421 `owner`, `shard` and `topology`.
    public let body: String

    public init(status: Int, headers: [ShardHeader], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name` (compared ASCII case-insensitively).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    static func json(status: Int, extraHeaders: [ShardHeader] = [], _ body: JSONValue) -> ShardResponseParts {
        ShardResponseParts(
            status: status,
            headers: [ShardHeader(name: "content-type", value: "application/json")] + extraHeaders,
            body: body.serialized()
        )
    }
}

public struct ShardHeader: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
