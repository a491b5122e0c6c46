import Testing
@testable import ShardlineCore

@Suite struct XXHash64Tests {
    @Test func publishedVectors() {
        // From the xxHash reference documentation and test suite.
        #expect(XXHash64.hash("") == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash("a") == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash("abc") == 0x44BC_2CF5_AD77_0999)
    }

    @Test(arguments: GeneratedVectors.xxh64)
    func matchesPythonXXHash(input: String, seed: UInt64, hash: UInt64) {
        #expect(XXHash64.hash(input, seed: seed) == hash, "xxh64(\(input.utf8.count) bytes, seed \(seed))")
    }

    @Test func bufferAndStringOverloadsAgree() {
        let text = "0123456789abcdef0123456789abcdef-tail"
        let fromBytes = Array(text.utf8).withUnsafeBytes { XXHash64.hash($0, seed: 7) }
        #expect(fromBytes == XXHash64.hash(text, seed: 7))
    }

    @Test func unalignedBuffersHashLikeAlignedOnes() {
        let text = "a longer key that crosses the thirty-two byte stripe boundary"
        let bytes = [0] + Array(text.utf8)
        let unaligned = bytes.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[1...])) }
        #expect(unaligned == XXHash64.hash(text))
    }

    @Test func emptyBufferWithoutBaseAddress() {
        #expect(XXHash64.hash(UnsafeRawBufferPointer(start: nil, count: 0)) == 0xEF46_DB37_51D8_E999)
    }
}

@Suite struct CRC32Tests {
    @Test func checkValue() {
        // The CRC catalogue's check value for CRC-32/ISO-HDLC.
        #expect(CRC32.checksum("123456789") == 0xCBF4_3926)
    }

    @Test(arguments: GeneratedVectors.crc32)
    func matchesZlib(input: String, checksum: UInt32) {
        #expect(CRC32.checksum(input) == checksum)
    }

    @Test func updatingInPiecesEqualsOneShot() {
        let whole = Array("host\0port-and-more".utf8)
        let oneShot = whole.withUnsafeBytes { CRC32.checksum($0) }
        let pieces = whole.withUnsafeBytes { bytes in
            var register = CRC32.initialRegister
            register = CRC32.update(register, UnsafeRawBufferPointer(rebasing: bytes[0..<4]))
            register = CRC32.update(register, byte: bytes[4])
            register = CRC32.update(register, UnsafeRawBufferPointer(rebasing: bytes[5...]))
            return CRC32.finalize(register)
        }
        #expect(pieces == oneShot)
    }
}

@Suite struct SplitMix64Tests {
    @Test func firstOutputsFromSeedZero() {
        // Published first outputs of SplitMix64 seeded with 0 (Vigna's reference code).
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }
}
