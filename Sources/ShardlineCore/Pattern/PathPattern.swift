// TEMPORARY STUB until the linear-time engine lands: supports only ^literal([^/]*|[^/]+)rest.
public struct PathPattern: Sendable, Equatable {
    public let source: String
    let prefix: [UInt8]
    let plus: Bool
    let tailSlash: Bool
    public init(_ source: String) throws(PatternSyntaxError) {
        self.source = source
        guard source.hasPrefix("^"), let open = source.firstIndex(of: "(") else {
            throw PatternSyntaxError(message: "the shard key is the first capture group; add one", offset: 0)
        }
        prefix = Array(source[source.index(after: source.startIndex)..<open].replacingBackslashes().utf8)
        let rest = source[open...]
        if rest.hasPrefix("([^/]*)") || rest.hasPrefix("([^\\/]*)") { plus = false }
        else if rest.hasPrefix("([^/]+)") || rest.hasPrefix("([^\\/]+)") { plus = true }
        else { throw PatternSyntaxError(message: "unsupported in stub", offset: 0) }
        let tail = rest[(rest.firstIndex(of: ")")!)...].dropFirst()
        tailSlash = tail.hasPrefix("/") || tail.hasPrefix("\\/")
    }
    public static func == (a: PathPattern, b: PathPattern) -> Bool { a.source == b.source }
    public var captureGroupCount: Int { 1 }
    public func firstGroup(in path: UnsafeBufferPointer<UInt8>) -> PatternMatch {
        guard path.count >= prefix.count, Array(path[0..<prefix.count]) == prefix else { return .noMatch }
        var end = prefix.count
        while end < path.count, path[end] != UInt8(ascii: "/") { end += 1 }
        if plus && end == prefix.count { return .noMatch }
        if tailSlash && end == path.count { return .noMatch }
        return .matched(group: prefix.count..<end)
    }
    public func firstGroup(in path: String) -> PatternMatch {
        var copy = path
        return copy.withUTF8 { firstGroup(in: $0) }
    }
}
extension StringProtocol { func replacingBackslashes() -> String { String(self.filter { $0 != "\\" }) } }
public enum PatternMatch: Sendable, Equatable {
    case noMatch
    case matched(group: Range<Int>)
    case matchedWithoutGroup
}
public struct PatternSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) (at offset \(offset))" }
}
