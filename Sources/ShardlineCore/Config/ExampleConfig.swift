extension ShardlineConfig {
    /// The example config, embedded so `shardline route` and `plan` work with no file at all.
    /// Kept identical to `sdk/examples/shardline.yaml` (a test compares them).
    public static let exampleYAML = """
    # Shardline example config: the embedded default of `shardline route` and `shardline plan`.
    # One file serves the sidecar and the SDK; it fits in a ConfigMap. Reference: README.md#config.
    services:
      - name: users                      # a StatefulSet `users` behind the headless Service `users`
        hosts: [users, users.default.svc.cluster.local]
        pattern: '^/users/([^/]*)/'      # Metaparticle's URLShardPattern: group 1 is the shard key
        onMiss: hashPath                 # no key: hash the whole path (Metaparticle's behaviour)
        algorithm: jump
        statefulSet: users
        service: users
        namespace: default
        port: 8080
        replicas: 3
      - name: cache                      # moved from an nginx `hash $key consistent` router
        hosts: [cache]
        pattern: '^/c/([^/]+)'
        onMiss: reject
        algorithm: nginx-ketama
        endpoints: ["10.0.0.5:11211", "10.0.0.6:11211"]
      - name: sessions                   # key from a header instead of the path
        hosts: [sessions]
        keyHeader: X-Session-ID
        onMiss: reject
        algorithm: maglev
        statefulSet: sessions
        service: sessions-headless
        namespace: auth
        port: 9000
        replicas: 5

    """
}
