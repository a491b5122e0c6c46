import NIOCore
import Testing
import ShardlineHTTP1

@Suite("HTTP/1 response heads")
struct ResponseParserTests {
    @Test("status, reason, version, fields, connection and Keep-Alive timeout")
    func parsesHead() throws {
        let text = "HTTP/1.1 201 Created Now\r\nContent-Length: 3\r\nKeep-Alive: max=5, timeout=7\r\nConnection: keep-alive\r\n\r\nabc"
        let head = try responseHead(text)
        #expect(head.status == 201)
        #expect(head.string(head.reason) == "Created Now")
        #expect(head.version == .http1_1)
        #expect(head.consumed == text.utf8.count - 3)
        #expect(head.keepAliveTimeout == 7)
        #expect(head.isKeepAlive)
        #expect(head.framing(requestMethod: .get) == .contentLength(3))
        #expect(head.fields.map(\.kind) == [.contentLength, .keepAlive, .connection])
    }

    @Test("an empty reason, with or without its space, is accepted")
    func emptyReason() throws {
        #expect(try responseHead("HTTP/1.1 204 \r\n\r\n").string(responseHead("HTTP/1.1 204 \r\n\r\n").reason) == "")
        #expect(try responseHead("HTTP/1.1 204\r\n\r\n").status == 204)
    }

    @Test("response framing per RFC 9112 6.3", arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", HTTP1Method.head, HTTP1BodyFraming.none),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .head, .none),
        ("HTTP/1.1 100 Continue\r\n\r\n", .post, .none),
        ("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", .get, .none),
        ("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", .get, .none),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", .get, .none),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", .get, .tunnel),
        ("HTTP/1.1 200 OK\r\n\r\n", .connect, .tunnel),
        ("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n", .connect, .contentLength(2)),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .get, .chunked),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", .get, .untilClose),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", .get, .contentLength(0)),
        ("HTTP/1.0 200 OK\r\n\r\n", .get, .untilClose),
        ("HTTP/1.1 200 OK\r\n\r\n", .get, .untilClose),
    ])
    func framing(text: String, method: HTTP1Method, expected: HTTP1BodyFraming) throws {
        #expect(try responseHead(text).framing(requestMethod: method) == expected)
    }

    @Test("1xx other than 101 is informational")
    func informational() throws {
        #expect(try responseHead("HTTP/1.1 100 Continue\r\n\r\n").isInformational)
        #expect(try !responseHead("HTTP/1.1 101 Switching\r\n\r\n").isInformational)
        #expect(try !responseHead("HTTP/1.1 200 OK\r\n\r\n").isInformational)
    }

    @Test("HTTP/1.0 responses close unless keep-alive; close wins on 1.1")
    func keepAlive() throws {
        #expect(try !responseHead("HTTP/1.0 200 OK\r\n\r\n").isKeepAlive)
        #expect(try responseHead("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").isKeepAlive)
        #expect(try !responseHead("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").isKeepAlive)
        #expect(try responseHead("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=abc\r\n\r\n").keepAliveTimeout == nil)
    }

    @Test("rejections", arguments: [
        ("HTTP/1.1 20 OK\r\n\r\n", HTTP1Error.Code.invalidStatus),
        ("HTTP/1.1 2000 OK\r\n\r\n", .invalidStatus),
        ("HTTP/1.1 099 OK\r\n\r\n", .invalidStatus),
        ("HTTP/1.1 600 OK\r\n\r\n", .invalidStatus),
        ("HTTP/1.1 2x0 OK\r\n\r\n", .invalidStatus),
        ("HTTP/1.1 200 O\u{01}K\r\n\r\n", .invalidStatus),
        ("HTTP/1.1\r\n\r\n", .invalidStartLine),
        ("HTTP/2 200 OK\r\n\r\n", .invalidVersion),
        ("HTTP/2.0 200 OK\r\n\r\n", .unsupportedVersion),
        ("http/1.1 200 OK\r\n\r\n", .invalidVersion),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", .invalidVersion),
        ("HTTP/1.1 200 OK\n\n", .bareLineFeed),
        ("HTTP/1.1 200 O\rK\r\n\r\n", .bareCarriageReturn),
        ("HTTP/1.1 200 OK\r\nX : 1\r\n\r\n", .whitespaceBeforeColon),
        ("HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\n\r\n", .obsoleteLineFolding),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .multipleContentLength),
        ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .invalidContentLength),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .invalidTransferEncoding),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", .invalidTransferEncoding),
    ] as [(String, HTTP1Error.Code)])
    func rejections(text: String, expected: HTTP1Error.Code) {
        #expect(parseResponse(text) == .error(expected), "\(text.debugDescription)")
        #expect(parseResponseByteByByte(buffer(text)) == .error(expected), "\(text.debugDescription), byte by byte")
    }

    @Test("byte by byte gives the one-shot result")
    func byteByByte() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            "HTTP/1.0 404 Not Found\r\nKeep-Alive: timeout=3\r\n\r\n",
            "HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ] {
            #expect(parseResponseByteByByte(buffer(text)) == parseResponse(text))
        }
    }

    @Test("a 100 Continue and the final response in one buffer parse one after the other")
    func informationalThenFinal() throws {
        var input = buffer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        var parser = HTTP1ResponseParser()
        let first = try #require(try parser.parse(input))
        #expect(first.status == 100)
        input.moveReaderIndex(forwardBy: first.consumed)
        let second = try #require(try parser.parse(input))
        #expect(second.status == 200)
        #expect(second.consumed == input.readableBytes)
    }
}
