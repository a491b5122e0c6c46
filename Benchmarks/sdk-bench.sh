#!/usr/bin/env bash
# The SDK's cost per request: the same GET /users/<key>/profile requests, one at a time over
# kept-alive connections, through plain AsyncHTTPClient straight to the right backend, through the
# SDK (ShardlineClient.execute), and through the sidecar on loopback, to three nginx backends on
# loopback. Prints p50 and p99 per path (Sources/sdk-latency).
#
# Usage: Benchmarks/sdk-bench.sh [--modes direct,sdk,sidecar]   (a subset times only those paths;
#        --modes direct,headers,routed,sdk splits the SDK's cost: see Sources/sdk-latency)
# Environment (all optional):
#   REQUESTS=20000 WARMUP=2000   timed requests per path, and untimed ones first
#   SHARDLINE_BIN=path           use this sidecar binary instead of building one
#   SCRATCH=.build-release       scratch path of the sidecar's release build
#   BASE_PORT=19100              ports used: BASE+1 (sidecar), +81..83 (backends), +90 (admin)
#   CONFIGURATION=release        build configuration of sdk-latency (debug only for a quick look)
#   BENCH_SCRATCH=path           scratch path of the sdk-latency build (default: the Benchmarks package's)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
templates="$here/proxy"
REQUESTS="${REQUESTS:-20000}"
WARMUP="${WARMUP:-2000}"
BASE_PORT="${BASE_PORT:-19100}"
sidecar_port=$((BASE_PORT + 1)); sidecar_admin=$((BASE_PORT + 90))
backend_ports=($((BASE_PORT + 81)) $((BASE_PORT + 82)) $((BASE_PORT + 83)))

log() { echo "sdk-bench: $*" >&2; }
die() { log "error: $*"; exit 1; }
find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
NGINX="$(find_tool nginx)"
[ -n "$NGINX" ] || die "nginx is needed for the backends (apt-get install -y nginx)"
command -v curl >/dev/null || die "curl is needed"

if [ -n "${SHARDLINE_BIN:-}" ]; then
  shardline="$SHARDLINE_BIN"
else
  scratch="${SCRATCH:-.build-release}"
  log "building the sidecar (swift build -c release --product shardline --scratch-path $scratch)"
  (cd "$root" && swift build -c release --product shardline --scratch-path "$scratch" >&2)
  shardline="$(cd "$root" && swift build -c release --scratch-path "$scratch" --show-bin-path)/shardline"
fi
CONFIGURATION="${CONFIGURATION:-release}"
scratch_args=()
[ -n "${BENCH_SCRATCH:-}" ] && scratch_args=(--scratch-path "$BENCH_SCRATCH")
log "building sdk-latency (cd Benchmarks && swift build -c $CONFIGURATION --product sdk-latency ${scratch_args[*]})"
(cd "$here" && swift build -c "$CONFIGURATION" --product sdk-latency "${scratch_args[@]}" >&2)
bench="$(cd "$here" && swift build -c "$CONFIGURATION" "${scratch_args[@]}" --show-bin-path)/sdk-latency"

. "$here/lib/workspace.sh"
bench_workspace shardline-sdk-bench


wait_http() {  # wait_http URL PID NAME: until URL answers 2xx, bounded to 15 s
  for _ in $(seq 1 1500); do
    kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (logs in $run)"
    case "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")" in 2*) return 0 ;; esac
    sleep 0.01
  done
  die "$3 did not answer 2xx at $1 within 15 s"
}

for index in 0 1 2; do
  name="backend$index"
  render "$templates/backend.conf" "$run/$name.conf" "NAME=$name" "PORT=${backend_ports[$index]}"
  "$NGINX" -p "$run" -c "$run/$name.conf" 2>"$run/$name.stderr.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:${backend_ports[$index]}/" "$!" "$name"
done

render "$templates/sidecar.yaml" "$run/sidecar.yaml" "PORT=$sidecar_port" "ADMIN=$sidecar_admin" \
  "B0=${backend_ports[0]}" "B1=${backend_ports[1]}" "B2=${backend_ports[2]}"
"$shardline" sidecar --config "$run/sidecar.yaml" >"$run/sidecar.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$sidecar_admin/readyz" "$!" "the sidecar"

"$bench" --backends "$(IFS=,; echo "${backend_ports[*]}")" --sidecar "$sidecar_port" --requests "$REQUESTS" --warmup "$WARMUP" "$@"
