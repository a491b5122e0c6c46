#!/usr/bin/env bash
# Issue 19's table: an nginx shard that answers `401` before reading the body, and curl uploading
# 64 MiB from a pipe (chunked) through the sidecar, with and without `Expect: 100-continue`, and
# from a file (Content-Length); RUNS runs each. Prints per case the statuses curl saw (000: no
# response at all), through the sidecar, straight to the shard, and through HAProxy if installed.
#
# Exit status: 0 when every upload through the sidecar got the shard's 401.
#
# Usage: Benchmarks/early-answer.sh
# Environment (all optional):
#   SHARDLINE_BIN=path   the sidecar binary (default: swift build --product shardline, debug)
#   RUNS=5  BYTES=67108864  BASE_PORT=19500 (uses BASE+1, +2, +81, +90)
#   CASES="chunked chunked-expect length length-expect"   the rows to run
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
RUNS="${RUNS:-5}"; BYTES="${BYTES:-67108864}"; BASE_PORT="${BASE_PORT:-19500}"
CASES="${CASES:-chunked chunked-expect length length-expect}"
sidecar_port=$((BASE_PORT + 1)); haproxy_port=$((BASE_PORT + 2)); shard_port=$((BASE_PORT + 81)); admin_port=$((BASE_PORT + 90))

log() { echo "early-answer: $*" >&2; }
die() { log "error: $*"; exit 2; }
find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
NGINX="$(find_tool nginx)"; [ -n "$NGINX" ] || die "nginx is needed"
HAPROXY="$(find_tool haproxy)"

if [ -n "${SHARDLINE_BIN:-}" ]; then
  shardline="$SHARDLINE_BIN"
else
  (cd "$root" && swift build --product shardline >&2)
  shardline="$(cd "$root" && swift build --show-bin-path)/shardline"
fi

. "$here/lib/workspace.sh"
bench_workspace shardline-early

wait_port() {  # wait_port PORT PID NAME: until something answers HTTP on PORT, bounded to 15 s
  for _ in $(seq 1 1500); do
    kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (logs in $run)"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H 'Host: users' "http://127.0.0.1:$1/users/probe/x")" != 000 ] && return 0
    sleep 0.01
  done
  die "$3 did not answer on port $1 within 15 s"
}

sed -e "s|@RUN@|$run|g" -e "s|@NAME@|shard|g" -e "s|@PORT@|$shard_port|g" "$here/keepalive/refusing-shard.conf" > "$run/shard.conf"
"$NGINX" -p "$run" -c "$run/shard.conf" 2>"$run/shard.stderr.log" &
pids+=($!); wait_port "$shard_port" "$!" "the shard"

cat > "$run/sidecar.yaml" <<YAML
services:
  - name: users
    hosts: [users]
    pattern: '^/users/([^/]*)/'
    endpoints: ["127.0.0.1:$shard_port"]
sidecar:
  listen: 127.0.0.1:$sidecar_port
  admin: 127.0.0.1:$admin_port
  logLevel: warning
YAML
"$shardline" sidecar --config "$run/sidecar.yaml" >"$run/sidecar.log" 2>&1 &
pids+=($!); wait_port "$sidecar_port" "$!" "the sidecar"

targets=("sidecar:$sidecar_port" "shard:$shard_port")
if [ -n "$HAPROXY" ]; then
  cat > "$run/haproxy.cfg" <<CFG
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend users
    bind 127.0.0.1:$haproxy_port
    default_backend shard
backend shard
    server s0 127.0.0.1:$shard_port
CFG
  "$HAPROXY" -f "$run/haproxy.cfg" -db >"$run/haproxy.log" 2>&1 &
  pids+=($!); wait_port "$haproxy_port" "$!" "haproxy"
  targets+=("haproxy:$haproxy_port")
fi
head -c "$BYTES" /dev/zero > "$run/upload.bin"

upload() {  # upload PORT CASE: prints curl's status code (000: no response)
  local url="http://127.0.0.1:$1/users/uploader/file"
  case "$2" in
    chunked) head -c "$BYTES" /dev/zero | curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Host: users' -H 'Expect:' -T - "$url" || true ;;
    chunked-expect) head -c "$BYTES" /dev/zero | curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Host: users' -H 'Expect: 100-continue' -T - "$url" || true ;;
    length) curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Host: users' -H 'Expect:' -T "$run/upload.bin" "$url" || true ;;
    length-expect) curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H 'Host: users' -H 'Expect: 100-continue' -T "$run/upload.bin" "$url" || true ;;
  esac
}

status=0
printf '%-16s' "upload"; for target in "${targets[@]}"; do printf '%-28s' "${target%%:*}"; done; echo
for case in $CASES; do
  printf '%-16s' "$case"
  for target in "${targets[@]}"; do
    codes=()
    for _ in $(seq 1 "$RUNS"); do codes+=("$(upload "${target##*:}" "$case")"); done
    printf '%-28s' "${codes[*]}"
    if [ "${target%%:*}" = sidecar ]; then
      for code in "${codes[@]}"; do [ "$code" = 401 ] || status=1; done
    fi
  done
  echo
done
exit $status
