import NIOCore
import Testing
import ShardlineHTTP1

@Suite("HTTP/1 request heads")
struct RequestParserTests {
    @Test("a request head is parsed in place: method, target, version, fields as ranges, and the facts")
    func parsesHead() throws {
        let text = "POST /users/a?x=1 HTTP/1.1\r\nHost: users\r\nContent-Length: 5\r\nX-Trace:  abc \t\r\nExpect: 100-Continue\r\n\r\nhello"
        let head = try requestHead(text)
        #expect(head.method == .post)
        #expect(head.string(head.target) == "/users/a?x=1")
        #expect(head.version == .http1_1)
        #expect(head.consumed == text.utf8.count - 5)
        #expect(head.length == head.consumed)
        #expect(head.fields.map { head.string($0.name) } == ["Host", "Content-Length", "X-Trace", "Expect"])
        #expect(head.fields.map { head.string($0.value) } == ["users", "5", "abc", "100-Continue"])
        #expect(head.fields.map(\.kind) == [.host, .contentLength, .other, .expect])
        #expect(head.host.map { head.string($0.value) } == "users")
        #expect(head.framing == .contentLength(5))
        #expect(head.expectsContinue)
        #expect(head.isKeepAlive)
        #expect(head.firstField(named: "x-TRACE").map { head.string($0.value) } == "abc")
        #expect(head.firstField(named: "x-missing") == nil)
        #expect(head.string(head.fields[2].line) == "X-Trace:  abc \t\r\n")
    }

    @Test("known methods are recognised without strings; others keep their bytes", arguments: [
        ("GET", HTTP1Method.get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
        ("CONNECT", .connect), ("OPTIONS", .options), ("TRACE", .trace), ("PATCH", .patch),
        ("PROPFIND", .other), ("M-SEARCH", .other), ("QUERY", .other), ("UNSUBSCRIBE", .other),
    ])
    func methods(method: String, expected: HTTP1Method) throws {
        let head = try requestHead("\(method) \(method == "CONNECT" ? "a:1" : "/") HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.method == expected)
        #expect(head.string(head.methodRange) == method)
    }

    @Test("request-target forms (RFC 9112 3.2): origin, absolute, authority for CONNECT, asterisk for OPTIONS", arguments: [
        ("GET", "/"), ("GET", "/a/b?c=d&e=%20"), ("POST", "http://users:8080/a?b"), ("GET", "https://u"),
        ("CONNECT", "users:443"), ("CONNECT", "[::1]:8443"), ("CONNECT", "10.0.0.1:80"), ("OPTIONS", "*"),
    ])
    func targets(method: String, target: String) throws {
        let head = try requestHead("\(method) \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.string(head.target) == target)
    }

    @Test("request-targets of no form are refused", arguments: [
        ("GET", "s/users/a"), ("GET", "*"), ("GET", "users:443"), ("GET", "http:/a"), ("GET", "http://"), ("GET", "http:///a"),
        ("GET", "1http://a/"), ("GET", "/a#frag"), ("CONNECT", "/a"), ("CONNECT", "users"), ("CONNECT", "users:"),
        ("CONNECT", "a/b:80"), ("CONNECT", "u@h:80"), ("OPTIONS", "**"),
    ])
    func targetForms(method: String, target: String) {
        #expect(parseRequest("\(method) \(target) HTTP/1.1\r\nHost: a\r\n\r\n") == .error(.invalidRequestTarget))
    }

    @Test("HTTP/1.0 closes unless keep-alive; HTTP/1.1 stays open unless close")
    func keepAlive() throws {
        #expect(try !requestHead("GET / HTTP/1.0\r\n\r\n").isKeepAlive)
        #expect(try requestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").isKeepAlive)
        #expect(try requestHead("GET / HTTP/1.1\r\n\r\n").isKeepAlive)
        #expect(try !requestHead("GET / HTTP/1.1\r\nConnection: x, CLOSE\r\n\r\n").isKeepAlive)
        let head = try requestHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(head.version == .http1_0)
    }

    @Test("an upgrade needs both the Upgrade field and the upgrade option")
    func upgrade() throws {
        #expect(try requestHead("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n").isUpgrade)
        #expect(try !requestHead("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").isUpgrade)
        #expect(try !requestHead("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n").isUpgrade)
    }

    @Test("Expect: 100-continue counts in HTTP/1.1 only (RFC 9110 10.1.1), and only that expectation")
    func expectContinue() throws {
        #expect(try requestHead("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expectsContinue)
        #expect(try !requestHead("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expectsContinue)
        #expect(try !requestHead("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n").expectsContinue)
    }

    @Test("fields named in Connection are marked, except Host and Content-Length; names compare without case")
    func namedByConnection() throws {
        let head = try requestHead(
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nX-Private: 1\r\nx-other: 2\r\nConnection: x-private, host, content-length\r\n\r\n"
        )
        #expect(head.fields.map(\.namedByConnection) == [false, false, true, false, false])
        #expect(head.connection == [.other])
    }

    @Test("body framing of requests: none, a length, chunked")
    func framing() throws {
        #expect(try requestHead("GET / HTTP/1.1\r\n\r\n").framing == HTTP1BodyFraming.none)
        #expect(try requestHead("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").framing == .contentLength(0))
        #expect(try requestHead("POST / HTTP/1.1\r\nContent-Length: 0042\r\n\r\n").framing == .contentLength(42))
        #expect(try requestHead("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n").framing == .chunked)
        #expect(try requestHead("POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked,\r\n\r\n").framing == .chunked)
    }

    @Test("every rejection has its own code and status", arguments: [
        // Start line.
        // Methods are case-sensitive, and only the registered ones NIOHTTP1 accepted pass.
        ("get / HTTP/1.1\r\n\r\n", HTTP1Error.Code.unknownMethod),
        ("PNOST / HTTP/1.1\r\n\r\n", .unknownMethod),
        ("PRI * HTTP/1.1\r\n\r\n", .unknownMethod),
        ("G(T / HTTP/1.1\r\n\r\n", .invalidMethod),
        (" GET / HTTP/1.1\r\n\r\n", .invalidMethod),
        ("GET\r\n\r\n", .invalidStartLine),
        ("GET /\r\n\r\n", .invalidStartLine),
        ("GET  / HTTP/1.1\r\n\r\n", .invalidRequestTarget),
        ("GET /a b HTTP/1.1\r\n\r\n", .invalidStartLine),
        ("GET /\u{7F} HTTP/1.1\r\n\r\n", .invalidRequestTarget),
        ("GET /\u{01} HTTP/1.1\r\n\r\n", .invalidRequestTarget),
        ("GET /é HTTP/1.1\r\n\r\n", .invalidRequestTarget),
        ("GET / HTTP/1.1 \r\n\r\n", .invalidStartLine),
        ("GET / HTTP/1.x\r\n\r\n", .invalidVersion),
        ("GET / http/1.1\r\n\r\n", .invalidVersion),
        ("GET / HTTP/11\r\n\r\n", .invalidVersion),
        ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/1.2\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/0.9\r\n\r\n", .unsupportedVersion),
        ("\r\n\r\nGET / HTTP/1.1\r\n\r\n", .invalidMethod),
        // Line ends.
        ("GET / HTTP/1.1\n\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\n\r\n", .bareLineFeed),
        ("GET / HTTP/1.1\r\nHost: a\r\n\n", .bareLineFeed),
        ("GET / HT\rTP/1.1\r\n\r\n", .bareCarriageReturn),
        ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .bareCarriageReturn),
        ("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", .bareCarriageReturn),
        ("GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n", .bareCarriageReturn),
        // Field lines.
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .whitespaceBeforeColon),
        ("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", .whitespaceBeforeColon),
        ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\n: a\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHost a\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nHöst: a\r\n\r\n", .invalidFieldName),
        ("GET / HTTP/1.1\r\nX: a\u{00}b\r\n\r\n", .invalidFieldValue),
        ("GET / HTTP/1.1\r\nX: a\u{7F}\r\n\r\n", .invalidFieldValue),
        ("GET / HTTP/1.1\r\nX: \u{1B}[0m\r\n\r\n", .invalidFieldValue),
        // Framing and smuggling.
        ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .multipleContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", .multipleContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", .multipleContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferCoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferCoding),
        ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", .multipleHost),
    ] as [(String, HTTP1Error.Code)])
    func rejections(text: String, expected: HTTP1Error.Code) {
        let expectedOutcome = Outcome<RequestSummary>.error(expected)
        #expect(parseRequest(text) == expectedOutcome, "\(text.debugDescription)")
        #expect(parseRequestByteByByte(buffer(text)) == expectedOutcome, "\(text.debugDescription), byte by byte")
    }

    @Test("each error maps to the status a server answers with")
    func statuses() {
        #expect(HTTP1Error(.unsupportedVersion).status == 505)
        #expect(HTTP1Error(.unsupportedTransferCoding).status == 501)
        #expect(HTTP1Error(.unknownMethod).status == 501)
        #expect(HTTP1Error(.requestLineTooLong).status == 414)
        #expect(HTTP1Error(.headTooLarge).status == 431)
        #expect(HTTP1Error(.tooManyFields).status == 431)
        #expect(HTTP1Error(.trailersTooLarge).status == 431)
        #expect(HTTP1Error(.chunkLineTooLong).status == 413)
        for code in [HTTP1Error.Code.bareCarriageReturn, .obsoleteLineFolding, .multipleContentLength, .contentLengthWithTransferEncoding, .invalidTransferEncoding] {
            #expect(HTTP1Error(code).status == 400)
        }
        // Every code has its own message.
        let messages = Set(HTTP1Error.Code.allCases.map { HTTP1Error($0).message })
        #expect(messages.count == HTTP1Error.Code.allCases.count)
    }

    @Test("one empty line before the request line is ignored and consumed; the head starts after it")
    func leadingEmptyLine() throws {
        let head = try requestHead("\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.consumed == 2 + head.length)
        #expect(head.string(head.target) == "/x")
        #expect(head.string(0..<3) == "GET")
    }

    @Test("limits: a request line that does not fit is 414, a head that does not is 431, too many fields 431")
    func limits() {
        let limits = HTTP1Limits(maxHeadBytes: 64, maxFields: 3)
        let longTarget = "GET /" + String(repeating: "a", count: 80) + " HTTP/1.1\r\n\r\n"
        #expect(parseRequest(longTarget, limits: limits) == .error(.requestLineTooLong))
        // Refused before the line ends: a client cannot hold the parser with an endless line.
        #expect(parseRequest(String(longTarget.prefix(70)), limits: limits) == .error(.requestLineTooLong))
        let bigField = "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 60) + "\r\n\r\n"
        #expect(parseRequest(bigField, limits: limits) == .error(.headTooLarge))
        #expect(parseRequest(String(bigField.prefix(65)), limits: limits) == .error(.headTooLarge))
        let many = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
        #expect(parseRequest(many, limits: limits) == .error(.tooManyFields))
        // Exactly at the limit is accepted.
        let exact = "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 64 - 23) + "\r\n\r\n"
        #expect(exact.utf8.count == 64)
        guard case .head = parseRequest(exact, limits: limits) else {
            Issue.record("a head of exactly maxHeadBytes was refused")
            return
        }
        #expect(parseRequest(exact + "", limits: HTTP1Limits(maxHeadBytes: 63)) == .error(.headTooLarge))
    }

    @Test("the default limits are the sidecar's: 16 KiB of head")
    func defaultLimits() {
        #expect(HTTP1Limits().maxHeadBytes == 16384)
        let big = "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 16384) + "\r\n\r\n"
        #expect(parseRequest(big) == .error(.headTooLarge))
    }

    @Test("an incomplete head is 'need more' and consumes nothing; a later call with more bytes completes it")
    func incremental() throws {
        var parser = HTTP1RequestParser()
        let whole = buffer("GET /a HTTP/1.1\r\nHost: users\r\n\r\n")
        #expect(try parser.parse(whole.getSlice(at: 0, length: 20)!) == nil)
        #expect(try parser.parse(whole.getSlice(at: 0, length: 31)!) == nil)
        let head = try #require(try parser.parse(whole))
        #expect(head.consumed == whole.readableBytes)
        #expect(head.host.map { head.string($0.value) } == "users")
    }

    @Test("byte by byte gives the one-shot result, heads and errors alike", arguments: [
        "GET /a HTTP/1.1\r\nHost: users\r\nConnection: x-a\r\nX-A: 1\r\n\r\n",
        "\r\nPOST /b HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
        "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nX : a\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb",
    ])
    func byteByByte(text: String) {
        #expect(parseRequestByteByByte(buffer(text)) == parseRequest(text))
    }

    @Test("pipelined requests in one buffer parse one after another, each consuming its own bytes")
    func pipelined() throws {
        var input = buffer("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\n\r\nGET /4 HT")
        var parser = HTTP1RequestParser()
        var targets: [String] = []
        while let head = try parser.parse(input) {
            targets.append(head.string(head.target))
            input.moveReaderIndex(forwardBy: head.consumed)
            var body = HTTP1BodyFramer(head.framing)
            let taken = try body.advance(over: input)
            #expect(body.isComplete)
            input.moveReaderIndex(forwardBy: taken)
        }
        #expect(targets == ["/1", "/2", "/3"])
        #expect(input.readableString == "GET /4 HT")
    }

    @Test("after an error the parser starts afresh")
    func resetsAfterError() throws {
        var parser = HTTP1RequestParser()
        #expect(throws: HTTP1Error(.whitespaceBeforeColon)) { try parser.parse(buffer("GET / HTTP/1.1\r\nA : b\r\n\r\n")) }
        let head = try #require(try parser.parse(buffer("GET /ok HTTP/1.1\r\n\r\n")))
        #expect(head.string(head.target) == "/ok")
    }

    @Test("obs-text is allowed in values; whitespace around values is not part of them")
    func valueBytes() throws {
        var bytes = Array("GET / HTTP/1.1\r\nX-Name: \t".utf8)
        bytes += [0xC3, 0xA9, 0x20, 0x61]
        bytes += Array(" \t\r\nEmpty:\r\nSpaces:   \r\n\r\n".utf8)
        var parser = HTTP1RequestParser()
        let head = try #require(try parser.parse(buffer(bytes)))
        #expect(head.fields[0].value.count == 4)
        #expect(head.fields[1].value.isEmpty)
        #expect(head.fields[2].value.isEmpty)
    }

    @Test("x-shardline-* and forwarding fields get their kinds whatever their case")
    func kinds() throws {
        let head = try requestHead(
            "GET / HTTP/1.1\r\nX-Shardline-Shard: 3\r\nx-shardline-topology: t\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: h\r\nVia: 1.1 a\r\nTE: trailers\r\nTrailer: x\r\nProxy-Connection: close\r\nKeep-Alive: timeout=1\r\nX-Shardlin: no\r\n\r\n"
        )
        #expect(head.fields.map(\.kind) == [
            .shardlinePrefixed, .shardlinePrefixed, .xForwardedFor, .xForwardedProto, .xForwardedHost, .via, .te, .trailer,
            .proxyConnection, .keepAlive, .other,
        ])
    }
}
