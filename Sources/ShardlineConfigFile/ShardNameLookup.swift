#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking `getaddrinfo` lookup of a shard pod's name, as the sidecar and the SDK both need
/// it: through the system resolver, so `/etc/hosts`, the pod's search domains and the cluster DNS
/// all apply, exactly as a connect would see them. Callers run it off their event loops.
public enum ShardNameLookup {
    /// One address of the answer: numeric, in the resolver's order.
    public struct Address: Sendable, Hashable {
        public enum Family: Sendable, Hashable { case ipv4, ipv6 }
        public var family: Family
        /// `10.0.0.7`, `fd00::7`.
        public var ip: String
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var host: String
        public var reason: String
        public var description: String { "could not resolve \(host): \(reason)" }
    }

    /// Every TCP address of `host`, duplicates dropped, in the resolver's order.
    /// - Throws: `Failure` when the name does not resolve or resolves to no IPv4/IPv6 address.
    public static func addresses(of host: String, port: Int) throws(Failure) -> [Address] {
        var hints = addrinfo()
        #if os(Linux)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [Address] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor?.pointee {
            cursor = entry.ai_next
            guard let raw = entry.ai_addr, let address = numeric(raw, family: entry.ai_family) else { continue }
            if !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else {
            throw Failure(host: host, reason: "the name resolved to no IPv4 or IPv6 address")
        }
        return addresses
    }

    private static func numeric(_ raw: UnsafeMutablePointer<sockaddr>, family: Int32) -> Address? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch family {
        case AF_INET:
            return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                var ip = v4.pointee.sin_addr
                guard inet_ntop(AF_INET, &ip, &text, socklen_t(text.count)) != nil else { return nil }
                return Address(family: .ipv4, ip: string(text))
            }
        case AF_INET6:
            return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var ip = v6.pointee.sin6_addr
                guard inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count)) != nil else { return nil }
                return Address(family: .ipv6, ip: string(text))
            }
        default:
            return nil
        }
    }

    private static func string(_ text: [CChar]) -> String {
        text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
