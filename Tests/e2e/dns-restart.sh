#!/usr/bin/env bash
# End-to-end: the real `shardline sidecar` in a simulated Kubernetes cluster on one machine.
#
#   pods         Linux network namespaces on a bridge, 198.19.N.0/24 (inside the reserved test
#                range 198.18.0.0/15; nothing leaves the bridge)
#   cluster DNS  dnsmasq on the bridge address, A records from an addn-hosts file, TTL 1 s
#   shard pods   users-0, users-1, users-2: a small HTTP server on :8080 naming its pod
#   client pod   the sidecar on 127.0.0.1 inside it; its /etc/resolv.conf (/etc/netns/<ns>/)
#                points at the cluster DNS, so shard names go through getaddrinfo as in a pod
#
# 1. ~300 distinct keys through the sidecar: each answer must come from the pod that
#    `shardline route --json` predicts.
# 2. users-1 restarts on a new IP (old namespace and IP gone, new ones, then the DNS record
#    changes with a SIGHUP to dnsmasq). From the SIGHUP a shard-1 request every ~50 ms until
#    users-1 answers: the recovery time must be under 3 s (the spec: about a second). Requests
#    for shards 0 and 2 run throughout and must all succeed, none slowed past 1 s.
# 3. The ~300 keys again, all to their predicted pods.
# 4. users-2 dies and stays in DNS (its namespace and IP are gone, connects to it time out): the
#    first shard-2 request gets its 503 within connectTimeout + 100 ms (a retry looks the name up
#    again and, finding the same dead address, does not wait a second connect timeout), later ones
#    at once once the shard is ejected, and shards 0 and 1 keep answering.
#
# Usage: dns-restart.sh SHARDLINE_BINARY   (or SHARDLINE_BIN=...). Needs root, iproute2
# (`ip netns`), dnsmasq, python3 and curl. Exit 0 on success; otherwise non-zero and the reason.
# SLT_OUTAGE_SECONDS=N (the Swift test sets 5): shard-1 requests also run while users-1 is down,
# and the DNS record changes N s after the new pod serves, as when a real pod takes a while to
# come back. The failing shard is then ejected by outlier detection with growing windows (1 s,
# 2 s, 4 s ...); the sidecar must still reach the new pod about a second after the DNS change
# (it rechecks an ejected shard's name and lifts the ejection when the name moves).
set -euo pipefail

SLT_NAME=dns-restart
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"
cluster_reset_signals "$@"
cluster_init "${1:-${SHARDLINE_BIN:-}}" 198.19 slt

CLIENT_NS=$TAG-client
CLIENT_IP=$NET.100
SIDECAR_PORT=15001
ADMIN_PORT=15090
SHARD_PORT=8080
RECOVERY_LIMIT_MS=3000              # the spec says about a second
CONNECT_TIMEOUT_MS=500              # sidecar.connectTimeout below
DEAD_POD_SLACK_MS=100               # the first 503 for a dead pod: within connectTimeout + this

SIDECAR_PID= BACKGROUND_PID= RECOVER_PID=
declare -A SERVER_PID POD_NS POD_IP

# ---------------------------------------------------------------- helpers written to $WORK
cat >"$WORK/server.py" <<'PY'
# A shard pod: 200 with its pod name in the body and an x-backend header, HTTP/1.1 keep-alive.
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POD = sys.argv[1]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are separate writes: no 40 ms delayed-ACK stall

    def do_GET(self):
        body = f"{POD} {self.path}\n".encode()
        self.send_response(200)
        self.send_header("x-backend", POD)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), Handler).serve_forever()
PY

cat >"$WORK/client.py" <<'PY'
# Runs inside the client pod and talks to the sidecar on 127.0.0.1 with Host: users.
#   check FILE               lines "path expected_shard": every answer from exactly that pod
#   warm FILE N              N concurrent requests for the first N keys, all from users-1
#   background FILE STOP OUT keys round-robin until STOP exists (max 30 s); a summary line to OUT
#   deadpod FILE             shard-2 requests back to back while users-2 is dead: one JSON line
#                            with each request's status and time
#   recover PID FILE TRIGGER DURING_OUTAGE
#                            when TRIGGER exists: SIGHUP to PID (dnsmasq), then a shard-1 request
#                            every ~50 ms until users-1 answers (max 10 s); prints the time since
#                            the SIGHUP
import http.client, json, os, signal, sys, time

PORT = int(os.environ["SIDECAR_PORT"])

def get(path, timeout=5.0):
    """One request on a fresh connection: (status, backend header, body) or raises."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "users"})
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return resp.status, resp.getheader("x-backend"), body
    finally:
        conn.close()

def read_pairs(name):
    with open(name) as f:
        return [(p, int(s)) for p, s in (line.split() for line in f if line.strip())]

def check(name):
    pairs = read_pairs(name)
    mismatches, errors, per_shard = [], [], {}
    deadline = time.monotonic() + 30
    for path, shard in pairs:
        if time.monotonic() > deadline:
            errors.append(f"{path}: not sent, the check ran out of its 30 s")
            continue
        want = f"users-{shard}"
        try:
            status, backend, body = get(path)
        except Exception as e:
            errors.append(f"{path}: {e!r}")
            continue
        if status != 200:
            errors.append(f"{path}: status {status} {body.strip()[:200]}")
        elif backend != want or not body.startswith(want + " "):
            mismatches.append(f"{path}: predicted {want}, answered by {backend} ({body.strip()[:80]})")
        else:
            per_shard[want] = per_shard.get(want, 0) + 1
    print(f"check: {len(pairs)} requests, {len(mismatches)} mismatches, {len(errors)} errors, per pod {dict(sorted(per_shard.items()))}")
    for line in (mismatches + errors)[:10]:
        print(f"  {line}")
    sys.exit(0 if not mismatches and not errors and sum(per_shard.values()) == len(pairs) else 1)

def warm(name, n):
    """N requests at once for shard-1 keys: more than the pooled keep-alive connections, so the
    sidecar connects anew and so looks the name up anew (its pool, not the DNS cache, serves
    requests on existing connections)."""
    import concurrent.futures
    paths = [p for p, _ in read_pairs(name)][:n]
    with concurrent.futures.ThreadPoolExecutor(len(paths)) as pool:
        results = list(pool.map(lambda p: get(p), paths))
    bad = [f"{p}: {r[0]} from {r[1]}" for p, r in zip(paths, results) if r[0] != 200 or r[1] != "users-1"]
    print(f"warm: {len(paths) - len(bad)}/{len(paths)} concurrent shard-1 requests answered by users-1")
    for line in bad:
        print(f"  {line}")
    sys.exit(1 if bad else 0)

def background(name, stop, out):
    pairs = read_pairs(name)
    deadline = time.monotonic() + 30
    ok, bad, worst, worst_path, i = 0, [], 0.0, "", 0
    while not os.path.exists(stop) and time.monotonic() < deadline:
        path, shard = pairs[i % len(pairs)]
        i += 1
        started = time.monotonic()
        try:
            status, backend, _ = get(path, timeout=5.0)
            result = "ok" if status == 200 and backend == f"users-{shard}" else f"status {status} from {backend}"
        except Exception as e:
            result = repr(e)
        took = time.monotonic() - started
        if took > worst:
            worst, worst_path = took, path
        if result == "ok":
            ok += 1
        else:
            bad.append(f"{path}: {result}")
        time.sleep(0.01)
    with open(out, "w") as f:
        json.dump({"ok": ok, "failed": len(bad), "failures": bad[:10], "max_ms": round(worst * 1000, 1),
                   "max_path": worst_path, "stopped": os.path.exists(stop)}, f)

def recover(pid, name, trigger, during_outage):
    """Waits for TRIGGER (the new pod serves, the hosts file is rewritten), sends SIGHUP to PID
    (dnsmasq) and from that moment a shard-1 request every ~50 ms until users-1 answers. With
    DURING_OUTAGE=1 the requests already run while the pod is down, as a real client's would."""
    path = read_pairs(name)[0][0]
    start, t0, attempts, outage_attempts = time.monotonic(), None, 0, 0
    while True:
        now = time.monotonic()
        if t0 is None:
            if os.path.exists(trigger):
                os.kill(pid, signal.SIGHUP)
                t0 = now = time.monotonic()
            elif now - start > 30:
                print(json.dumps({"recovery_ms": None, "last": "the DNS change never came"}))
                return
            elif not during_outage:
                time.sleep(0.005)
                continue
        elif now - t0 > 10 or attempts >= 400:
            print(json.dumps({"recovery_ms": None, "attempts": attempts, "path": path, "last": last}))
            return
        tick = now
        try:
            status, backend, body = get(path, timeout=3.0)
            last = f"{status} from {backend or 'the sidecar'}: {body.strip()[:300]}"
        except Exception as e:
            status, backend, last = None, None, repr(e)
        done = time.monotonic()
        if t0 is None:
            outage_attempts += 1
            phase = f"pod down  +{(done - start) * 1000:7.1f} ms"
        else:
            attempts += 1
            phase = f"after DNS +{(done - t0) * 1000:7.1f} ms"
        print(f"  {phase} (took {(done - tick) * 1000:6.1f} ms): {last}", file=sys.stderr)
        if t0 is not None and status == 200 and backend == "users-1":
            print(json.dumps({"recovery_ms": round((done - t0) * 1000, 1), "attempts": attempts,
                              "outage_attempts": outage_attempts, "path": path}))
            return
        time.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))

def deadpod(name):
    path = read_pairs(name)[0][0]
    results = []
    for _ in range(6):
        started = time.monotonic()
        try:
            status, _, body = get(path, timeout=5.0)
        except Exception as e:
            status, body = None, repr(e)
        results.append({"status": status, "ms": round((time.monotonic() - started) * 1000, 1), "body": body.strip()[:160]})
    print(json.dumps({"path": path, "results": results}))

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "check":
        check(sys.argv[2])
    elif cmd == "warm":
        warm(sys.argv[2], int(sys.argv[3]))
    elif cmd == "background":
        background(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "deadpod":
        deadpod(sys.argv[2])
    elif cmd == "recover":
        recover(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1")
PY

# ---------------------------------------------------------------- the cluster network
cluster_bridge_up

start_server() { # start_server POD NAMESPACE IP
  local pod=$1 ns=$2 addr=$3
  ip netns exec "$ns" python3 "$WORK/server.py" "$pod" "$SHARD_PORT" >>"$WORK/$pod.log" 2>&1 &
  SERVER_PID[$pod]=$!
  PIDS+=("$!")
  POD_NS[$pod]=$ns
  POD_IP[$pod]=$addr
  wait_for "$pod on $addr:$SHARD_PORT" 5 curl -sf --max-time 1 "http://$addr:$SHARD_PORT/ready"
}

write_hosts() {
  cluster_write_hosts "${POD_IP[users-0]} users-0.$DOMAIN" "${POD_IP[users-1]} users-1.$DOMAIN" "${POD_IP[users-2]} users-2.$DOMAIN"
}

for i in 0 1 2; do
  add_pod "$TAG-users-$i" "$NET.$((10 + i))"
  start_server "users-$i" "$TAG-users-$i" "$NET.$((10 + i))"
done
add_pod "$CLIENT_NS" "$CLIENT_IP"
log "shard pods up: users-0 ${POD_IP[users-0]}, users-1 ${POD_IP[users-1]}, users-2 ${POD_IP[users-2]}; client $CLIENT_IP"

# ---------------------------------------------------------------- cluster DNS
write_hosts
cluster_start_dns "$CLIENT_NS" "users-0.$DOMAIN"
log "dnsmasq (pid $DNSMASQ_PID) answers: users-1.$DOMAIN -> $(ip netns exec "$CLIENT_NS" getent ahostsv4 "users-1.$DOMAIN" | awk 'NR==1{print $1}')"

# ---------------------------------------------------------------- the sidecar
cat >"$WORK/shardline.yaml" <<YAML
services:
  - name: users
    hosts: [users]
    pattern: '^/users/([^/]*)/'
    algorithm: jump
    statefulSet: users
    service: users
    namespace: default
    port: $SHARD_PORT
    replicas: 3
sidecar:
  listen: 127.0.0.1:$SIDECAR_PORT
  admin: 127.0.0.1:$ADMIN_PORT
  connectTimeout: ${CONNECT_TIMEOUT_MS}ms
  dnsRefreshInterval: 1s
  logLevel: info
YAML
"$BIN" validate "$WORK/shardline.yaml" >/dev/null || fail "config rejected: $("$BIN" validate "$WORK/shardline.yaml" 2>&1)"

ip netns exec "$CLIENT_NS" "$BIN" sidecar --config "$WORK/shardline.yaml" --config-poll-ms 0 >"$WORK/sidecar.log" 2>&1 &
SIDECAR_PID=$!
PIDS+=("$SIDECAR_PID")
wait_for "sidecar /readyz" 10 ip netns exec "$CLIENT_NS" curl -sf --max-time 1 "http://127.0.0.1:$ADMIN_PORT/readyz"
log "sidecar (pid $SIDECAR_PID) ready in pod $CLIENT_NS on 127.0.0.1:$SIDECAR_PORT"

# ---------------------------------------------------------------- 1. every key to its predicted pod
KEYS=300
paths=()
for i in $(seq 1 "$KEYS"); do paths+=("/users/u$i-$(( (i * 7919) % 10007 ))/profile"); done
"$BIN" route --config "$WORK/shardline.yaml" --json "${paths[@]}" >"$WORK/route.jsonl" \
  || fail "shardline route rejected some paths: $(grep -m3 error "$WORK/route.jsonl")"
python3 - "$WORK/route.jsonl" "$WORK" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = sys.argv[2]
assert all("shard" in r and r["address"] == f"users-{r['shard']}.users.default.svc.cluster.local:8080" for r in rows), rows[:3]
with open(f"{out}/all.txt", "w") as f:
    f.writelines(f"{r['path']} {r['shard']}\n" for r in rows)
for name, shards in (("shard1", {1}), ("others", {0, 2}), ("shard2", {2}), ("live", {0, 1})):
    with open(f"{out}/{name}.txt", "w") as f:
        f.writelines(f"{r['path']} {r['shard']}\n" for r in rows if r["shard"] in shards)
PY
[ "$(wc -l <"$WORK/all.txt")" -eq "$KEYS" ] || fail "route printed $(wc -l <"$WORK/all.txt") decisions for $KEYS paths"
[ -s "$WORK/shard1.txt" ] || fail "no key maps to shard 1"

client() { ip netns exec "$CLIENT_NS" env SIDECAR_PORT="$SIDECAR_PORT" python3 "$WORK/client.py" "$@"; }

log "sending $KEYS distinct keys through the sidecar"
client check "$WORK/all.txt" | tee "$WORK/check-before.txt" || fail "answers did not all come from the predicted pods"

# ---------------------------------------------------------------- 2. users-1 restarts on a new IP
rm -f "$WORK/stop"
ip netns exec "$CLIENT_NS" env SIDECAR_PORT="$SIDECAR_PORT" \
  python3 "$WORK/client.py" background "$WORK/others.txt" "$WORK/stop" "$WORK/background.json" &
BACKGROUND_PID=$!
PIDS+=("$BACKGROUND_PID")
sleep 0.3   # shards 0 and 2 under traffic before the restart begins

# Right before the restart, shard 1 answers concurrent requests: the sidecar opens new connections,
# so it has just resolved users-1's old IP, and that answer is still fresh (dnsRefreshInterval 1s)
# when the DNS record changes below, unless the restart takes longer than that.
client warm "$WORK/shard1.txt" 8 || fail "users-1 did not answer before its restart"
OLD_IP=${POD_IP[users-1]}
NEW_IP=$NET.21
OUTAGE=${SLT_OUTAGE_SECONDS:-}
ip netns exec "$CLIENT_NS" env SIDECAR_PORT="$SIDECAR_PORT" python3 "$WORK/client.py" recover \
  "$DNSMASQ_PID" "$WORK/shard1.txt" "$WORK/dns-changed" "$([ -n "$OUTAGE" ] && echo 1 || echo 0)" \
  >"$WORK/recover.json" 2>"$WORK/recover-attempts.log" &
RECOVER_PID=$!
PIDS+=("$RECOVER_PID")
log "restarting users-1: stop server (pid ${SERVER_PID[users-1]}), delete namespace ${POD_NS[users-1]} ($OLD_IP)"
stop_pid "${SERVER_PID[users-1]}"
forget_pid "${SERVER_PID[users-1]}"
remove_pod "${POD_NS[users-1]}"
add_pod "$TAG-users-1b" "$NEW_IP"
start_server users-1 "$TAG-users-1b" "$NEW_IP"
if [ -n "$OUTAGE" ]; then
  # SLT_OUTAGE_SECONDS=N: shard-1 requests keep coming while the pod is down, and its DNS record
  # changes N s later, as when a real pod takes a while to restart.
  log "users-1 up on $NEW_IP; shard-1 requests during the outage; DNS change in $OUTAGE s"
  sleep "$OUTAGE"
fi
write_hosts
log "users-1 serving on $NEW_IP; hosts file rewritten; SIGHUP to dnsmasq, then a shard-1 request every 50 ms"
touch "$WORK/dns-changed"   # the client sends the SIGHUP itself and starts its clock with it
for _ in $(seq 1 300); do kill -0 "$RECOVER_PID" 2>/dev/null || break; sleep 0.05; done
wait "$RECOVER_PID" || fail "the shard-1 client failed: $(cat "$WORK/recover-attempts.log")"
forget_pid "$RECOVER_PID"
[ -z "$OUTAGE" ] || echo "  $(grep -c 'pod down' "$WORK/recover-attempts.log") shard-1 requests while users-1 was down"
grep -h 'ejected' "$WORK/sidecar.log" | sed 's/^/  sidecar: /' || true
grep 'after DNS' "$WORK/recover-attempts.log" | cut -c1-220 >"$WORK/after-dns.txt" || true
if [ "$(wc -l <"$WORK/after-dns.txt")" -le 8 ]; then cat "$WORK/after-dns.txt"; else
  head -n 3 "$WORK/after-dns.txt"; echo "  ... $(( $(wc -l <"$WORK/after-dns.txt") - 6 )) more ..."; tail -n 3 "$WORK/after-dns.txt"
fi
recovery_ms=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("" if r["recovery_ms"] is None else r["recovery_ms"])' "$WORK/recover.json")
resolved=$(ip netns exec "$CLIENT_NS" getent ahostsv4 "users-1.$DOMAIN" | awk 'NR==1{print $1}')
[ "$resolved" = "$NEW_IP" ] || fail "cluster DNS answers $resolved for users-1, expected $NEW_IP"

touch "$WORK/stop"
for _ in $(seq 1 200); do kill -0 "$BACKGROUND_PID" 2>/dev/null || break; sleep 0.05; done
wait "$BACKGROUND_PID" || fail "background client for shards 0 and 2 failed"
forget_pid "$BACKGROUND_PID"

[ -n "$recovery_ms" ] || fail "users-1 did not answer within 10 s of the DNS change: $(cat "$WORK/recover.json")"
log "RECOVERY: first 200 from users-1 (new IP $NEW_IP) ${recovery_ms} ms after the DNS change ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["attempts"])' "$WORK/recover.json") attempts)"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$recovery_ms" "$RECOVERY_LIMIT_MS" \
  || fail "recovery took ${recovery_ms} ms, the limit is $RECOVERY_LIMIT_MS ms (the spec says about a second)"

python3 - "$WORK/background.json" <<'PY' || fail "shards 0 and 2 were disturbed by the restart of users-1"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"[dns-restart] shards 0 and 2 during the restart: {r['ok']} ok, {r['failed']} failed, slowest {r['max_ms']} ms ({r['max_path']})")
for line in r["failures"]:
    print(f"  {line}")
sys.exit(0 if r["stopped"] and r["failed"] == 0 and r["ok"] >= 10 and r["max_ms"] < 1000 else 1)
PY

# ---------------------------------------------------------------- 3. everything routes again
log "sending the $KEYS keys again after the restart"
client check "$WORK/all.txt" || fail "after the restart, answers did not all come from the predicted pods"
# ---------------------------------------------------------------- 4. users-2 dies, DNS still names it
[ -s "$WORK/shard2.txt" ] || fail "no key maps to shard 2"
log "users-2 dies: stop server (pid ${SERVER_PID[users-2]}), delete namespace ${POD_NS[users-2]} (${POD_IP[users-2]}); its DNS record stays"
stop_pid "${SERVER_PID[users-2]}"
forget_pid "${SERVER_PID[users-2]}"
remove_pod "${POD_NS[users-2]}"
client deadpod "$WORK/shard2.txt" >"$WORK/deadpod.json" || fail "the dead-pod client failed"
python3 - "$WORK/deadpod.json" "$CONNECT_TIMEOUT_MS" "$DEAD_POD_SLACK_MS" <<'PY' || fail "a dead shard pod was not failed fast enough"
import json, sys
r = json.load(open(sys.argv[1]))
timeout, slack = float(sys.argv[2]), float(sys.argv[3])
results = r["results"]
print(f"[dns-restart] DEAD POD: shard-2 requests while users-2 is dead: " + ", ".join(f"{x['status']} in {x['ms']} ms" for x in results))
ok = all(x["status"] == 503 for x in results)
first = results[0]["ms"]
ok &= first <= timeout + slack
print(f"[dns-restart] DEAD POD: first 503 after {first} ms (limit connectTimeout {timeout:.0f} ms + {slack:.0f} ms)")
# Once ejected (three failures in a row), answers come at once.
ok &= results[-1]["ms"] < slack
if not ok:
    for x in results:
        print(f"  {x}")
sys.exit(0 if ok else 1)
PY
client check "$WORK/live.txt" || fail "shards 0 and 1 did not all answer while users-2 was dead"

log "PASS: $KEYS/$KEYS keys to the predicted pods before and after; users-1 back ${recovery_ms} ms after its DNS change; a dead users-2 failed within connectTimeout + ${DEAD_POD_SLACK_MS} ms"
