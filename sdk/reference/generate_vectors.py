#!/usr/bin/env python3
"""Writes sdk/vectors/routing.json from the cases below, with the expected results computed by
the Python reference (shardline_ref.py), not by the Swift code the vectors test.

    python3 sdk/reference/generate_vectors.py > sdk/vectors/routing.json
    python3 sdk/reference/generate_vectors.py --check   # fails if the committed file differs
"""
import json
import os
import random
import sys

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
    # (host, target, headers, listenerPort); a case may add a fifth element, the defaultService
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
    # §1 The order of checks: target, then service, then length, then key.
    ("nobody", "*", None, None),                             # invalid_target wins over unknown_service
    (None, "users:443", None, None),
    ("anything", "*", None, 15002),                          # a listener port does not excuse the target
    ("nobody", "/k/" + "a" * 9000, None, None),              # unknown_service before any length limit
    ("short", "/k/%zz" + "a" * 62, None, None),              # path_too_long before the key's encoding
    ("strict", "/s/%zz", None, None),                        # pattern [a-z0-9-]+ does not match '%': reject
    # §2 Targets.
    ("short", "/k/" + "a" * 60 + "?", None, None),           # 64 bytes with the empty query's '?'
    ("short", "/k/" + "a" * 61 + "?", None, None),           # 65 bytes: the '?' counts when present
    ("short", "/k/" + "a" * 61 + "#" + "f" * 100, None, None),  # the fragment never counts
    ("query", "/x?", None, None),                            # present but empty query: no key
    ("query", "/x#?t=a", None, None),                        # a '?' after '#' is in the fragment
    ("query", "/x?t=a#t=b", None, None),
    ("users", "/users/a#b?c/x", None, None),
    (None, "http://users#frag", None, None),                 # only a fragment: the path is "/"
    (None, "http://users?x=1#f", None, None),                # only a query: the path is "/"
    (None, "http:///users/alice/x", None, None),             # empty authority
    ("users", "http://@/users/alice/x", None, None),         # empty after the userinfo
    ("users", "http://?x", None, None),
    ("users", "ftp://users/x", None, None),
    ("users:", "/users/bob/x", None, None),                  # Host with an empty port
    ("[::1]:", "/users/bob/x", None, None),
    ("users", "/other/path?q=1", None, None),                # hashPath hashes the path without the query
    ("users", "/users/%FF%FE/x", None, None),                # key bytes that are not UTF-8: key is null
    ("users", "/users/%C3/x", None, None),
    # §4 keyQuery and keyHeader details.
    ("query", "/x?t%zz=1&t=ok", None, None),                 # a name with a malformed escape is skipped
    ("query", "/x?%zz=1", None, None),
    ("query", "/x?a=%zz&t=ok", None, None),                  # other parts' values are never decoded
    ("query", "/x?t=ok&t=%zz", None, None),                  # only the first match is decoded
    ("query", "/x?t", None, None),                           # no '=': empty value, no key
    ("query", "/x?=v&t=k", None, None),
    ("query", "/x?T=upper", None, None),                     # names compare as bytes
    ("tenants", "/any", [("X-Tenant", "first"), ("X-Tenant", "second")], None),  # first occurrence wins
    ("tenants", "/any", [("x-tenant", ""), ("X-Tenant", "second")], None),       # even when it is empty
    ("tenants", "/any", [("X-Other", "a"), ("X-TENANT", "b")], None),
    ("tenants", "/any", [("X-Tenant", "caf\u00e9")], None),                      # header values are UTF-8 bytes
    # §3 A caller's default service (the CLI without --host): only when there is no Host at all.
    (None, "/s/tenant-1", None, None, "strict"),
    ("users", "/users/bob/x", None, None, "strict"),         # a Host still wins
    ("nobody", "/s/tenant-1", None, None, "strict"),         # an unknown Host is not "no Host"
    ("", "/s/tenant-1", None, None, "strict"),               # nor is an empty Host header
    (None, "http://users/users/bob/x", None, None, "strict"),
    (None, "http://nobody/s/tenant-1", None, None, "strict"),
]

# Configs the spec refuses, with the field the error names (Swift reports it with its message).
INVALID_CONFIGS = [
    ("onMiss shard at the shard count", """services:
  - name: a
    hosts: [a]
    pattern: '^/([^/]+)'
    onMiss: {shard: 3}
    endpoints: ["x:1", "y:1", "z:1"]
""", "services[0].onMiss.shard"),
    ("onMiss shard negative", """services:
  - name: a
    hosts: [a]
    pattern: '^/([^/]+)'
    onMiss: {shard: -1}
    statefulSet: a
    service: a
    port: 80
    replicas: 2
""", "services[0].onMiss.shard"),
    ("onMiss shard above the replicas", """services:
  - name: a
    hosts: [a]
    keyHeader: X-K
    onMiss: {shard: 7}
    statefulSet: a
    service: a
    port: 80
    replicas: 7
""", "services[0].onMiss.shard"),
    ("a host in two services (case-insensitive)", """services:
  - name: a
    hosts: [shop]
    pattern: '^/([^/]+)'
    endpoints: ["x:1"]
  - name: b
    hosts: [SHOP]
    pattern: '^/([^/]+)'
    endpoints: ["y:1"]
""", "services[1].hosts"),
    ("a listen port in two services", """services:
  - name: a
    listenPort: 15100
    pattern: '^/([^/]+)'
    endpoints: ["x:1"]
  - name: b
    listenPort: 15100
    pattern: '^/([^/]+)'
    endpoints: ["y:1"]
""", "services[1].listenPort"),
]


# §11 Resharding: configs with `previous`, and the requests whose owner and headers are pinned.
def reshard_config(algorithm, replicas, previous, on_miss="hashPath"):
    return f"""services:
  - name: users
    hosts: [users]
    pattern: '^/users/([^/]+)'
    onMiss: {on_miss}
    algorithm: {algorithm}
    statefulSet: users
    service: users
    port: 8080
    replicas: {replicas}
    previous: {previous}
"""


RESHARD_CONFIGS = {
    "reshard-grow-3-4": reshard_config("jump", 4, "{replicas: 3}"),
    "reshard-shrink-4-3": reshard_config("jump", 3, "{replicas: 4}"),
    "reshard-algorithm": reshard_config("maglev", 5, "{algorithm: ring, replicas: 3}"),
    "reshard-pinned": reshard_config("rendezvous", 4, "{replicas: 2}", on_miss="{shard: 1}"),
    "reshard-endpoints": """services:
  - name: cache
    hosts: [cache]
    pattern: '^/c/([^/]+)'
    algorithm: nginx-ketama
    endpoints: ["10.0.0.5:11211", "10.0.0.6:11211", "cache-2.local:11211"]
    previous: {endpoints: ["10.0.0.5:11211", "10.0.0.6:11211"]}
""",
}


def reshard_vectors():
    vectors = []
    for name, text in RESHARD_CONFIGS.items():
        services = ref.load_services(text)
        host = services[0].name
        prefix = "/c/" if host == "cache" else "/users/"
        targets = [f"{prefix}{key}/x" for key in keys_for(f"reshard/{name}", 24)]
        targets += ["/", "/health", f"{prefix}%zz/x"]
        for target in targets:
            vector = {"config": name, "host": host, "target": target}
            vector["expect"] = ref.ownership(services, vector)
            vectors.append(vector)
    return vectors


def keys_for(seed, count):
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_."
    keys = ["alice", "bob", "0", "user-12345", "x" * 100]
    while len(keys) < count:
        keys.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))))
    return keys


def main():
    """Returns the routing.json text."""
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
    for host, target, headers, port, *default in EDGE_CASES:
        vector = {"config": "edge", "host": host, "target": target}
        if headers is not None:
            pairs = headers.items() if isinstance(headers, dict) else headers
            vector["headers"] = [[name, value] for name, value in pairs]
        if port is not None:
            vector["listenerPort"] = port
        if default:
            vector["defaultService"] = default[0]
        vector["expect"] = ref.evaluate(vector, services)
        vectors.append(vector)
    invalid = []
    for why, text, field in INVALID_CONFIGS:
        try:
            ref.load_services(text)
            raise SystemExit(f"the reference accepts the invalid config '{why}'")
        except ref.ConfigError as error:
            if error.field != field:
                raise SystemExit(f"'{why}': the reference names {error.field}, the case says {field}")
        invalid.append({"why": why, "config": text, "field": field})
    document = {"version": 1, "spec": "sdk/SPEC.md", "generator": "sdk/reference/generate_vectors.py",
                "configs": configs, "vectors": vectors, "invalidConfigs": invalid,
                "placement": ref.placement_section(),
                "fingerprints": ref.fingerprint_section({**configs, **RESHARD_CONFIGS}),
                "resharding": {"configs": RESHARD_CONFIGS, "vectors": reshard_vectors()}}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = main()
    if sys.argv[1:] == ["--check"]:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "routing.json")
        with open(path, encoding="utf-8") as handle:
            if handle.read() != text:
                print("sdk/vectors/routing.json is not what generate_vectors.py writes; regenerate it", file=sys.stderr)
                sys.exit(1)
        print("generate_vectors: ok")
    else:
        sys.stdout.write(text)
