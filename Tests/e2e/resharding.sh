#!/usr/bin/env bash
# End-to-end: live resharding in the simulated Kubernetes cluster (Tests/e2e/lib/cluster.sh), with
# the example shard server (`shardline shard-server --test-endpoints`) as the StatefulSet's pods
# users-0..3 (stable DNS names in dnsmasq) and the real `shardline sidecar` in client pods.
#
# Every pod reads its config from its own ConfigMap-style volume: <dir>/shardline.yaml is a
# symlink to ..data/shardline.yaml, and an update writes a new ..<version>/ folder and renames
# ..data onto it, as the kubelet does (ConfigReloader and the shard's watcher follow that). A
# ConfigMap change reaches the volumes in this order: the shards that GAIN keys (waiting until they
# serve it), then the clients, then the other shards, within milliseconds. Why: a shard refuses a
# key with 421 until it sees the config that gives it the key, and a client already on that config
# cannot correct such a 421; a client whose volume is updated corrects every 421 of a shard that is
# ahead of it (it re-reads the file and retries once). The shards re-read their config every
# 100 ms, the sidecars every 500 ms (client B: never by itself), so the shards are usually ahead of
# the clients and the sidecars' 421 handling (SPEC.md 11.5) is what keeps requests from failing.
# (In a real cluster the kubelets update the volumes in no set order; scenario 3a shows what a
# client whose volume lags gets: 421s for the moved keys, and no write lands on a non-owner.)
#
# 1. 10,000 keys PUT through sidecar A; users-3 started and Ready; then, under constant reads
#    (each value checked) and writes, the config goes to `replicas: 4, previous: {replicas: 3}`.
#    Zero failed requests; afterwards all 10,000 read back their values; asked directly
#    (/debug/keys, local data only), users-3 holds exactly the keys whose owner changed, each key
#    is on one shard only, and that count equals `shardline plan --replicas 4`'s `moved`.
# 2. Back to 3, reverse order: config `replicas: 3, previous: {replicas: 4}` first (the shards
#    that gain keys, users-0..2, first), under load; every key read (which moves users-3's keys
#    back); users-3 stopped only once it holds no key. Zero failed requests; every key readable.
# 3. A rollout: users-3 again, client pod B added on the old config with its own sidecar. Shards
#    and client A go to 4 shards; writes through both. 3a: B's volume still old: B may get 421s
#    (it cannot correct itself) only for keys whose owner changed; 3b: B's volume updated (B does
#    not poll, so only a 421 makes it re-read): zero failures through B, though the shards sent
#    it 421s. Throughout: every accepted write was answered by the key's owner, and each shard's
#    count of accepted writes equals the writes the clients saw succeed there.
# 4. users-1 answers 2 s late (PUT /debug/delay): its keys take >= 2 s, and the other shards' p99
#    stays within a generous bound of their baseline measured just before, in the same run.
#
# Usage: resharding.sh SHARDLINE_BINARY (or SHARDLINE_BIN=...). Needs root, iproute2, dnsmasq,
# python3, curl. Exit 0 on success; otherwise non-zero, the reason and the pods' logs.
# SLT_KEYS (default 10000), SLT_LOAD_SECONDS (default 3: load before and after each config change),
# SLT_KEEP_GOING=1 (an assertion that fails is reported and the scenarios go on; exit 1 at the end),
# SLT_KEEP_WORK=1 (the work folder with every pod's log and the load results is kept).
set -euo pipefail

SLT_NAME=resharding
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"
cluster_reset_signals "$@"
cluster_init "${1:-${SHARDLINE_BIN:-}}" 198.18 slr
HERE=$(cd "$(dirname "$0")" && pwd)
LOADGEN=$HERE/loadgen.py

KEYS=${SLT_KEYS:-10000}
LOAD_SECONDS=${SLT_LOAD_SECONDS:-3}
SHARD_PORT=8080
SIDECAR_PORT=15001
ADMIN_PORT=15090
SLOW_MS=2000
declare -A POD_NS POD_IP SERVER_PID SIDECAR_PID

FAILED=()
scenario_fail() { # an assertion failed: stop here, or with SLT_KEEP_GOING=1 go on to see the rest
  [ -n "${SLT_KEEP_GOING:-}" ] || fail "$@"
  log "FAIL (going on, SLT_KEEP_GOING): $*"
  FAILED+=("$*")
}

# ---------------------------------------------------------------- configs and their volumes
config() {       # config REPLICAS [PREVIOUS_REPLICAS]: the config text
  cat <<YAML
services:
  - name: users
    hosts: [users]
    pattern: '^/users/([^/]*)/'
    algorithm: jump
    statefulSet: users
    service: users
    namespace: default
    port: $SHARD_PORT
    replicas: $1
YAML
  [ -z "${2:-}" ] || echo "    previous: {replicas: $2}"
  cat <<YAML
sidecar:
  listen: 127.0.0.1:$SIDECAR_PORT
  admin: 127.0.0.1:$ADMIN_PORT
  connectTimeout: 500ms
  dnsRefreshInterval: 1s
  logLevel: info
YAML
}
for spec in "3" "4 3" "4" "3 4"; do
  name=c$(echo "$spec" | tr ' ' p)          # c3, c4p3, c4, c3p4
  # shellcheck disable=SC2086
  config $spec >"$WORK/$name.yaml"
  "$BIN" validate "$WORK/$name.yaml" >/dev/null || fail "config $name rejected: $("$BIN" validate "$WORK/$name.yaml" 2>&1)"
done

VERSION=0
publish() {      # publish CONFIG_NAME POD...: each pod's volume gets the config (atomic ..data swap)
  local name=$1 pod dir
  shift
  for pod in "$@"; do
    VERSION=$((VERSION + 1))
    dir=$WORK/volumes/$pod
    mkdir -p "$dir/..v$VERSION"
    cp "$WORK/$name.yaml" "$dir/..v$VERSION/shardline.yaml"
    ln -s "..v$VERSION" "$dir/..data_tmp"
    mv -T "$dir/..data_tmp" "$dir/..data"
    [ -L "$dir/shardline.yaml" ] || ln -s ..data/shardline.yaml "$dir/shardline.yaml"
  done
}
volume() { echo "$WORK/volumes/$1/shardline.yaml"; }

# ---------------------------------------------------------------- pods
shard_url() { echo "http://${POD_IP[$1]}:$SHARD_PORT"; }
shard_state() { curl -sf --max-time 2 "$(shard_url "$1")/debug/state"; }
shard_field() { shard_state "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)$2)"; }

start_shard() {  # start_shard ORDINAL NAMESPACE IP: the pod, Ready (its /readyz answers)
  local ordinal=$1 ns=$2 addr=$3 pod=users-$1
  add_pod "$ns" "$addr"
  POD_NS[$pod]=$ns
  POD_IP[$pod]=$addr
  ip netns exec "$ns" "$BIN" shard-server --config "$(volume "$pod")" --ordinal "$ordinal" \
    --listen "0.0.0.0:$SHARD_PORT" --config-poll-ms 100 --test-endpoints >>"$WORK/$pod.log" 2>&1 &
  SERVER_PID[$pod]=$!
  PIDS+=("$!")
  wait_for "$pod on $addr:$SHARD_PORT" 15 curl -sf --max-time 1 "http://$addr:$SHARD_PORT/readyz"
}

stop_shard() {   # stop_shard POD: process stopped, namespace (and IP) gone
  local pod=$1
  stop_pid "${SERVER_PID[$pod]}"
  forget_pid "${SERVER_PID[$pod]}"
  remove_pod "${POD_NS[$pod]}"
  unset "POD_IP[$pod]"
}

update_dns() {   # the StatefulSet's pods that exist get their records
  local records=() pod
  for pod in users-0 users-1 users-2 users-3; do
    [ -n "${POD_IP[$pod]:-}" ] && records+=("${POD_IP[$pod]} $pod.$DOMAIN")
  done
  cluster_write_hosts "${records[@]}"
  cluster_reload_dns
}

start_client() { # start_client NAME IP POLL_MS: a client pod with the sidecar
  local name=$1 addr=$2 poll=$3 ns=$TAG-$1
  add_pod "$ns" "$addr"
  POD_NS[$name]=$ns
  ip netns exec "$ns" "$BIN" sidecar --config "$(volume "$name")" --config-poll-ms "$poll" >"$WORK/sidecar-$name.log" 2>&1 &
  SIDECAR_PID[$name]=$!
  PIDS+=("$!")
  wait_for "sidecar in $name /readyz" 15 ip netns exec "$ns" curl -sf --max-time 1 "http://127.0.0.1:$ADMIN_PORT/readyz"
}
sidecar_generation() {
  ip netns exec "${POD_NS[$1]}" curl -sf --max-time 2 "http://127.0.0.1:$ADMIN_PORT/config" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'
}

loadgen() {      # loadgen CLIENT ARGS...: the load generator inside that client pod, at most 150 s
  local client=$1
  shift
  timeout 150 ip netns exec "${POD_NS[$client]}" env SIDECAR_PORT="$SIDECAR_PORT" python3 "$LOADGEN" "$@" \
    || fail "the load generator ($1) failed or ran past 150 s (exit $?)"
}

# wait_reload WHAT SECONDS CHECK...: until CHECK succeeds (a pod has applied its new config)
wait_reload() { wait_for "$1 applying its new config" "$2" "${@:3}"; }
reloads_above() { [ "$(shard_field "$1" '["configReloads"]')" -gt "$2" ]; }
declare -A BEFORE
remember_reloads() { local pod; for pod in "$@"; do BEFORE[$pod]=$(shard_field "$pod" '["configReloads"]'); done; }
generation_above() { [ "$(sidecar_generation "$1")" -gt "$2" ]; }

# ---------------------------------------------------------------- analysis (python, one place)
check() {        # check NAME ARGS...: one assertion of analysis.py; prints its figures
  python3 "$WORK/analysis.py" "$@"
}
cat >"$WORK/analysis.py" <<'PY'
import json, sys

def load(name):
    with open(name) as f:
        return json.load(f)

def owners(name):
    with open(name) as f:
        return {p: int(s) for p, s in (line.split() for line in f if line.strip())}

def held(work, pods):
    """path -> [ordinals holding it locally], from each shard's /debug/keys."""
    where = {}
    for pod in pods:
        for path in load(f"{work}/keys-{pod}.json")["paths"]:
            where.setdefault(path, []).append(int(pod.split("-")[1]))
    return where

def failures_text(summary, limit=8):
    return "\n".join(f"    {f['method']} {f['path']}: {f['status']} {f['detail']}" for f in summary["failures"][:limit])

def zero_failures(what, summary):
    if summary["failed"]:
        print(f"{what}: {summary['failed']} of {summary['requests']} requests failed (statuses {summary['by_status']}):\n{failures_text(summary)}")
        return False
    return True

cmd, work = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
ok = True

if cmd == "fill":                      # fill SUMMARY_JSON KEYS
    r = json.loads(open(args[0]).read())
    print(f"[resharding] fill: {r['ok']}/{args[1]} PUTs ok, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms")
    ok = r["ok"] == int(args[1]) and zero_failures("fill", r)

elif cmd == "placement":               # placement OWNERS PODS...: every key only on its owner
    own, where = owners(args[0]), held(work, args[1:])
    wrong = [(p, where.get(p), o) for p, o in own.items() if where.get(p) != [o]]
    extra = [p for p in where if p not in own]
    print(f"[resharding] placement: {len(own) - len(wrong)}/{len(own)} keys held only by their owner" + (f"; {len(extra)} unknown paths held" if extra else ""))
    for p, w, o in wrong[:8]:
        print(f"    {p}: held by {w or 'no shard'}, owner {o}")
    ok = not wrong and not extra

elif cmd == "load":                    # load WHAT OUT: zero failures, values checked
    r = load(args[1])
    t = r["total"]
    print(f"[resharding] {args[0]}: {t['requests']} requests under load, {t['failed']} failed, p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms, max {t['max_ms']} ms")
    ok = zero_failures(args[0], t) and t["requests"] > 0

elif cmd == "verify":                  # verify WHAT OUT KEYS
    r = load(args[1])
    print(f"[resharding] {args[0]}: {r['ok']}/{args[2]} keys read back their values, {r['failed']} failed, p99 {r['p99_ms']} ms")
    ok = zero_failures(args[0], r) and r["ok"] == int(args[2]) and r["missing_from_state"] == 0

elif cmd == "moved":                   # moved OWNERS_BEFORE OWNERS_AFTER PLAN_JSON NEW_POD PODS...
    before, after, plan = owners(args[0]), owners(args[1]), load(args[2])
    new_ordinal = int(args[3].split("-")[1])
    where = held(work, args[4:])
    moved = {p for p in before if before[p] != after[p]}
    on_new = {p for p, w in where.items() if new_ordinal in w}
    fraction = len(on_new) / len(before)
    print(f"[resharding] MOVED: {len(on_new)}/{len(before)} keys now live on {args[3]} ({fraction:.4f}); "
          f"shardline plan: {plan['moved']}/{plan['keys']} ({plan['moved_fraction']:.4f}); routes differ for {len(moved)}")
    if on_new != moved:
        print(f"  users on {args[3]} but not moved: {sorted(on_new - moved)[:5]}; moved but not there: {sorted(moved - on_new)[:5]}")
        ok = False
    if plan["moved"] != len(on_new) or plan["keys"] != len(before):
        print(f"  the data's moved count {len(on_new)} differs from the plan's {plan['moved']} (of {plan['keys']} keys)")
        ok = False

elif cmd == "holds-none":              # holds-none POD
    r = load(f"{work}/state-{args[0]}.json")
    print(f"[resharding] {args[0]} holds {r['keys']} keys before it is stopped")
    ok = r["keys"] == 0

elif cmd == "rollout":                 # rollout OUT_A OUT_B OWNERS_BEFORE OWNERS_AFTER COUNTERS_0 COUNTERS_1 COUNTERS_2 METRICS_B
    a, b = load(args[0]), load(args[1])
    before, after = owners(args[2]), owners(args[3])
    c0, c1, c2 = (load(x) for x in args[4:7])
    def delta(x, y, field):
        return {s: y[s]["counters"][field] - x[s]["counters"][field] for s in x}
    mis_a, mis_b = delta(c0, c1, "misdirected"), delta(c1, c2, "misdirected")
    writes = {s: delta(c0, c1, "writesAccepted")[s] + delta(c1, c2, "writesAccepted")[s] for s in c0}
    for name, r in (("A", a), ("B", b)):
        for phase in ("3a", "3b"):
            s = r["phases"].get(phase)
            if s is None:
                print(f"  client {name} sent nothing in phase {phase}")
                ok = False
                continue
            print(f"[resharding] ROLLOUT {phase} client {name}: {s['requests']} requests, {s['failed']} failed, statuses {s['by_status']}, p99 {s['p99_ms']} ms")
    ok &= zero_failures("client A (new config) during the rollout", a["total"])
    b3a, b3b = b["phases"].get("3a"), b["phases"].get("3b")
    if b3a:
        refused = [f for f in b3a["failures"] if f["status"] == 421]
        other = [f for f in b3a["failures"] if f["status"] != 421]
        not_moved = [f for f in refused if before[f["path"]] == after[f["path"]]]
        print(f"[resharding] ROLLOUT 3a: client B on the old config got {len(refused)} 421s it could not correct, all for keys whose owner changed: {not not_moved}")
        if other:
            print(f"  client B failed otherwise than with a 421 in 3a:\n" + "\n".join(f"    {f}" for f in other[:8]))
            ok = False
        if not_moved:
            print(f"  421s for keys whose owner did not change: {not_moved[:5]}")
            ok = False
        if not refused:
            print("  no 421 reached client B in 3a: the old-config client never met a refusing shard, so the scenario proved nothing")
            ok = False
    if b3b:
        ok &= zero_failures("client B in 3b (its config file updated; a 421 must make it re-read and retry once)", b3b)
    print(f"[resharding] ROLLOUT: shards' 421s in 3a {sum(mis_a.values())}, in 3b {sum(mis_b.values())} (followed by client B's sidecar: {b3b is not None and b3b['failed'] == 0})")
    retried = sum(float(line.rsplit(" ", 1)[1]) for line in open(args[7])
                  if line.startswith("shardline_misdirected_total") and 'outcome="retried"' in line)
    print(f"[resharding] ROLLOUT: client B's sidecar followed {retried:.0f} 421s (shardline_misdirected_total, outcome retried)")
    if retried < 1:
        print("  client B's sidecar followed no 421, so the scenario did not show a 421 being followed")
        ok = False
    seen = {}
    for r in (a, b):
        for s, n in r["total"]["writes_by_shard"].items():
            seen[s] = seen.get(s, 0) + n
    misrouted = a["total"]["misrouted_writes"] + b["total"]["misrouted_writes"]
    print(f"[resharding] ROLLOUT: writes accepted per shard (shards' counters) {dict(sorted(writes.items()))}, "
          f"seen by the clients {dict(sorted(seen.items()))}; accepted by a non-owner: {len(misrouted)}")
    if misrouted:
        print("  writes answered by a shard that does not own the key:\n" + "\n".join(f"    {m}" for m in misrouted[:8]))
        ok = False
    if {s: n for s, n in writes.items() if n} != seen:
        print("  the shards accepted other writes than the clients saw succeed")
        ok = False

elif cmd == "slow":                    # slow BASE SLOW SLOW_SHARD SLOW_MS
    base, slow, slow_shard, slow_ms = load(args[0]), load(args[1]), args[2], float(args[3])
    for shard in sorted(base):
        print(f"[resharding] SLOW SHARD: shard {shard}: p99 {base[shard]['p99_ms']} ms baseline ({base[shard]['requests']} requests), "
              f"{slow[shard]['p99_ms']} ms with users-{slow_shard} at +{slow_ms:.0f} ms ({slow[shard]['requests']} requests, p50 {slow[shard]['p50_ms']} ms)")
        ok &= zero_failures(f"shard {shard} baseline", base[shard]) and zero_failures(f"shard {shard} with a slow users-{slow_shard}", slow[shard])
    s = slow[slow_shard]
    if s["requests"] == 0 or s["p50_ms"] < slow_ms:
        print(f"  users-{slow_shard}'s keys were not slow (p50 {s['p50_ms']} ms): the delay did not apply")
        ok = False
    for shard in base:
        if shard == slow_shard:
            continue
        before, during = base[shard]["p99_ms"], slow[shard]["p99_ms"]
        bound = min(max(5 * before, before + 500), slow_ms / 2)   # generous: a busy 2-core machine; a request queued behind the slow shard takes >= slow_ms
        if during is None or during > bound:
            print(f"  shard {shard}'s p99 went from {before} ms to {during} ms (bound {bound:.0f} ms): a slow shard slows the others")
            ok = False

sys.exit(0 if ok else 1)
PY

# ---------------------------------------------------------------- the cluster
cluster_bridge_up
for i in 0 1 2; do publish c3 "users-$i"; done
publish c3 client-a
for i in 0 1 2; do start_shard "$i" "$TAG-u$i" "$NET.$((10 + i))"; done
update_dns
add_pod "$TAG-dnscheck" "$NET.99"
cluster_start_dns "$TAG-dnscheck" "users-0.$DOMAIN"
start_client client-a "$NET.100" 500
log "shard pods users-0..2 up (${POD_IP[users-0]}, ${POD_IP[users-1]}, ${POD_IP[users-2]}); sidecar A ready in ${POD_NS[client-a]}"

# 10,000 keys, their owners with 3 and 4 shards (the Python reference), the plan's figure.
python3 - "$KEYS" "$WORK" <<'PY'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
keys = [f"k{i:05d}-{(i * 2654435761) % 1000003:06d}" for i in range(n)]
open(f"{work}/keys.txt", "w").write("".join(k + "\n" for k in keys))
open(f"{work}/paths.txt", "w").write("".join(f"/users/{k}/profile\n" for k in keys))
PY
owners_for() {   # owners_for CONFIG OUT: "path shard" for every path, by the Python reference
  # (sdk/reference, an implementation independent of the Swift code under test)
  python3 - "$HERE/../../sdk/reference" "$WORK/$1.yaml" "$WORK/paths.txt" "$2" <<'PY' || fail "the Python reference could not route the paths (pip install xxhash pyyaml)"
import sys
sys.path.insert(0, sys.argv[1])
import shardline_ref as ref
services = ref.load_services(open(sys.argv[2]).read())
with open(sys.argv[4], "w") as out:
    for line in open(sys.argv[3]):
        path = line.strip()
        out.write(f"{path} {ref.route(services, 'users', path.encode())['shard']}\n")
PY
  [ "$(wc -l <"$2")" -eq "$KEYS" ] || fail "the reference gave $(wc -l <"$2") decisions for $KEYS paths"
}
owners_for c3 "$WORK/owners3.txt"
owners_for c4 "$WORK/owners4.txt"
"$BIN" plan --config "$WORK/c3.yaml" --replicas 4 --keys "$WORK/keys.txt" --json >"$WORK/plan.json" || fail "shardline plan failed"

snapshot_keys() { # snapshot_keys POD...: each shard's local paths into keys-POD.json
  local pod
  for pod in "$@"; do
    curl -sf --max-time 10 "$(shard_url "$pod")/debug/keys" >"$WORK/keys-$pod.json" || fail "$pod did not answer /debug/keys"
  done
}
snapshot_state() { # snapshot_state OUT POD...: {"<ordinal>": /debug/state, ...}
  local out=$1 pod args=()
  shift
  for pod in "$@"; do args+=("${pod#users-}=$(shard_url "$pod")"); done
  python3 - "$out" "${args[@]}" <<'PY' || fail "a shard did not answer /debug/state"
import json, sys, urllib.request
out = {}
for arg in sys.argv[2:]:
    ordinal, url = arg.split("=", 1)
    with urllib.request.urlopen(f"{url}/debug/state", timeout=5) as r:
        out[ordinal] = json.load(r)
json.dump(out, open(sys.argv[1], "w"))
PY
}

run_load() {     # run_load CLIENT OUT STATE OPTIONS...: load in the background until stop_loads
  rm -f "$WORK/stop"
  # Started directly (not through a shell function), so $! is `timeout`, which passes a TERM from
  # the cleanup on to the generator.
  timeout 150 ip netns exec "${POD_NS[$1]}" env SIDECAR_PORT="$SIDECAR_PORT" \
    python3 "$LOADGEN" load "$WORK/paths.txt" "$3" "$WORK/stop" "$2" "${@:4}" --max-seconds 90 >>"$WORK/loadgen.log" 2>&1 &
  LOAD_PIDS+=("$!")
  PIDS+=("$!")
}
stop_loads() {   # touch STOP, wait (bounded) for every load process
  local pid
  touch "$WORK/stop"
  for pid in "${LOAD_PIDS[@]}"; do
    for _ in $(seq 1 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && fail "a load generator did not stop within 20 s of being told to (a request hung past its 10 s timeout?)"
    wait "$pid" || fail "a load generator failed: $(tail -5 "$WORK/loadgen.log")"
    forget_pid "$pid"
  done
  LOAD_PIDS=()
}
LOAD_PIDS=()

log "writing $KEYS keys through sidecar A"
loadgen client-a fill "$WORK/paths.txt" "$WORK/state.json" --threads 8 >"$WORK/fill.json"
check fill "$WORK" "$WORK/fill.json" "$KEYS" || scenario_fail "not every key could be written through the sidecar before any resharding"
snapshot_keys users-0 users-1 users-2
check placement "$WORK" "$WORK/owners3.txt" users-0 users-1 users-2 || scenario_fail "the written keys are not each on the shard shardline route predicts"

# ---------------------------------------------------------------- 1. 3 -> 4 under load
log "1. users-3 started and Ready (still on the 3-shard config: it refuses every key)"
publish c3 users-3
start_shard 3 "$TAG-u3" "$NET.13"
update_dns
wait_for "users-3 in the cluster DNS" 5 ip netns exec "${POD_NS[client-a]}" getent ahostsv4 "users-3.$DOMAIN"
run_load client-a "$WORK/load1.json" "$WORK/state.json" --threads 4 --tag s1-
sleep "$LOAD_SECONDS"   # load before the change (a measurement window, not synchronisation)
log "1. ConfigMap -> replicas 4, previous {replicas: 3}: users-3's volume first, then client A's, then users-0..2's"
publish c4p3 users-3
wait_reload users-3 10 reloads_above users-3 0
generation=$(sidecar_generation client-a)
publish c4p3 client-a users-0 users-1 users-2
for i in 0 1 2; do wait_reload "users-$i" 10 reloads_above "users-$i" 0; done
wait_reload "sidecar A" 10 generation_above client-a "$generation"
sleep "$LOAD_SECONDS"   # load after the change
stop_loads
check load "$WORK" "1. reads and writes during 3 -> 4" "$WORK/load1.json" \
  || scenario_fail "requests failed while the shard count went 3 -> 4 (a 421 surfaced, a read-through failed, or a value was lost)"
loadgen client-a verify "$WORK/paths.txt" "$WORK/state.json" "$WORK/verify1.json" --threads 8
check verify "$WORK" "1. read-back after 3 -> 4" "$WORK/verify1.json" "$KEYS" || scenario_fail "after 3 -> 4, not every key read back its last written value"
snapshot_keys users-0 users-1 users-2 users-3
check moved "$WORK" "$WORK/owners3.txt" "$WORK/owners4.txt" "$WORK/plan.json" users-3 users-0 users-1 users-2 users-3 \
  || scenario_fail "the keys on users-3 are not exactly the moved ones, or their number differs from shardline plan's"
check placement "$WORK" "$WORK/owners4.txt" users-0 users-1 users-2 users-3 || scenario_fail "after 3 -> 4 some key is not (only) on its owner"
log "1. the operator removes previous (every key has moved)"
remember_reloads users-0 users-1 users-2 users-3
generation=$(sidecar_generation client-a)
publish c4 client-a users-0 users-1 users-2 users-3
for i in 0 1 2 3; do wait_reload "users-$i" 10 reloads_above "users-$i" "${BEFORE[users-$i]}"; done
wait_reload "sidecar A" 10 generation_above client-a "$generation"

# ---------------------------------------------------------------- 2. 4 -> 3, reverse order
log "2. ConfigMap -> replicas 3, previous {replicas: 4}: users-0..2 (which gain keys) first, then client A, then users-3"
run_load client-a "$WORK/load2.json" "$WORK/state.json" --threads 4 --tag s2-
sleep "$LOAD_SECONDS"
remember_reloads users-0 users-1 users-2 users-3
publish c3p4 users-0 users-1 users-2
for i in 0 1 2; do wait_reload "users-$i" 10 reloads_above "users-$i" "${BEFORE[users-$i]}"; done
generation=$(sidecar_generation client-a)
publish c3p4 client-a users-3
wait_reload users-3 10 reloads_above users-3 "${BEFORE[users-3]}"
wait_reload "sidecar A" 10 generation_above client-a "$generation"
sleep "$LOAD_SECONDS"
stop_loads
check load "$WORK" "2. reads and writes during 4 -> 3" "$WORK/load2.json" || scenario_fail "requests failed while the shard count went 4 -> 3"
loadgen client-a verify "$WORK/paths.txt" "$WORK/state.json" "$WORK/verify2a.json" --threads 8
check verify "$WORK" "2. every key read (moving users-3's keys back)" "$WORK/verify2a.json" "$KEYS" || scenario_fail "during 4 -> 3, not every key read back its value"
shard_state users-3 >"$WORK/state-users-3.json" || fail "users-3 did not answer /debug/state"
check holds-none "$WORK" users-3 || scenario_fail "users-3 still holds keys after every key was read through: stopping it would lose them"
# From here users-3 is gone: every key must be served by users-0..2 alone. The load below reads
# (and checks) keys at random; the placement check after it asks each shard directly that it
# holds exactly its keys (whose values the read-back above has just checked).
log "2. under load again: users-3 stopped (its keys were all read through), its DNS record removed, previous removed"
run_load client-a "$WORK/load2b.json" "$WORK/state.json" --threads 4 --tag s2b-
stop_shard users-3
update_dns
remember_reloads users-0 users-1 users-2
generation=$(sidecar_generation client-a)
publish c3 client-a users-0 users-1 users-2
for i in 0 1 2; do wait_reload "users-$i" 10 reloads_above "users-$i" "${BEFORE[users-$i]}"; done
wait_reload "sidecar A" 10 generation_above client-a "$generation"
sleep "$LOAD_SECONDS"
stop_loads
check load "$WORK" "2. reads and writes while users-3 is stopped" "$WORK/load2b.json" || scenario_fail "requests failed while users-3 was stopped after 4 -> 3"
snapshot_keys users-0 users-1 users-2
check placement "$WORK" "$WORK/owners3.txt" users-0 users-1 users-2 || scenario_fail "after 4 -> 3 some key is not (only) on its owner"

# ---------------------------------------------------------------- 3. a rollout, two clients
log "3. users-3 again, and client pod B with its own sidecar on the 3-shard config (it never polls its config)"
publish c3 users-3 client-b
start_shard 3 "$TAG-u3b" "$NET.23"
update_dns
start_client client-b "$NET.101" 0
publish c4p3 users-3
wait_reload users-3 10 reloads_above users-3 0
remember_reloads users-0 users-1 users-2
generation=$(sidecar_generation client-a)
publish c4p3 client-a users-0 users-1 users-2
for i in 0 1 2; do wait_reload "users-$i" 10 reloads_above "users-$i" "${BEFORE[users-$i]}"; done
wait_reload "sidecar A" 10 generation_above client-a "$generation"
cp "$WORK/state.json" "$WORK/state-a.json"
cp "$WORK/state.json" "$WORK/state-b.json"
echo 3a >"$WORK/phase"
snapshot_state "$WORK/counters-0.json" users-0 users-1 users-2 users-3
log "3a. shards and client A on 4 shards, client B's volume still on 3: writes through both"
run_load client-a "$WORK/load3-a.json" "$WORK/state-a.json" --threads 3 --slice 0/2 --tag A --phase-file "$WORK/phase" --owners "$WORK/owners4.txt"
run_load client-b "$WORK/load3-b.json" "$WORK/state-b.json" --threads 3 --slice 1/2 --tag B --phase-file "$WORK/phase" --owners "$WORK/owners4.txt"
sleep "$LOAD_SECONDS"
log "3b. client B's volume updated; its sidecar learns of it only from a shard's 421"
snapshot_state "$WORK/counters-1.json" users-0 users-1 users-2 users-3
# The volume first, then the label: a request counted in 3b must find the new file when it re-reads.
publish c4p3 client-b
echo 3b >"$WORK/phase.tmp" && mv "$WORK/phase.tmp" "$WORK/phase"
sleep "$LOAD_SECONDS"
stop_loads
snapshot_state "$WORK/counters-2.json" users-0 users-1 users-2 users-3
# Client B's sidecar's own count of the 421s it followed (it can follow none while its file is old).
ip netns exec "${POD_NS[client-b]}" curl -sf --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" >"$WORK/metrics-b.txt" \
  || fail "client B's sidecar did not answer /metrics"
check rollout "$WORK" "$WORK/load3-a.json" "$WORK/load3-b.json" "$WORK/owners3.txt" "$WORK/owners4.txt" \
  "$WORK/counters-0.json" "$WORK/counters-1.json" "$WORK/counters-2.json" "$WORK/metrics-b.txt" \
  || scenario_fail "during the rollout a 421 reached a caller that could correct itself, a write landed on a non-owner, or the shards' counts disagree with the clients'"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
a, b = json.load(open(f"{work}/state-a.json")), json.load(open(f"{work}/state-b.json"))
paths = [l.strip() for l in open(f"{work}/paths.txt") if l.strip()]
json.dump({p: (a if i % 2 == 0 else b)[p] for i, p in enumerate(paths)}, open(f"{work}/state.json", "w"))
written = set(json.load(open(f"{work}/load3-a.json"))["written_paths"]) | set(json.load(open(f"{work}/load3-b.json"))["written_paths"])
open(f"{work}/written3.txt", "w").writelines(p + "\n" for p in paths if p in written)
PY
loadgen client-a verify "$WORK/written3.txt" "$WORK/state.json" "$WORK/verify3.json" --threads 8
check verify "$WORK" "3. read-back of the keys written during the rollout" "$WORK/verify3.json" "$(wc -l <"$WORK/written3.txt")" \
  || scenario_fail "after the rollout, a key written through either client did not read back its last accepted value"

# ---------------------------------------------------------------- 4. one slow shard
log "4. latency per shard: baseline, then users-1 answering ${SLOW_MS} ms late"
# Keys each shard already holds locally: a key still on its previous owner would be read through
# (from users-1 too, slow), which is not what this scenario measures.
snapshot_keys users-0 users-1 users-2 users-3
python3 - "$WORK" <<'PY' || fail "some shard holds fewer than 20 of its own keys locally: no latency sample for it"
import json, sys
work = sys.argv[1]
owner = dict(l.split() for l in open(f"{work}/owners4.txt") if l.strip())
rows = []
for shard in "0123":
    local = [p for p in json.load(open(f"{work}/keys-users-{shard}.json"))["paths"] if owner.get(p) == shard]
    if len(local) < 20:
        sys.exit(1)
    rows += [f"{p} {shard}\n" for p in local[:200]]
open(f"{work}/latency-paths.txt", "w").writelines(rows)
PY
loadgen client-a latency "$WORK/latency-paths.txt" "$LOAD_SECONDS" "$WORK/latency-base.json" --threads 2
curl -sf --max-time 2 -X PUT --data "$SLOW_MS" "$(shard_url users-1)/debug/delay" || fail "users-1 refused the test delay"
loadgen client-a latency "$WORK/latency-paths.txt" "$((LOAD_SECONDS + 2))" "$WORK/latency-slow.json" --threads 2
curl -sf --max-time 2 -X PUT --data 0 "$(shard_url users-1)/debug/delay" || fail "users-1 refused to drop the test delay"
check slow "$WORK" "$WORK/latency-base.json" "$WORK/latency-slow.json" 1 "$SLOW_MS" \
  || scenario_fail "a slow shard (users-1, +${SLOW_MS} ms) slowed the other shards' requests, or its own were not slow"

[ ${#FAILED[@]} -eq 0 ] || fail "${#FAILED[@]} assertions failed: $(printf '%s; ' "${FAILED[@]}")"
log "PASS: 3 -> 4 -> 3 with zero failed requests and every key read back; moved fraction as planned; rollout with two configs: no misdirected write, 421s followed; a slow shard slows only its keys"
