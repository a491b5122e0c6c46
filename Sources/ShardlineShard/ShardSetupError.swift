/// Why a shard's ownership check could not be built: a bad ordinal or hostname, or a config that
/// does not say which service the shard belongs to. Raised at start-up, never per request.
public struct ShardSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidHostname = "invalid_hostname"
        case hostnameNotInStatefulSet = "hostname_not_in_statefulset"
        case invalidOrdinal = "invalid_ordinal"
        case unknownService = "unknown_service"
        case ambiguousService = "ambiguous_service"
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
