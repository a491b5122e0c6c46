import NIOCore
import ShardlineHTTP1

/// A shard's 421 held back while the config is re-read: its head, and its body up to a bound.
struct MisdirectedHold {
    let head: HTTP1ResponseHead
    var body: [ByteBuffer] = []
    private var bytes = 0
    /// False when the body outgrew the bound or the connection closed before its end.
    var bodyComplete = true

    init(head: HTTP1ResponseHead) {
        self.head = head
    }

    mutating func append(_ buffer: ByteBuffer, limit: Int) {
        guard bodyComplete else { return }
        bytes += buffer.readableBytes
        if bytes > limit {
            bodyComplete = false
            body = []
        } else {
            body.append(buffer)
        }
    }
}
