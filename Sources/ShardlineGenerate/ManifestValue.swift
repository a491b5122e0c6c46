import Yams

/// A YAML value as the generator builds it: ordered mappings (so output is stable and reads in
/// the order Kubernetes documentation uses) and comments on entries (so the generated files explain
/// the decisions they encode). Written out by `ManifestWriter`.
public indirect enum ManifestValue: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([ManifestValue])
    case map([ManifestEntry])

    /// The value at a path of mapping keys, for tests and for reading back what was generated.
    public subscript(_ key: String) -> ManifestValue? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var intValue: Int? {
        if case .int(let number) = self { return number }
        return nil
    }

    public var listValue: [ManifestValue]? {
        if case .list(let items) = self { return items }
        return nil
    }
}

/// One key of a mapping, with an optional comment written on the lines above it.
public struct ManifestEntry: Sendable {
    public var key: String
    public var value: ManifestValue
    public var comment: String?

    public init(_ key: String, _ value: ManifestValue, comment: String? = nil) {
        self.key = key
        self.value = value
        self.comment = comment
    }
}

extension ManifestValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension ManifestValue {
    /// A mapping from string pairs, sorted by key (labels, annotations).
    static func sortedMap(_ pairs: [String: String]) -> ManifestValue {
        .map(pairs.keys.sorted().map { ManifestEntry($0, .string(pairs[$0]!)) })
    }
}

/// Block-style YAML, two-space indents, the way Kubernetes manifests are usually written. Strings
/// are quoted whenever a YAML 1.1 reader (Kubernetes' among them) would read the plain form as
/// something else (`true`, `on`, `8080`, `1e3`, `~`), and multi-line strings become literal blocks,
/// so a config embedded in a ConfigMap stays readable and exact.
public enum ManifestWriter {
    public static func document(_ value: ManifestValue, header: String? = nil) -> String {
        var lines: [String] = []
        if let header { lines += commentLines(header, indent: "") }
        write(value, indent: "", into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Several documents in one stream, separated by `---`.
    public static func stream(_ documents: [String], header: String? = nil) -> String {
        var out = header.map { commentLines($0, indent: "").joined(separator: "\n") + "\n" } ?? ""
        for (index, document) in documents.enumerated() {
            if index > 0 || header != nil { out += "---\n" }
            out += document
        }
        return out
    }

    static func commentLines(_ text: String, indent: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "\(indent)#" : "\(indent)# \($0)" }
    }

    private static func write(_ value: ManifestValue, indent: String, into lines: inout [String]) {
        switch value {
        case .map(let entries):
            for entry in entries {
                if let comment = entry.comment { lines += commentLines(comment, indent: indent) }
                writeEntry(key: scalar(entry.key), value: entry.value, indent: indent, into: &lines)
            }
        case .list(let items):
            for item in items {
                switch item {
                case .map(let entries) where !entries.isEmpty:
                    var nested: [String] = []
                    write(item, indent: indent + "  ", into: &nested)
                    // The first line of the item's mapping moves up beside the dash.
                    let first = nested.firstIndex { !$0.trimmingLeadingSpaces().hasPrefix("#") } ?? 0
                    nested[first] = indent + "- " + nested[first].dropFirst(indent.count + 2)
                    lines += nested
                default:
                    lines.append(indent + "- " + inline(item))
                }
            }
        default:
            lines.append(indent + inline(value))
        }
    }

    private static func writeEntry(key: String, value: ManifestValue, indent: String, into lines: inout [String]) {
        switch value {
        case .map(let entries) where !entries.isEmpty:
            lines.append("\(indent)\(key):")
            write(value, indent: indent + "  ", into: &lines)
        case .list(let items) where !items.isEmpty:
            lines.append("\(indent)\(key):")
            write(value, indent: indent + "  ", into: &lines)
        case .string(let text) where text.contains("\n") && canBeLiteralBlock(text):
            let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
            lines.append("\(indent)\(key): \(text.hasSuffix("\n") ? "|" : "|-")")
            for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append(line.isEmpty ? "" : "\(indent)  \(line)")
            }
        default:
            lines.append("\(indent)\(key): \(inline(value))")
        }
    }

    private static func inline(_ value: ManifestValue) -> String {
        switch value {
        case .string(let text): return scalar(text)
        case .int(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .list(let items): return "[" + items.map(inline).joined(separator: ", ") + "]"
        case .map(let entries): return "{" + entries.map { "\(scalar($0.key)): \(inline($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// A literal block keeps every character except trailing spaces on a line, a leading space on
    /// the first line (it would set the indentation), tabs and control characters, and more than
    /// one final newline.
    private static func canBeLiteralBlock(_ text: String) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, !first.hasPrefix(" "), !text.hasSuffix("\n\n") else { return false }
        return lines.allSatisfy { !$0.hasSuffix(" ") } && text.unicodeScalars.allSatisfy { $0 == "\n" || ($0.value >= 0x20 && $0.value != 0x7F) }
    }

    private static let wordsYAML11ReadsAsBooleans: Set<String> = ["y", "n", "yes", "no", "on", "off", "true", "false"]
    private static let plainSafe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+=$()<>".unicodeScalars)

    /// A string scalar, plain when that reads back as the same string, otherwise quoted.
    static func scalar(_ text: String) -> String {
        if isPlainSafe(text) { return text }
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
            return "'" + text.replacingAll("'", with: "''") + "'"
        }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.allSatisfy(plainSafe.contains) else { return false }
        guard !"-:@$()<>=+".unicodeScalars.contains(first), !text.hasSuffix(":") else { return false }
        guard !wordsYAML11ReadsAsBooleans.contains(text.lowercased()) else { return false }
        guard !text.contains(": "), !text.contains("::") else { return false }
        // Number-like words: YAML 1.1 readers take `1:20` (base 60), `0x1F`, `1_000` or `1e3` as
        // numbers, so anything that starts like a number and has no other letters is quoted.
        if first.properties.numericType != nil || first == "." {
            let numberLetters = Set("abcdefABCDEFxXoO".unicodeScalars)
            if text.unicodeScalars.allSatisfy({ !$0.properties.isAlphabetic || numberLetters.contains($0) }) { return false }
        }
        return Resolver.default.resolveTag(of: Node(text)) == .str
    }
}

extension StringProtocol {
    func trimmingLeadingSpaces() -> Substring {
        let text = Substring(self)
        return text.drop { $0 == " " }
    }

    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
