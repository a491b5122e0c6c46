import NIOCore
import Testing
import ShardlineHTTP1

/// Inputs the fuzzers (Fuzz/README.md) found, each kept as a regression test with the outcome
/// decided for it.
@Suite("HTTP/1 fuzz findings")
struct FuzzFindingsTests {
    @Test("differential: whitespace in chunk extensions, which llhttp refuses, is refused")
    func chunkExtensionWhitespace() throws {
        let text = "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 ; name = \"q \\\" v\";flag\r\nabc\r\nA;x=y\r\n0123456789\r\n0;last\r\n\r\n"
        var input = buffer(text)
        var parser = HTTP1RequestParser()
        let head = try #require(try parser.parse(input))
        input.moveReaderIndex(forwardBy: head.consumed)
        var body = HTTP1BodyFramer(head.framing)
        #expect(throws: HTTP1Error(.invalidChunkSize)) { try body.advance(over: input) }
    }

    @Test("differential: a request-target of no RFC 9112 form, which llhttp refuses, is refused")
    func targetWithoutForm() {
        #expect(parseRequest("GET s/uers/a HTTP/1.0\r\nHost: users\r\n\r\n") == .error(.invalidRequestTarget))
    }

    @Test("differential: a method llhttp does not know is refused with 501")
    func unknownMethod() {
        let text = "PNOST /orders/42 HTTP/1.1\r\nHost: orders\r\nContent-Ty%pe: application/json\r\nContent-Length: 13\r\n\r\n{\"qty\": 1234}"
        #expect(parseRequest(text) == .error(.unknownMethod))
        #expect(HTTP1Error(.unknownMethod).status == 501)
    }

    @Test("differential: a value's trailing whitespace is outside its range (llhttp keeps it) but still in its line")
    func trailingWhitespace() throws {
        let head = try requestHead("GET /1 HTTP/1.1\r\nHost:: \r\n'tent-Length: 2\r\n\r\n")
        #expect(head.string(head.fields[0].value) == ":")
        #expect(head.string(head.fields[0].line) == "Host:: \r\n")
        #expect(head.string(head.fields[1].name) == "'tent-Length")
        #expect(head.framing == .none)
    }

    @Test("differential: an absolute-form scheme of other than letters, or an authority with a byte outside RFC 3986's, is refused", arguments: [
        "GET hf-ffffffffffffffttp://users:8080/a/b?c=d HTTP/1.1\r\nHoclosesers:8080\r\n\r\n",
        "GET http://use<s:8080/a/b?c=d HTTP/1.1\r\nHost: users:8080\r\n\r\n",
        "GET h2://users/ HTTP/1.1\r\n\r\n",
        "GET http://us\"ers/ HTTP/1.1\r\n\r\n",
    ])
    func absoluteForm(text: String) {
        #expect(parseRequest(text) == .error(.invalidRequestTarget))
    }

    @Test("absolute-form with userinfo, IPv6 and percent-encoding in the authority passes")
    func absoluteFormAccepted() throws {
        let head = try requestHead("GET http://u%20:p@[::1]:8080?q HTTP/1.1\r\n\r\n")
        #expect(head.string(head.target) == "http://u%20:p@[::1]:8080?q")
    }

    @Test("differential: Transfer-Encoding and Content-Length as trailer fields, which llhttp refuses, are refused; other trailers pass", arguments: [
        ("0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1Error.Code?.some(.framingFieldInTrailers)),
        ("0\r\nCONTENT-LENGTH: 5\r\n\r\n", .framingFieldInTrailers),
        ("0\r\nContent-Lengths: 5\r\n\r\n", nil),
        ("0\r\nHost: b\r\nX: time\u{FF}\r\n\r\n", nil),
    ])
    func framingTrailers(body: String, expected: HTTP1Error.Code?) {
        let outcome = frame(.chunked, body)
        if let expected {
            #expect(outcome == .error(expected))
        } else {
            #expect(outcome == .head(FramedBody(bytes: body.utf8.count, complete: true, payload: 0)))
        }
    }

    @Test("response differential: a 1xx that closes the connection, after which llhttp refuses the final response, is refused", arguments: [
        "HTTP/1.0 102 Processing\r\n\r\n",
        "HTTP/1.0 100 Continue\r\nConnection: keep-alive, close\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nConnection: close\r\n\r\n",
    ])
    func closingInformational(text: String) {
        #expect(parseResponse(text) == .error(.closingInformationalResponse))
        #expect(parseResponseByteByByte(buffer(text)) == .error(.closingInformationalResponse))
    }

    @Test("response differential: an HTAB after a framing field's value, which llhttp refuses or reads as another framing, is refused", arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n", HTTP1Error.Code.invalidTransferEncoding),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked \t \r\n\r\n", .invalidTransferEncoding),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\t\r\n\r\n", .invalidContentLength),
    ])
    func framingFieldTrailingTab(text: String, expected: HTTP1Error.Code) {
        #expect(parseResponse(text) == .error(expected))
        let request = "POST / HTTP/1.1\r\nHost: a" + text.dropFirst("HTTP/1.1 200 OK".count)
        #expect(parseRequest(request) == .error(expected))
    }

    @Test("whitespace llhttp also skips around a framing field's value passes: SP after it, HTAB before it")
    func framingFieldSpaces() throws {
        #expect(try responseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding:\tchunked  \r\n\r\n").framing(requestMethod: .get) == .chunked)
        #expect(try responseHead("HTTP/1.1 200 OK\r\nContent-Length: \t7 \r\n\r\n").framing(requestMethod: .get) == .contentLength(7))
        #expect(try requestHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t7 \r\n\r\n").framing == .contentLength(7))
        // Other fields keep RFC 9110 5.5's trailing whitespace, HTAB included, out of the value.
        let head = try responseHead("HTTP/1.1 200 OK\r\nX-Note: a\t\r\nContent-Length: 0\r\n\r\n")
        #expect(head.string(head.fields[0].value) == "a")
    }

    @Test("a 1xx that keeps the connection is read, then the final response after it")
    func keptInformational() throws {
        var input = buffer("HTTP/1.0 100 Continue\r\nConnection: keep-alive\r\n\r\nHTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        var parser = HTTP1ResponseParser()
        let interim = try #require(try parser.parse(input))
        #expect(interim.status == 100 && interim.isInformational && interim.isKeepAlive)
        input.moveReaderIndex(forwardBy: interim.consumed)
        let final = try #require(try parser.parse(input))
        #expect(final.status == 200 && !final.isKeepAlive)
        // A final response may close the connection; only an interim one may not.
        #expect(parseResponse("HTTP/1.0 204 No Content\r\n\r\n") != .error(.closingInformationalResponse))
        #expect(parseResponse("HTTP/1.0 101 Switching Protocols\r\n\r\n") != .error(.closingInformationalResponse))
    }
}
