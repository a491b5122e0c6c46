// `import Shardline` is all a caller writes: the config, the decision and the placement types are
// the core's own, so the SDK and the sidecar share them rather than mirror them.
@_exported import ShardlineCore
