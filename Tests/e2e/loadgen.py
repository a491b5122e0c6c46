#!/usr/bin/env python3
"""Load for the resharding end-to-end test (Tests/e2e/resharding.sh): runs inside a client pod and
talks to the sidecar on 127.0.0.1 with `Host: users`, over keep-alive HTTP/1.1 connections, one per
thread (http.client and threads: curl in a loop is far too slow for 10,000 keys).

Values are tracked, so every read checks the value: a key lost or left behind by a resharding reads
back wrong, not just "200". A key is written by one thread of one process only (threads and
processes take disjoint slices), so its expected value is always known.

  fill PATHS STATE                 PUT every path once; STATE (JSON path -> value) is written
  load PATHS STATE STOP OUT        reads (the value must match) and writes (a new value) on random
                                   paths of this process's slice until the file STOP exists;
                                   STATE is updated, the summary goes to OUT
  verify PATHS STATE OUT           GET every path of the slice: 200 and the value of STATE
  latency PATH_SHARDS SECONDS OUT  GET loops, separate threads per shard (a slow shard must not
                                   take the others' threads): latency percentiles per shard

Options: --threads N, --slice I/N (paths whose index % N == I), --tag T (in written values),
--phase-file F (results are grouped by F's content, re-read when it changes), --max-seconds S
(load stops by itself: every run is bounded), --owners F (lines "path shard": every accepted
write must have been answered by that shard, per the x-shardline-served-by header).
Exit status 0 when it ran (the caller judges the summary), 2 on a usage error.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time

PORT = int(os.environ.get("SIDECAR_PORT", "15001"))
HOST_HEADER = "users"
SERVED_BY = "x-shardline-served-by"


def read_paths(name):
    with open(name) as f:
        return [line.split()[0] for line in f if line.strip()]


def sliced(paths, spec):
    if not spec:
        return paths
    index, count = (int(x) for x in spec.split("/"))
    return [p for i, p in enumerate(paths) if i % count == index]


class Connection:
    """One keep-alive connection to the sidecar, reopened after any error."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.conn = None
        self.reconnects = 0

    def request(self, method, path, body=None):
        """(status, body text, headers dict lowercased) or raises."""
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=self.timeout)
            try:
                headers = {"Host": HOST_HEADER}
                if body is not None:
                    headers["Content-Type"] = "application/octet-stream"
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read().decode(errors="replace")
                fields = {k.lower(): v for k, v in resp.getheaders()}
                if (fields.get("connection") or "").lower() == "close":
                    self.close()
                return resp.status, data, fields
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # An idle keep-alive connection the sidecar closed just as this request went out:
                # one new connection is tried (the requests are idempotent GETs and PUTs), and
                # counted; on a fresh connection it is a real failure.
                self.close()
                if attempt == 1 or not reused:
                    raise
                self.reconnects += 1
            except Exception:
                self.close()
                raise
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 1)


class Stats:
    """Results of one phase, merged from the threads."""

    def __init__(self):
        self.requests = 0
        self.ok = 0
        self.by_status = {}
        self.failures = []          # every failed request: method, path, status, detail
        self.misrouted_writes = []  # accepted writes answered by another shard than the owner
        self.writes_by_shard = {}
        self.latencies = []

    def add(self, method, path, status, ok, took, detail="", served_by=None):
        self.requests += 1
        key = str(status)
        self.by_status[key] = self.by_status.get(key, 0) + 1
        self.latencies.append(took)
        if ok:
            self.ok += 1
        else:
            self.failures.append({"method": method, "path": path, "status": status, "detail": detail[:300]})
        if ok and method == "PUT" and served_by is not None:
            self.writes_by_shard[served_by] = self.writes_by_shard.get(served_by, 0) + 1

    def merge(self, other):
        self.requests += other.requests
        self.ok += other.ok
        for k, v in other.by_status.items():
            self.by_status[k] = self.by_status.get(k, 0) + v
        self.failures += other.failures
        self.misrouted_writes += other.misrouted_writes
        for k, v in other.writes_by_shard.items():
            self.writes_by_shard[k] = self.writes_by_shard.get(k, 0) + v
        self.latencies += other.latencies

    def summary(self):
        return {
            "requests": self.requests, "ok": self.ok, "failed": len(self.failures),
            "by_status": dict(sorted(self.by_status.items())), "failures": self.failures,
            "misrouted_writes": self.misrouted_writes, "writes_by_shard": dict(sorted(self.writes_by_shard.items())),
            "p50_ms": percentile(self.latencies, 0.50), "p99_ms": percentile(self.latencies, 0.99),
            "max_ms": percentile(self.latencies, 1.0),
        }


def run_threads(count, target):
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def describe(status, body, fields):
    owner = fields.get("x-shardline-owner")
    served = fields.get(SERVED_BY)
    return f"{status} served-by={served} owner={owner} {body.strip()[:200]}"


def fill(args):
    paths = sliced(read_paths(args.paths), args.slice)
    state, stats, lock = {}, Stats(), threading.Lock()

    def worker(t):
        conn, mine = Connection(10.0), paths[t::args.threads]
        local, values = Stats(), {}
        for path in mine:
            value = f"{path}#{args.tag}0"
            started = time.monotonic()
            try:
                status, body, fields = conn.request("PUT", path, value.encode())
                ok = status in (200, 201, 204)
                local.add("PUT", path, status, ok, time.monotonic() - started, "" if ok else describe(status, body, fields), fields.get(SERVED_BY))
                if ok:
                    values[path] = value
            except Exception as error:
                local.add("PUT", path, None, False, time.monotonic() - started, repr(error))
        conn.close()
        with lock:
            stats.merge(local)
            state.update(values)

    run_threads(args.threads, worker)
    with open(args.state, "w") as f:
        json.dump(state, f)
    print(json.dumps({k: v for k, v in stats.summary().items() if k != "failures"} | {"failures": stats.failures[:20]}))


class Phase:
    """The current phase label: the phase file's content, re-read when its mtime changes."""

    def __init__(self, name):
        self.name, self.mtime, self.label = name, None, "all"

    def current(self):
        if not self.name:
            return self.label
        try:
            mtime = os.stat(self.name).st_mtime_ns
        except FileNotFoundError:
            return self.label
        if mtime != self.mtime:
            self.mtime = mtime
            with open(self.name) as f:
                self.label = f.read().strip() or "all"
        return self.label


def load(args):
    paths = sliced(read_paths(args.paths), args.slice)
    with open(args.state) as f:
        state = json.load(f)
    owners = {}
    if args.owners:
        with open(args.owners) as f:
            owners = {p: s for p, s in (line.split() for line in f if line.strip())}
    phases, lock = {}, threading.Lock()
    deadline = time.monotonic() + args.max_seconds
    updated = {}

    def worker(t):
        conn, rng, phase = Connection(10.0), random.Random(t * 7919 + sum(args.tag.encode())), Phase(args.phase_file)
        mine = paths[t::args.threads]
        local, counter = {}, 0
        while not os.path.exists(args.stop) and time.monotonic() < deadline and mine:
            stats = local.setdefault(phase.current(), Stats())
            path = rng.choice(mine)
            started = time.monotonic()
            try:
                if rng.random() < 0.5:
                    status, body, fields = conn.request("GET", path)
                    expected = state.get(path)
                    ok = status == 200 and body == expected
                    detail = "" if ok else (f"wrong value: {body[:80]!r}, expected {expected!r}" if status == 200 else describe(status, body, fields))
                    stats.add("GET", path, status, ok, time.monotonic() - started, detail)
                else:
                    counter += 1
                    value = f"{path}#{args.tag}{t}.{counter}"
                    status, body, fields = conn.request("PUT", path, value.encode())
                    ok = status in (200, 201, 204)
                    served = fields.get(SERVED_BY)
                    stats.add("PUT", path, status, ok, time.monotonic() - started, "" if ok else describe(status, body, fields), served)
                    if ok:
                        state[path] = value
                        updated[path] = value
                        if owners and served != owners.get(path):
                            stats.misrouted_writes.append({"path": path, "served_by": served, "owner": owners.get(path)})
            except Exception as error:
                stats.add("?", path, None, False, time.monotonic() - started, repr(error))
        conn.close()
        with lock:
            for label, stats in local.items():
                phases.setdefault(label, Stats()).merge(stats)

    run_threads(args.threads, worker)
    with open(args.state, "w") as f:
        json.dump(state, f)
    total = Stats()
    for stats in phases.values():
        total.merge(stats)
    result = {"phases": {label: s.summary() for label, s in phases.items()}, "total": total.summary(),
              "stopped": os.path.exists(args.stop), "paths": len(paths), "written_paths": sorted(updated)}
    with open(args.out, "w") as f:
        json.dump(result, f)


def verify(args):
    paths = sliced(read_paths(args.paths), args.slice)
    with open(args.state) as f:
        state = json.load(f)
    stats, lock = Stats(), threading.Lock()

    def worker(t):
        conn, local = Connection(10.0), Stats()
        for path in paths[t::args.threads]:
            started = time.monotonic()
            try:
                status, body, fields = conn.request("GET", path)
                expected = state.get(path)
                ok = status == 200 and body == expected
                detail = "" if ok else (f"wrong value: {body[:80]!r}, expected {expected!r}" if status == 200 else describe(status, body, fields))
                local.add("GET", path, status, ok, time.monotonic() - started, detail)
            except Exception as error:
                local.add("GET", path, None, False, time.monotonic() - started, repr(error))
        conn.close()
        with lock:
            stats.merge(local)

    run_threads(args.threads, worker)
    result = stats.summary() | {"paths": len(paths), "missing_from_state": sum(1 for p in paths if p not in state)}
    with open(args.out, "w") as f:
        json.dump(result, f)


def latency(args):
    with open(args.paths) as f:
        pairs = [(p, s) for p, s in (line.split() for line in f if line.strip())]
    by_shard = {}
    for path, shard in pairs:
        by_shard.setdefault(shard, []).append(path)
    results, lock = {}, threading.Lock()
    deadline = time.monotonic() + float(args.seconds)
    jobs = [(shard, i) for shard in sorted(by_shard) for i in range(args.threads)]

    def worker(j):
        shard, i = jobs[j]
        conn, stats = Connection(10.0), Stats()
        mine = by_shard[shard][i::args.threads] or by_shard[shard]
        n = 0
        while time.monotonic() < deadline:
            path = mine[n % len(mine)]
            n += 1
            started = time.monotonic()
            try:
                status, body, fields = conn.request("GET", path)
                ok = status == 200
                stats.add("GET", path, status, ok, time.monotonic() - started, "" if ok else describe(status, body, fields))
            except Exception as error:
                stats.add("GET", path, None, False, time.monotonic() - started, repr(error))
        conn.close()
        with lock:
            results.setdefault(shard, Stats()).merge(stats)

    run_threads(len(jobs), worker)
    out = {}
    for shard, stats in sorted(results.items()):
        summary = stats.summary()
        summary["failures"] = summary["failures"][:10]
        out[shard] = summary
    with open(args.out, "w") as f:
        json.dump(out, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fill", "load", "verify", "latency"])
    parser.add_argument("operands", nargs="+")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--slice")
    parser.add_argument("--tag", default="")
    parser.add_argument("--phase-file")
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--owners")
    args = parser.parse_args()
    need = {"fill": ["paths", "state"], "load": ["paths", "state", "stop", "out"], "verify": ["paths", "state", "out"],
            "latency": ["paths", "seconds", "out"]}[args.command]
    if len(args.operands) != len(need):
        parser.error(f"{args.command} takes {' '.join(n.upper() for n in need)}")
    for name, value in zip(need, args.operands):
        setattr(args, name, value)
    if not 1 <= args.threads <= 64:
        parser.error("--threads must be in 1...64")
    {"fill": fill, "load": load, "verify": verify, "latency": latency}[args.command](args)


if __name__ == "__main__":
    main()
