import ShardlineCore

/// The value syntaxes Kubernetes validates (label keys and values, resource quantities), checked
/// here so a bad flag fails at `generate`, not at `kubectl apply`.
enum KubernetesValues {
    /// A label key (`[prefix/]name`, the prefix a DNS subdomain, the name at most 63 of
    /// `[A-Za-z0-9._-]` starting and ending alphanumeric) and a value (empty, or a name of that shape).
    static func checkLabel(key: String, value: String, field: String) throws(GenerateError) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let name = String(parts.last ?? "")
        let prefixOK = parts.count == 1 || (parts.count == 2 && DNSName.isDomain(String(parts[0])))
        guard prefixOK, isQualifiedName(name) else {
            throw GenerateError(.invalidValue, field: field, "'\(key)' is not a label key; use [prefix/]name, the name at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
        }
        guard value.isEmpty || isQualifiedName(value) else {
            throw GenerateError(.invalidValue, field: field, "'\(value)' (for \(key)) is not a label value; at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
        }
    }

    static func isQualifiedName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count), isAlnum(bytes.first!), isAlnum(bytes.last!) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static let quantitySuffixes: Set<String> = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]

    /// A positive quantity as Kubernetes writes them: `500m`, `1`, `1.5`, `128Mi`, `10Gi`.
    static func checkQuantity(_ text: String, field: String) throws(GenerateError) {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let suffix = String(text.dropFirst(number.count))
        let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
        let wellFormed = !number.isEmpty && pieces.count <= 2 && pieces.allSatisfy { !$0.isEmpty }
        guard wellFormed, quantitySuffixes.contains(suffix), number.contains(where: { $0 != "0" && $0 != "." }) else {
            throw GenerateError(.invalidValue, field: field, "'\(text)' is not a positive Kubernetes quantity; e.g. 500m or 1 (CPU), 128Mi or 10Gi (memory, storage)")
        }
    }
}
