import ShardlineCore

/// RFC 6902 operations that turn one tree into another: the webhook's answer. Objects are diffed
/// member by member and lists element by element, so the patch touches only what injection changed
/// (an inserted init container is one `add` at its index, not a rewrite of the list).
public enum JSONPatch {
    public struct Operation: Sendable, Equatable {
        public var op: String
        public var path: String
        public var value: JSONValue?

        public var json: JSONValue {
            var pairs: [(String, JSONValue)] = [("op", .string(op)), ("path", .string(path))]
            if let value { pairs.append(("value", value)) }
            return .object(pairs)
        }
    }

    public static func diff(from old: JSONValue, to new: JSONValue) -> [Operation] {
        var operations: [Operation] = []
        diff(old, new, path: "", into: &operations)
        return operations
    }

    /// The patch as the JSON array the API server expects.
    public static func document(_ operations: [Operation]) -> JSONValue {
        .array(operations.map(\.json))
    }

    /// RFC 6901: `~` and `/` in a member name are escaped.
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private static func diff(_ old: JSONValue, _ new: JSONValue, path: String, into operations: inout [Operation]) {
        if old == new { return }
        switch (old, new) {
        case (.object(let oldPairs), .object(let newPairs)):
            for (key, _) in oldPairs where !newPairs.contains(where: { $0.0 == key }) {
                operations.append(Operation(op: "remove", path: path + "/" + escape(key), value: nil))
            }
            for (key, value) in newPairs {
                let child = path + "/" + escape(key)
                if let previous = oldPairs.first(where: { $0.0 == key })?.1 {
                    diff(previous, value, path: child, into: &operations)
                } else {
                    operations.append(Operation(op: "add", path: child, value: value))
                }
            }
        case (.array(let oldItems), .array(let newItems)):
            diffLists(oldItems, newItems, path: path, into: &operations)
        default:
            operations.append(Operation(op: "replace", path: path.isEmpty ? "" : path, value: new))
        }
    }

    private static func diffLists(_ old: [JSONValue], _ new: [JSONValue], path: String, into operations: inout [Operation]) {
        if old.count == new.count {
            for index in old.indices { diff(old[index], new[index], path: "\(path)/\(index)", into: &operations) }
            return
        }
        var prefix = 0
        while prefix < old.count, prefix < new.count, old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < old.count - prefix, suffix < new.count - prefix, old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        let removed = old.count - prefix - suffix
        let added = new[prefix..<(new.count - suffix)]
        if removed == 0 {
            for (offset, item) in added.enumerated() {
                operations.append(Operation(op: "add", path: "\(path)/\(prefix + offset)", value: item))
            }
        } else if added.isEmpty {
            for _ in 0..<removed { operations.append(Operation(op: "remove", path: "\(path)/\(prefix)", value: nil)) }
        } else {
            operations.append(Operation(op: "replace", path: path, value: .array(new)))
        }
    }
}
