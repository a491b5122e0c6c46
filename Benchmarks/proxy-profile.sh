#!/usr/bin/env bash
# Where the sidecar's time goes under proxy-bench.sh's load: the same three nginx backends, the
# same sidecar config and the same wrk script (CONNECTIONS connections), with the sidecar's
# process observed while the load runs:
#   - system calls per request: `strace -c -f` attached for STRACE_SECONDS, counts divided by the
#     requests the sidecar answered meanwhile (its /metrics before and after; strace slows the
#     process, so the counts, not the times, are the figure);
#   - a CPU profile: `perf record -g` attached for PERF_SECONDS (skipped when perf is missing or
#     not permitted), reported as the top symbols by self time, and grouped into what they do
#     (NIOHTTP1 codec, allocation and reference counting, kernel, the proxy's own code).
#
# Usage: SHARDLINE_BIN=path Benchmarks/proxy-profile.sh
# Environment (all optional): CONNECTIONS=64 STRACE_SECONDS=4 PERF_SECONDS=5 THREADS=1
#   BASE_PORT=19400 KEYS=100000 SCRATCH=.build-release OUT=dir (keep perf.data and reports there)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
templates="$here/proxy"
CONNECTIONS="${CONNECTIONS:-64}"
STRACE_SECONDS="${STRACE_SECONDS:-4}"
PERF_SECONDS="${PERF_SECONDS:-5}"
THREADS="${THREADS:-1}"
BASE_PORT="${BASE_PORT:-19400}"
export KEYS="${KEYS:-100000}"

log() { echo "proxy-profile: $*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in wrk nginx strace curl; do command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool is needed"; done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

if [ -n "${SHARDLINE_BIN:-}" ]; then
  shardline="$SHARDLINE_BIN"
else
  scratch="${SCRATCH:-.build-release}"
  (cd "$root" && swift build -c release --product shardline --scratch-path "$scratch" >&2)
  shardline="$(cd "$root" && swift build -c release --scratch-path "$scratch" --show-bin-path)/shardline"
fi
[ -x "$shardline" ] || die "no sidecar binary at $shardline"

. "$here/lib/workspace.sh"
bench_workspace shardline-profile
out="${OUT:-$run}"
mkdir -p "$out"

sidecar_port=$((BASE_PORT + 1)); sidecar_admin=$((BASE_PORT + 90))
backend_ports=($((BASE_PORT + 81)) $((BASE_PORT + 82)) $((BASE_PORT + 83)))
wait_http() {  # wait_http URL: until it answers 2xx, bounded to 15 s
  for _ in $(seq 1 1500); do
    case "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")" in 2*) return 0 ;; esac
    sleep 0.01
  done
  die "$1 did not answer within 15 s"
}
for index in 0 1 2; do
  render "$templates/backend.conf" "$run/backend$index.conf" "NAME=backend$index" "PORT=${backend_ports[$index]}"
  "$NGINX" -p "$run" -c "$run/backend$index.conf" 2>"$run/backend$index.stderr.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:${backend_ports[$index]}/"
done
render "$templates/sidecar.yaml" "$run/sidecar.yaml" "PORT=$sidecar_port" "ADMIN=$sidecar_admin" \
  "B0=${backend_ports[0]}" "B1=${backend_ports[1]}" "B2=${backend_ports[2]}"
"$shardline" sidecar --config "$run/sidecar.yaml" --threads "$THREADS" >"$run/sidecar.log" 2>&1 &
sidecar_pid=$!
pids+=("$sidecar_pid")
wait_http "http://127.0.0.1:$sidecar_admin/readyz"

# load SECONDS: wrk against the sidecar in the background; its pid in wrk_pid.
load() {
  timeout 120 wrk -t 1 -c "$CONNECTIONS" -d "${1}s" -H 'Host: users' -s "$templates/keys.lua" "http://127.0.0.1:$sidecar_port" >"$run/wrk.out" 2>&1 &
  wrk_pid=$!
}
# The sidecar's own count of requests answered (its /metrics), so a window's requests are exact.
served() { curl -s --max-time 5 "http://127.0.0.1:$sidecar_admin/metrics" | awk '/^shardline_requests_total/ { sum += $NF } END { printf "%d", sum }'; }

log "warm-up"
load 2; wait "$wrk_pid" || true

log "strace -c -f for ${STRACE_SECONDS}s"
load $((STRACE_SECONDS + 2))
sleep 1
before="$(served)"
timeout "$STRACE_SECONDS" strace -c -f -p "$sidecar_pid" -o "$out/strace.txt" >/dev/null 2>&1 || true
traced_requests=$(( $(served) - before ))
wait "$wrk_pid" || true
echo "system calls per request at $CONNECTIONS connections (strace -c -f over ${STRACE_SECONDS}s, $traced_requests requests):"
awk -v r="$traced_requests" '$1 ~ /^[0-9.]+$/ && NF >= 5 { name = $NF; calls = $4; if (r > 0 && calls / r >= 0.01) printf "  %-16s %6.2f\n", name, calls / r }' "$out/strace.txt" | sort -k2 -nr

if command -v perf >/dev/null && perf record -o /dev/null -- true >/dev/null 2>&1; then
  log "perf record -g for ${PERF_SECONDS}s"
  load $((PERF_SECONDS + 2))
  sleep 1
  perf record -F 999 -g -p "$sidecar_pid" -o "$out/perf.data" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 || true
  wait "$wrk_pid" || true
  demangle() { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; }
  perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' \
    | demangle > "$out/perf-symbols.txt" || true
  echo
  echo "samples by thread:"
  perf report -i "$out/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' | head -n 8
  echo
  echo "top symbols by self time (perf, ${PERF_SECONDS}s at $CONNECTIONS connections):"
  head -n 30 "$out/perf-symbols.txt" | cut -c1-180
  echo
  echo "self time by kind:"
  awk '{ pct = $1; sub(/%/, "", pct); line = $0
      kind = "the rest: the proxy, NIOCore, NIOPosix, the Swift runtime and stdlib"
      if (line ~ /\[k\]/) kind = "kernel (sockets, epoll, scheduling)"
      else if (line ~ /swift_retain|swift_release|swift_bridgeObject|swift_unknownObject|swift_beginAccess|swift_endAccess|swift_isUniquely/) kind = "reference counting and exclusivity checks"
      else if (line ~ /malloc|[^a-z]free|swift_allocObject|swift_deallocObject|swift_slowAlloc|swift_slowDealloc|_int_malloc|_int_free|cfree|swift_allocBox|swift_deallocClassInstance/) kind = "allocation"
      else if (line ~ /getGenericMetadata|conformsToProtocol|dynamicCast|getWitnessTable|getAssociatedTypeWitness|MetadataCache|checkMetadataState|ConcurrentReadableHashMap|ValueWitnesses|initializeWithCopy|outlined copy|outlined destroy/) kind = "generic metadata, value witnesses, dynamic casts"
      else if (line ~ /NIOHTTP1|llhttp/) kind = "NIOHTTP1 codec and its head types"
      else if (line ~ /ShardlineSidecar|ShardlineCore/) kind = "the proxy itself (Shardline modules)"
      else if (line ~ /libc\.so|libc-/) kind = "libc (memcpy, memset, other)"
      total[kind] += pct }
    END { for (k in total) printf "  %5.1f%%  %s\n", total[k], k }' "$out/perf-symbols.txt" | sort -nr
else
  log "perf is missing or not permitted (perf_event_paranoid); no CPU profile"
fi
