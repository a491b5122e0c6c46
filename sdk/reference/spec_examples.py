#!/usr/bin/env python3
"""Prints the worked examples of sdk/SPEC.md from the Python reference (shardline_ref.py)."""
import bisect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shardline_ref as g  # noqa: E402

M64 = g.M64


def jump_trace(key, n):
    b, j, steps = -1, 0, []
    while j < n:
        b = j
        key = (key * 2862933555777941757 + 1) & M64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
        steps.append((b, key, j))
    return b, steps


print("## xxh64 / crc32")
for k in [b"user-42", b"order/2024/0001", b""]:
    print(k, "xxh64=0x%016X" % g.xxh64(k), "crc32=0x%08X" % g.crc32(k))

print("\n## jump")
for k, n in [(b"user-42", 3), (b"user-42", 7), (b"order/2024/0001", 7)]:
    h = g.xxh64(k)
    b, steps = jump_trace(h, n)
    print(k, n, "hash=0x%016X" % h, "bucket", b)
    for bb, key, j in steps:
        print("   b=%d state=0x%016X (state>>33)+1=%d j=%d" % (bb, key, (key >> 33) + 1, j))

print("\n## modulo")
for k, n in [(b"user-42", 3), (b"user-42", 7)]:
    h = g.xxh64(k)
    print(k, n, "0x%016X" % h, h % n)

print("\n## ring")
for k, n in [(b"user-42", 3), (b"order/2024/0001", 7)]:
    h = g.xxh64(k)
    hashes, owners = g.ring_points(n)
    i = bisect.bisect_left(hashes, h) % len(hashes)
    name = None
    for s in range(n):
        for j in range(160):
            if g.xxh64(f"{s}-{j}".encode()) == hashes[i]:
                name = f"{s}-{j}"
    print(k, n, "hash=0x%016X" % h, "point index", i, "of", len(hashes), "point 0x%016X" % hashes[i], name,
          "owner", owners[i], "prev point 0x%016X" % hashes[i - 1])
print("ring point 0-0 = 0x%016X, 0-1 = 0x%016X, 2-159 = 0x%016X" % (
    g.xxh64(b"0-0"), g.xxh64(b"0-1"), g.xxh64(b"2-159")))

print("\n## rendezvous")
for i in range(4):
    print("salt", i, "0x%016X" % g.mix(((i + 1) * g.GAMMA) & M64))
for k, n in [(b"user-42", 3), (b"order/2024/0001", 3)]:
    h = g.xxh64(k)
    scores = [g.mix(h ^ g.mix(((i + 1) * g.GAMMA) & M64)) for i in range(n)]
    print(k, n, "hash=0x%016X" % h, ["0x%016X" % s for s in scores], "->", g.rendezvous(h, n))

print("\n## maglev")
for i in range(3):
    s = str(i).encode()
    print("shard", i, "xxh64(s,0)=0x%016X offset=%d xxh64(s,1)=0x%016X skip=%d" % (
        g.xxh64(s, 0), g.xxh64(s, 0) % 65537, g.xxh64(s, 1), g.xxh64(s, 1) % 65536 + 1))
t = g.maglev_table(3)
print("table[0..8] for 3 shards", t[:8], "counts", [t.count(i) for i in range(3)])
for k, n in [(b"user-42", 3), (b"order/2024/0001", 3)]:
    h = g.xxh64(k)
    print(k, n, "hash=0x%016X" % h, "index", h % 65537, "->", g.maglev(h, n))

print("\n## nginx-ketama")
servers = ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]
for s in servers + ["unix:/run/a.sock", "backend"]:
    host, port = g.nginx_split(s.encode())
    base = host + b"\0" + port
    p0 = g.crc32(base + (0).to_bytes(4, "little"))
    p1 = g.crc32(base + p0.to_bytes(4, "little"))
    print(repr(s), "host", host, "port", port, "point0=0x%08X point1=0x%08X" % (p0, p1))
hashes, owners = g.nginx_points(servers)
print("points", len(hashes), "first", ["0x%08X/%d" % (hashes[i], owners[i]) for i in range(3)])
for k in [b"user-42", b"order/2024/0001"]:
    h = g.crc32(k)
    i = bisect.bisect_left(hashes, h)
    print(k, "crc=0x%08X" % h, "index", i, "point 0x%08X" % hashes[i % len(hashes)], "->", owners[i % len(hashes)],
          servers[owners[i % len(hashes)]])
