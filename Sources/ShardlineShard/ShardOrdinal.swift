/// A StatefulSet pod's ordinal, read from its hostname: Kubernetes names pod i of StatefulSet
/// `users` `users-i` and sets that as the pod's hostname, so a shard knows which shard it is
/// without any configuration of its own.
public enum ShardOrdinal {
    /// The largest ordinal accepted, the config's largest shard count.
    public static let maximum = 9_999

    /// `users-2` gives (statefulSet: "users", ordinal: 2); a fully qualified name
    /// (`users-2.users.default.svc.cluster.local`) is read up to its first dot.
    public static func parse(hostname: String) throws(ShardSetupError) -> (statefulSet: String, ordinal: Int) {
        let podName = hostname.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard let dash = podName.lastIndex(of: "-") else {
            throw ShardSetupError(code: .invalidHostname, message: "hostname '\(hostname)' is not a StatefulSet pod name (<statefulSet>-<ordinal>, e.g. users-2); pass the ordinal explicitly")
        }
        let prefix = String(podName[..<dash])
        let digits = String(podName[podName.index(after: dash)...])
        guard !prefix.isEmpty else {
            throw ShardSetupError(code: .invalidHostname, message: "hostname '\(hostname)' has no StatefulSet name before the ordinal")
        }
        return (prefix, try parse(ordinal: digits, source: "hostname '\(hostname)'"))
    }

    /// A decimal ordinal, 0...maximum, without sign or leading zeros (as Kubernetes writes it).
    public static func parse(ordinal text: String, source: String = "ordinal") throws(ShardSetupError) -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw ShardSetupError(code: .invalidOrdinal, message: "\(source): '\(text)' is not a shard ordinal (a non-negative integer such as 0 or 2)")
        }
        guard text == "0" || !text.hasPrefix("0") else {
            throw ShardSetupError(code: .invalidOrdinal, message: "\(source): '\(text)' has a leading zero; Kubernetes writes ordinals without one")
        }
        guard text.utf8.count <= 4, let value = Int(text), value <= maximum else {
            throw ShardSetupError(code: .invalidOrdinal, message: "\(source): \(text) is above the largest shard ordinal, \(maximum)")
        }
        return value
    }
}
