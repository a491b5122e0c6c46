import Testing

/// The SDK's two heavy end-to-end tests (20,000 requests through the SDK and the sidecar binary;
/// building the example package) run one after the other: together they would take both cores
/// of a small CI machine from every other test at once.
@Suite("SDK: end to end", .serialized)
struct SDKEndToEnd {}
