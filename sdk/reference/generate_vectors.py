#!/usr/bin/env python3
"""Writes sdk/vectors/routing.json from the cases below, with the expected results computed by
the Python reference (shardline_ref.py), not by the Swift code the vectors test.

    python3 sdk/reference/generate_vectors.py > sdk/vectors/routing.json
"""
import json
import random

import shardline_ref as ref

ALGORITHMS = ["jump", "maglev", "ring", "rendezvous", "modulo", "nginx-ketama"]
SHARD_COUNTS = [1, 2, 3, 7, 16, 64]


def statefulset_config(algorithm, replicas):
    return f"""services:
  - name: users
    hosts: [users, users.default.svc.cluster.local]
    pattern: '^\\/users\\/([^\\/]*)\\/.*'
    algorithm: {algorithm}
    statefulSet: users
    service: users
    namespace: default
    port: 8080
    replicas: {replicas}
"""


EDGE_CONFIG = """services:
  - name: users
    hosts: [users, users.default.svc.cluster.local]
    pattern: '^/users/([^/]*)/'
    onMiss: hashPath
    statefulSet: users
    service: users-hl
    namespace: prod
    clusterDomain: corp.example
    port: 8080
    replicas: 5
  - name: strict
    hosts: [strict]
    listenPort: 15002
    pattern: '^/s/([a-z0-9-]+)(?:/|$)'
    onMiss: reject
    endpoints: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]
  - name: pinned
    hosts: [pinned]
    pattern: '^/p/([^/]+)'
    onMiss: {shard: 1}
    algorithm: rendezvous
    endpoints: ["a:1", "b:1", "c:1"]
  - name: tenants
    hosts: [tenants]
    keyHeader: X-Tenant
    onMiss: reject
    algorithm: maglev
    statefulSet: tenants
    service: tenants
    port: 9000
    replicas: 4
  - name: query
    hosts: [query]
    keyQuery: t
    algorithm: ring
    endpoints: ["q0:1", "q1:1", "q2:1", "q3:1"]
  - name: cache
    hosts: [cache]
    pattern: '^/c/([^/]+)'
    algorithm: nginx-ketama
    endpoints: ["10.0.0.5:11211", "10.0.0.6:11211", "cache-2.local:11211"]
  - name: short
    hosts: [short]
    pattern: '^/k/([^/]+)'
    maxPathBytes: 64
    endpoints: ["s:1", "t:1"]
"""

EDGE_CASES = [
    # (host, target, headers, listenerPort)
    ("users", "/users/alice/profile", None, None),
    ("users", "/users/al%69ce/profile", None, None),          # decoded after capture: same as alice
    ("users", "/users/a%2Fb/x", None, None),                 # %2F does not split the key
    ("users", "/users/%C3%A9t%C3%A9/x", None, None),         # percent-encoded UTF-8
    ("users", "/users/été/x", None, None),                   # raw UTF-8 in the path
    ("users", "/users/日本語/x", None, None),
    ("users", "/users/" + "k" * 4000 + "/x", None, None),    # very long key
    ("users", "/users//x", None, None),                      # empty group: onMiss hashPath
    ("users", "/users/alice", None, None),                   # no match (no trailing slash)
    ("users", "/other/path", None, None),
    ("users", "/", None, None),
    ("users", "/users/alice/x?user=bob&y=1", None, None),    # query is not part of the path
    ("users", "/users/alice/x#frag", None, None),
    ("users", "/health%7Echeck", None, None),                # hashPath hashes the decoded path
    ("users", "/users/a+b/x", None, None),                   # '+' is not a space in paths
    ("USERS:8080", "/users/bob/x", None, None),              # host: case and port ignored
    ("users.default.svc.cluster.local.", "/users/bob/x", None, None),
    (None, "http://users/users/carol/x", None, None),        # absolute-form
    ("strict", "HTTPS://user@users:8080/users/carol/x", None, None),
    (None, "http://users", None, None),                      # empty path is "/"
    ("users", "/users/%zz/x", None, None),                   # malformed escapes
    ("users", "/users/a%4/x", None, None),
    ("users", "/bad%", None, None),
    ("nobody", "/users/alice/x", None, None),                # unknown host
    (None, "/users/alice/x", None, None),                    # no host
    (None, "http://evil.example/users/alice/x", None, None),
    ("users", "*", None, None),
    ("users", "users:443", None, None),
    ("strict", "/s/tenant-1", None, None),
    ("strict", "/s/tenant-1/more", None, None),
    ("strict", "/s/Tenant", None, None),                     # no match: reject
    ("strict", "/elsewhere", None, None),
    ("anything", "/s/by-port", None, 15002),                 # listener port selects the service
    ("pinned", "/p/k1", None, None),
    ("pinned", "/nope", None, None),                         # onMiss: {shard: 1}
    ("tenants", "/any", {"X-Tenant": "acme"}, None),
    ("tenants", "/any", {"x-tenant": "  globex\t"}, None),
    ("tenants", "/any", {"X-Tenant": ""}, None),
    ("tenants", "/any", None, None),
    ("query", "/x?t=alpha", None, None),
    ("query", "/x?a=1&t=big+co%21&t=second", None, None),
    ("query", "/x?%74=encoded-name", None, None),
    ("query", "/x?t=", None, None),                          # empty value: hashPath
    ("query", "/x", None, None),
    ("query", "/x?t=%G1", None, None),
    ("cache", "/c/session-42", None, None),
    ("cache", "/c/k%20y", None, None),
    ("short", "/k/" + "a" * 61, None, None),                 # exactly 64 bytes
    ("short", "/k/" + "a" * 62, None, None),                 # 65 bytes: 414
    ("short", "/k/a?" + "q" * 59, None, None),
    ("short", "/k/a?" + "q" * 60, None, None),
]


def keys_for(seed, count):
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_."
    keys = ["alice", "bob", "0", "user-12345", "x" * 100]
    while len(keys) < count:
        keys.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))))
    return keys


def main():
    configs = {"edge": EDGE_CONFIG}
    vectors = []
    for algorithm in ALGORITHMS:
        for replicas in SHARD_COUNTS:
            name = f"{algorithm}-{replicas}"
            configs[name] = statefulset_config(algorithm, replicas)
            services = ref.load_services(configs[name])
            for key in keys_for(f"{algorithm}/{replicas}", 14):
                vector = {"config": name, "host": "users", "target": f"/users/{key}/profile"}
                vector["expect"] = ref.evaluate(vector, services)
                vectors.append(vector)
    services = ref.load_services(EDGE_CONFIG)
    for host, target, headers, port in EDGE_CASES:
        vector = {"config": "edge", "host": host, "target": target}
        if headers is not None:
            vector["headers"] = headers
        if port is not None:
            vector["listenerPort"] = port
        vector["expect"] = ref.evaluate(vector, services)
        vectors.append(vector)
    document = {"version": 1, "spec": "sdk/SPEC.md", "generator": "sdk/reference/generate_vectors.py",
                "configs": configs, "vectors": vectors}
    print(json.dumps(document, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
