import ShardlineCore
import Yams

/// YAML documents to and from the generic tree, the way kubectl reads them (YAML 1.1 scalars,
/// string keys). Comments and styles are not kept; content is: a document read and written again
/// is the same Kubernetes object.
enum YAMLTree {
    struct Failure: Error {
        var line: Int?
        var message: String
    }

    static func value(from node: Node) throws(Failure) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            return scalarValue(scalar, tag: node.tag, node: node)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try value(from: item)) }
            return .array(items)
        case .mapping(let mapping):
            var pairs: [(String, JSONValue)] = []
            for (key, item) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw Failure(line: key.mark?.line, message: "a mapping key must be a plain value, not a list or mapping")
                }
                let name = keyScalar.string
                if pairs.contains(where: { $0.0 == name }) {
                    throw Failure(line: key.mark?.line, message: "duplicate key '\(name)'")
                }
                pairs.append((name, try value(from: item)))
            }
            return .object(pairs)
        case .alias:
            throw Failure(line: node.mark?.line, message: "YAML aliases are not supported in Kubernetes manifests")
        }
    }

    private static func scalarValue(_ scalar: Node.Scalar, tag: Tag, node: Node) -> JSONValue {
        switch Tag.Name(rawValue: tag.rawValue) {
        case .null: return .null
        case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case .int:
            if let value = node.int { return .int(value) }
            if let value = UInt64(scalar.string) { return .uint(value) }
            return .string(scalar.string)
        case .float:
            return node.float.map(JSONValue.double) ?? .string(scalar.string)
        default:
            return .string(scalar.string)
        }
    }

    static func node(from value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case .bool(let flag): return Node(flag ? "true" : "false", Tag(.bool))
        case .int, .uint, .double: return Node(value.serialized())
        case .string(let text): return .scalar(text.represented())
        case .array(let items): return .sequence(Node.Sequence(items.map(node(from:))))
        case .object(let pairs):
            return .mapping(Node.Mapping(pairs.map { (Node.scalar($0.0.represented()), node(from: $0.1)) }))
        }
    }

    /// One document as YAML text, block style, two-space indents, no line folding.
    static func emit(_ value: JSONValue) throws -> String {
        try Yams.serialize(node: node(from: value), indent: 2, width: -1, allowUnicode: true)
    }
}
