import Foundation
import Testing

/// The SDK's two heavy end-to-end tests: 20,000 requests through the SDK and the real sidecar
/// binary, and building and running the example package. They take both cores of a small machine
/// for minutes, which makes the timing-bounded sidecar tests running beside them time out, so they
/// run in a `swift test` of their own: `.ci/run` runs
/// `SHARDLINE_SDK_END_TO_END=1 swift test --skip-build --filter SDKEndToEnd` after the main run
/// (set the variable to run them locally), and one after the other.
@Suite("SDK: end to end", .serialized, .enabled(if: sdkEndToEndEnabled, "set SHARDLINE_SDK_END_TO_END=1 (CI does, in a run of its own)"))
struct SDKEndToEnd {}

let sdkEndToEndEnabled = ProcessInfo.processInfo.environment["SHARDLINE_SDK_END_TO_END"] == "1"
