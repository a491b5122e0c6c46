/// CRC-32/ISO-HDLC: the checksum of zlib's `crc32` and of nginx's `ngx_crc32_long`.
///
/// Shardline needs it only to reproduce nginx's `hash $key consistent` placement, which builds its
/// ring and hashes its keys with this CRC. It is a poor general-purpose hash (32 bits, linear), so
/// every other algorithm uses xxHash64.
public enum CRC32 {
    /// CRC-32/ISO-HDLC (zlib's crc32, nginx's ngx_crc32_long): reflected poly 0xEDB88320, init and xorout 0xFFFFFFFF.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        finalize(update(initialRegister, bytes))
    }

    /// The checksum of the UTF-8 bytes of `string`.
    public static func checksum(_ string: String) -> UInt32 {
        var utf8 = string
        return utf8.withUTF8 { checksum(UnsafeRawBufferPointer($0)) }
    }

    /// The register before any byte is fed (nginx's `ngx_crc32_init`).
    static let initialRegister: UInt32 = 0xFFFF_FFFF

    /// Feeds `bytes` into a running register; split from `finalize` because nginx continues one
    /// register over several byte runs (host, a zero byte, port, previous point hash).
    @inline(__always)
    static func update(_ register: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { table in
            var crc = register
            for byte in bytes {
                crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
            }
            return crc
        }
    }

    /// Feeds one byte into a running register.
    @inline(__always)
    static func update(_ register: UInt32, byte: UInt8) -> UInt32 {
        table[Int(UInt8(truncatingIfNeeded: register) ^ byte)] ^ (register >> 8)
    }

    /// The checksum of a register (nginx's `ngx_crc32_final`).
    @inline(__always)
    static func finalize(_ register: UInt32) -> UInt32 {
        register ^ 0xFFFF_FFFF
    }

    /// The CRC of every byte value, derived from the reflected polynomial at first use.
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = (crc & 1) == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
        return crc
    }
}
