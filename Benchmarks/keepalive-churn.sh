#!/usr/bin/env bash
# Reproduces issue 13's keep-alive bug and measures it: three nginx shards that close idle
# keep-alive connections after IDLE (`keepalive_timeout 2s; keepalive_requests 100`), the sidecar
# in front, and keep-alive clients (Benchmarks/keepalive/client.py) sending bursts of GET and POST
# (bodies up to 2 KB) with pauses of about PAUSE seconds, so a shard closes a connection the
# sidecar holds idle just as the next burst starts. Then one client of POSTs alone with 1 s pauses.
#
# Prints one line per run: requests, failed, and the failures by kind (no_response:* means the
# client's connection was closed under its request; http_502 means the sidecar answered that the
# shard's connection broke). Optionally runs the same load through HAProxy for comparison.
#
# Exit status: 0 when every request through the sidecar succeeded, 1 otherwise.
#
# Usage: Benchmarks/keepalive-churn.sh
# Environment (all optional):
#   SHARDLINE_BIN=path   the sidecar binary (default: swift build --product shardline, debug)
#   CLIENTS=8 BURSTS=8 PAUSE=2 IDLE=2s   the load and the shards' keepalive_timeout
#   HAPROXY_ROW=0        1 also runs the load through HAProxy
#   BASE_PORT=19400      ports used: BASE+1, +2 (proxies), +81..83 (shards), +90 (admin)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
CLIENTS="${CLIENTS:-8}"; BURSTS="${BURSTS:-8}"; PAUSE="${PAUSE:-2}"; IDLE="${IDLE:-2s}"
HAPROXY_ROW="${HAPROXY_ROW:-0}"; BASE_PORT="${BASE_PORT:-19400}"
sidecar_port=$((BASE_PORT + 1)); haproxy_port=$((BASE_PORT + 2)); admin_port=$((BASE_PORT + 90))
backend_ports=($((BASE_PORT + 81)) $((BASE_PORT + 82)) $((BASE_PORT + 83)))

log() { echo "keepalive-churn: $*" >&2; }
die() { log "error: $*"; exit 2; }
find_tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
NGINX="$(find_tool nginx)"; [ -n "$NGINX" ] || die "nginx is needed (apt-get install nginx)"
command -v python3 >/dev/null || die "python3 is needed"

if [ -n "${SHARDLINE_BIN:-}" ]; then
  shardline="$SHARDLINE_BIN"
else
  (cd "$root" && swift build --product shardline >&2)
  shardline="$(cd "$root" && swift build --show-bin-path)/shardline"
fi
[ -x "$shardline" ] || die "no sidecar binary at $shardline"

. "$here/lib/workspace.sh"
bench_workspace shardline-keepalive

wait_http() {  # wait_http URL PID NAME: until URL answers 2xx, bounded to 15 s
  for _ in $(seq 1 1500); do
    kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (logs in $run)"
    case "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H 'Host: users' "$1")" in 2*) return 0 ;; esac
    sleep 0.01
  done
  die "$3 did not answer 2xx at $1 within 15 s"
}

for index in 0 1 2; do
  sed -e "s|@RUN@|$run|g" -e "s|@NAME@|shard$index|g" -e "s|@PORT@|${backend_ports[$index]}|g" -e "s|@IDLE@|$IDLE|g" \
    "$here/keepalive/backend.conf" > "$run/shard$index.conf"
  "$NGINX" -p "$run" -c "$run/shard$index.conf" 2>"$run/shard$index.stderr.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:${backend_ports[$index]}/" "$!" "shard$index"
done

cat > "$run/sidecar.yaml" <<YAML
services:
  - name: users
    hosts: [users]
    pattern: '^/users/([^/]*)/'
    endpoints: ["127.0.0.1:${backend_ports[0]}", "127.0.0.1:${backend_ports[1]}", "127.0.0.1:${backend_ports[2]}"]
sidecar:
  listen: 127.0.0.1:$sidecar_port
  admin: 127.0.0.1:$admin_port
  logLevel: warning
  accessLog: true
YAML
"$shardline" sidecar --config "$run/sidecar.yaml" >"$run/sidecar.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$admin_port/readyz" "$!" "the sidecar"

load() {  # load NAME PORT CLIENTS BURSTS PAUSE POST_ONLY
  local result
  result="$(python3 "$here/keepalive/client.py" "$2" "$3" "$4" "$5" "$6")"
  echo "$1 clients=$3 bursts=$4 pause=${5}s post_only=$6: $result"
  python3 -c 'import json,sys; sys.exit(1 if json.loads(sys.argv[1])["failed"] else 0)' "$result"
}

status=0
load sidecar "$sidecar_port" "$CLIENTS" "$BURSTS" "$PAUSE" 0 || status=1
load sidecar "$sidecar_port" 1 40 1 1 || status=1
access_lines="$(grep -c '"request"\|request ' "$run/sidecar.log" || true)"
log "sidecar access-log lines: $access_lines"

if [ "$HAPROXY_ROW" = 1 ]; then
  HAPROXY="$(find_tool haproxy)"; [ -n "$HAPROXY" ] || die "haproxy is needed for HAPROXY_ROW=1"
  cat > "$run/haproxy.cfg" <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    http-reuse safe
frontend users
    bind 127.0.0.1:$haproxy_port
    default_backend shards
backend shards
    balance uri
    server s0 127.0.0.1:${backend_ports[0]}
    server s1 127.0.0.1:${backend_ports[1]}
    server s2 127.0.0.1:${backend_ports[2]}
CFG
  "$HAPROXY" -f "$run/haproxy.cfg" -db >"$run/haproxy.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$haproxy_port/users/probe/x" "$!" "haproxy"
  load haproxy "$haproxy_port" "$CLIENTS" "$BURSTS" "$PAUSE" 0 || true
  load haproxy "$haproxy_port" 1 40 1 1 || true
fi
exit $status
