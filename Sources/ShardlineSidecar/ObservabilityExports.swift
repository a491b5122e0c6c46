// JSON logs and the process's metrics registry live in ShardlineObservability so the webhook
// process shares them without importing the sidecar; re-exported so the sidecar's users (the CLI,
// its tests) see them where they always did.
@_exported import ShardlineObservability
