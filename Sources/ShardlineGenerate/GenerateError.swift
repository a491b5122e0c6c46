/// A flag (or a config read for resharding) the generator cannot turn into correct objects. The
/// code is stable for scripts and tests; the message names the flag and says what would be right.
public struct GenerateError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A value that is not what the flag takes (a name that is not a DNS label, a bad quantity).
        public static let invalidValue = Code(rawValue: "invalid_value")
        /// A value out of its range (zero shards, a port of 70000).
        public static let outOfRange = Code(rawValue: "out_of_range")
        /// The shard-key pattern does not compile or has no capture group.
        public static let invalidPattern = Code(rawValue: "invalid_pattern")
        /// Resharding was asked for a change that is not a change of shard count alone.
        public static let notAReshard = Code(rawValue: "not_a_reshard")
    }

    public var code: Code
    /// The flag or field at fault, e.g. `--name` or `services[0].namespace`.
    public var field: String
    public var message: String

    public init(_ code: Code, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
