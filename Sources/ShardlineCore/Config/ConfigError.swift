/// One problem in a config file: the field it is in, where, what is wrong and what would be right.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// The field path, e.g. `services[0].pattern`; empty for the document itself.
    public var field: String
    /// 1-based line in the YAML source, when the problem has a place.
    public var line: Int?
    public var message: String

    public init(field: String, line: Int?, message: String) {
        self.field = field
        self.line = line
        self.message = message
    }

    public var description: String {
        let place = line.map { " (line \($0))" } ?? ""
        return field.isEmpty ? "config\(place): \(message)" : "\(field)\(place): \(message)"
    }
}

/// A config that was not accepted, with every problem found (not just the first), so one edit
/// can fix them all.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the config came from (a file path, or "<embedded>").
    public var source: String
    public var issues: [ConfigIssue]

    public init(source: String, issues: [ConfigIssue]) {
        self.source = source
        self.issues = issues
    }

    public var description: String {
        let count = issues.count == 1 ? "1 error" : "\(issues.count) errors"
        return "\(source): \(count)\n" + issues.map { "  \($0)" }.joined(separator: "\n")
    }
}
