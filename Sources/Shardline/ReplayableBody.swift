import AsyncHTTPClient

/// Whether a request body can be sent a second time, after a shard's 421 (SPEC.md 11.5: a 421
/// guarantees the shard processed nothing, so even a POST may go again, if its body is still at
/// hand).
///
/// A body made from bytes in memory (`.bytes(ByteBuffer)`, `.bytes(collection)`) can: the value
/// holds them. A streamed one (`.stream(...)`) cannot: its sequence was consumed by the first
/// attempt. AsyncHTTPClient knows which is which but does not say so publicly, so this reads its
/// body's kind by reflection; should that ever find nothing it knows, the answer is "cannot",
/// which only means the 421 is surfaced instead of followed. The body is never copied or
/// re-framed (a `Content-Length` body stays one; a stream is still streamed as it comes).
enum ReplayableBody {
    static func canReplay(_ body: HTTPClientRequest.Body?) -> Bool {
        guard let body else { return true }
        guard let mode = Mirror(reflecting: body).children.first(where: { $0.label == "mode" })?.value,
              let kind = Mirror(reflecting: mode).children.first else { return false }
        switch kind.label {
        case "byteBuffer":
            return true
        case "sequence":
            // `.bytes` of a collection says whether its body can be made again.
            let fields = Mirror(reflecting: kind.value).children
            return fields.first(where: { $0.label == "canBeConsumedMultipleTimes" })?.value as? Bool ?? false
        default:
            return false
        }
    }
}
