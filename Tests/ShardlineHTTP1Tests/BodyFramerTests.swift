import NIOCore
import Testing
import ShardlineHTTP1

@Suite("HTTP/1 body framing")
struct BodyFramerTests {
    @Test("no body takes nothing; a length takes exactly that many bytes, across reads")
    func lengths() throws {
        #expect(frame(.none, "GET / HTTP/1.1\r\n\r\n") == .head(FramedBody(bytes: 0, complete: true, payload: 0)))
        #expect(frame(.contentLength(0), "abc") == .head(FramedBody(bytes: 0, complete: true, payload: 0)))
        #expect(frame(.contentLength(5), "hello, next") == .head(FramedBody(bytes: 5, complete: true, payload: 5)))
        #expect(frame(.contentLength(5), "hello, next", step: 2) == .head(FramedBody(bytes: 5, complete: true, payload: 5)))
        #expect(frame(.contentLength(10), "hello") == .head(FramedBody(bytes: 5, complete: false, payload: 5)))
    }

    @Test("payload ranges: the data of each chunk without its framing, across reads; a length's or close-delimited body whole")
    func payloadRanges() throws {
        let wire = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\nNEXT"
        for step in [1, 3, 7, wire.utf8.count] {
            var framer = HTTP1BodyFramer(.chunked)
            var rest = ByteBuffer(string: wire)
            var payload = ""
            var taken = 0
            while !framer.isComplete, rest.readableBytes > 0 {
                let read = rest.getSlice(at: rest.readerIndex, length: min(step, rest.readableBytes))!
                var ranges: [Range<Int>] = []
                let count = try framer.advance(over: read, payload: &ranges)
                for range in ranges { payload += read.getString(at: read.readerIndex + range.lowerBound, length: range.count)! }
                rest.moveReaderIndex(forwardBy: count)
                taken += count
            }
            #expect(payload == "hello world", "step \(step)")
            #expect(taken == wire.utf8.count - 4, "step \(step)")
            #expect(framer.payloadBytes == 11)
        }
        var length = HTTP1BodyFramer(.contentLength(3))
        var ranges: [Range<Int>] = []
        #expect(try length.advance(over: ByteBuffer(string: "abcdef"), payload: &ranges) == 3)
        #expect(ranges == [0..<3])
        var untilClose = HTTP1BodyFramer(.untilClose)
        ranges = []
        #expect(try untilClose.advance(over: ByteBuffer(string: "xy"), payload: &ranges) == 2)
        #expect(ranges == [0..<2])
    }

    @Test("until close and tunnel take everything and never complete")
    func unbounded() {
        #expect(frame(.untilClose, "abc") == .head(FramedBody(bytes: 3, complete: false, payload: 3)))
        #expect(frame(.tunnel, "abc", step: 1) == .head(FramedBody(bytes: 3, complete: false, payload: 3)))
    }

    @Test("chunked bodies end after the last chunk and trailers, whatever the read sizes", arguments: [
        ("5\r\nhello\r\n0\r\n\r\n", 5),
        ("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 11),
        ("A\r\n0123456789\r\n0\r\n\r\n", 10),
        ("a;name=value;flag\r\n0123456789\r\n0\r\n\r\n", 10),
        ("3;name=\"quoted \\\" value\"\r\nabc\r\n0\r\n\r\n", 3),
        ("3;a=b;c=\"\"\r\nabc\r\n0;last\r\n\r\n", 3),
        ("0000000005\r\nhello\r\n0\r\n\r\n", 5),
        ("0\r\nChecksum: abc\r\nX-Other:  v \r\n\r\n", 0),
        ("1\r\n\r\r\n0\r\n\r\n", 1),
    ])
    func chunked(text: String, payload: Int) {
        let expected = Outcome<FramedBody>.head(FramedBody(bytes: text.utf8.count, complete: true, payload: payload))
        #expect(frame(.chunked, text) == expected, "\(text.debugDescription)")
        #expect(frame(.chunked, text, step: 1) == expected, "\(text.debugDescription) byte by byte")
        #expect(frame(.chunked, text, step: 3) == expected, "\(text.debugDescription) in threes")
        // What follows the body (a pipelined request) is not taken.
        #expect(frame(.chunked, text + "GET / HTTP/1.1\r\n\r\n", step: 7) == expected)
    }

    @Test("an unfinished chunked body takes everything it was given and is not complete")
    func unfinished() {
        #expect(frame(.chunked, "5\r\nhel") == .head(FramedBody(bytes: 6, complete: false, payload: 3)))
        #expect(frame(.chunked, "5\r\nhello\r\n0\r\n") == .head(FramedBody(bytes: 13, complete: false, payload: 5)))
    }

    @Test("chunk framing errors", arguments: [
        ("\r\n", HTTP1Error.Code.invalidChunkSize),
        ("x\r\n", .invalidChunkSize),
        ("-1\r\n", .invalidChunkSize),
        ("+1\r\n", .invalidChunkSize),
        ("0x5\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("10000000000000000\r\n", .invalidChunkSize),
        ("8000000000000000\r\n", .invalidChunkSize),
        ("5\nhello\r\n0\r\n\r\n", .bareLineFeed),
        ("5\rhello\r\n0\r\n\r\n", .bareCarriageReturn),
        ("5\r\nhelloXX0\r\n\r\n", .invalidChunkTerminator),
        ("5\r\nhello\rX", .invalidChunkTerminator),
        ("5\r\nhello\n0\r\n\r\n", .invalidChunkTerminator),
        ("5;\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;=x\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a=\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a=b c\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a=\"b\r\nhello\r\n0\r\n\r\n", .bareCarriageReturn),
        ("5;a=\"\u{01}\"\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        // No whitespace anywhere in a chunk-size line (stricter than RFC 9112's BWS, as llhttp).
        ("5 x\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("5 \r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("5\t;a\r\nhello\r\n0\r\n\r\n", .invalidChunkSize),
        ("5; a\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a =b\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a= b\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a=b \r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a=\"b\" \r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("5;a\u{00}\r\nhello\r\n0\r\n\r\n", .invalidChunkExtension),
        ("0\r\nX : 1\r\n\r\n", .whitespaceBeforeColon),
        ("0\r\n folded\r\n\r\n", .obsoleteLineFolding),
        ("0\r\nNoColon\r\n\r\n", .invalidFieldName),
        ("0\r\n: v\r\n\r\n", .invalidFieldName),
        ("0\r\nX: a\u{7F}\r\n\r\n", .invalidFieldValue),
        ("0\r\nX: a\n\r\n", .bareLineFeed),
        ("0\r\nX: a\rb\r\n\r\n", .bareCarriageReturn),
        ("0\r\n\rX", .bareCarriageReturn),
        ("0\r\n\n", .bareLineFeed),
    ] as [(String, HTTP1Error.Code)])
    func errors(text: String, expected: HTTP1Error.Code) {
        #expect(frame(.chunked, text) == .error(expected), "\(text.debugDescription)")
        #expect(frame(.chunked, text, step: 1) == .error(expected), "\(text.debugDescription) byte by byte")
    }

    @Test("chunk-size lines and trailer sections have limits")
    func limits() {
        let limits = HTTP1Limits(maxFields: 2, maxChunkLineBytes: 16, maxTrailerBytes: 32)
        #expect(frame(.chunked, "1;" + String(repeating: "a", count: 20) + "\r\nx\r\n0\r\n\r\n", limits: limits) == .error(.chunkLineTooLong))
        #expect(frame(.chunked, "0\r\nX: " + String(repeating: "v", count: 40) + "\r\n\r\n", limits: limits) == .error(.trailersTooLarge))
        #expect(frame(.chunked, "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits) == .error(.trailersTooLarge))
        #expect(frame(.chunked, "0\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits) == .head(FramedBody(bytes: 17, complete: true, payload: 0)))
        // The limit is per line: many chunks are fine.
        let many = String(repeating: "1;abc\r\nx\r\n", count: 100) + "0\r\n\r\n"
        #expect(frame(.chunked, many, limits: limits) == .head(FramedBody(bytes: many.utf8.count, complete: true, payload: 100)))
    }

    @Test("a large chunk is skipped by count, not byte by byte, across reads")
    func largeChunk() throws {
        var framer = HTTP1BodyFramer(.chunked)
        #expect(try framer.advance(over: buffer("100000\r\n")) == 8)
        let data = ByteBuffer(repeating: UInt8(ascii: "x"), count: 0x100000)
        #expect(try framer.advance(over: data) == 0x100000)
        #expect(!framer.isComplete)
        #expect(try framer.advance(over: buffer("\r\n0\r\n\r\nNEXT")) == 7)
        #expect(framer.isComplete)
        #expect(framer.payloadBytes == 0x100000)
        #expect(try framer.advance(over: buffer("more")) == 0)
    }
}
