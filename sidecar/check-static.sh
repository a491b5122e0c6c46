#!/usr/bin/env bash
# Builds the sidecar exactly as sidecar/Dockerfile does (sidecar/build-static.sh) and checks that
# the binary stands alone, the way it must in the distroless image:
#   1. no Swift runtime, Foundation, Dispatch or ICU library among its dynamic dependencies;
#   2. started with an empty environment and no library path (the toolchain out of reach), it
#      becomes ready, routes a request to a backend, and exits 0 on SIGTERM.
# Needs: swift, python3 (the backend), curl, readelf. Run from anywhere; exit 0 when all hold.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d /tmp/shardline-check-static.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check-static: FAIL: $*" >&2
  for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}

started=$(date +%s)
binary="$(sidecar/build-static.sh | tail -n 1)"
build_seconds=$(( $(date +%s) - started ))
[ -x "$binary" ] || fail "the build did not produce $binary"
size_bytes=$(stat -c %s "$binary")
echo "check-static: built $binary in ${build_seconds}s, $(( size_bytes / 1024 / 1024 )) MiB"

# 1. Dynamic dependencies: the ELF NEEDED entries are what the loader must find at run time.
needed="$(readelf -d "$binary" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }')"
echo "check-static: dynamic dependencies: $(echo $needed)"
if echo "$needed" | grep -Eiq 'swift|foundation|dispatch|blocksruntime|icu|xctest'; then
  fail "the binary still needs a Swift toolchain library: $(echo "$needed" | grep -Ei 'swift|foundation|dispatch|blocksruntime|icu|xctest' | tr '\n' ' ')"
fi
if ldd "$binary" | grep -Eiq 'libswift|foundation|libdispatch|/opt/swift|not found'; then
  fail "ldd resolves toolchain libraries or misses some: $(ldd "$binary")"
fi

# 2. Start it with the toolchain off the library path and route one request through it.
read -r backend_port proxy_port admin_port < <(python3 - <<'PY'
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
PY
)
mkdir -p "$work/www/users/alice"
printf 'profile of alice\n' > "$work/www/users/alice/profile"
python3 -m http.server "$backend_port" --bind 127.0.0.1 --directory "$work/www" > "$work/backend.log" 2>&1 &
pids+=($!)
cat > "$work/config.yaml" <<YAML
services:
  - name: users
    hosts: [users]
    pattern: '^/users/([^/]*)/'
    endpoints: ["127.0.0.1:$backend_port"]
YAML

launched=$(date +%s%N)
env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= "$binary" sidecar --config "$work/config.yaml" \
  --listen "127.0.0.1:$proxy_port" --admin "127.0.0.1:$admin_port" > "$work/sidecar.log" 2>&1 &
sidecar_pid=$!
pids+=("$sidecar_pid")

ready=""
for _ in $(seq 1 1500); do
  kill -0 "$sidecar_pid" 2>/dev/null || fail "the sidecar exited during start-up"
  if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$admin_port/readyz")" = "200" ]; then
    ready=$(( ($(date +%s%N) - launched) / 1000000 ))
    break
  fi
  sleep 0.01
done
[ -n "$ready" ] || fail "/readyz did not answer 200 within 15s"
echo "check-static: /readyz 200 after ${ready} ms (process start to first 200, curl polling every 10 ms)"

for _ in $(seq 1 500); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$backend_port/" && break
  sleep 0.01
done
body="$(curl -sS --max-time 5 -H 'Host: users' "http://127.0.0.1:$proxy_port/users/alice/profile")" \
  || fail "the request through the sidecar failed"
[ "$body" = "profile of alice" ] || fail "unexpected body through the sidecar: '$body'"
echo "check-static: GET /users/alice/profile through the sidecar -> backend: ok"

kill -TERM "$sidecar_pid"
status=""
for _ in $(seq 1 300); do
  if ! kill -0 "$sidecar_pid" 2>/dev/null; then
    wait "$sidecar_pid" && status=0 || status=$?
    break
  fi
  sleep 0.1
done
[ -n "$status" ] || fail "the sidecar did not exit within 30s of SIGTERM"
[ "$status" = "0" ] || fail "the sidecar exited with status $status after SIGTERM (expected 0)"
grep -q '"msg":"ready"' "$work/sidecar.log" || fail "no JSON 'ready' log line"
echo "check-static: SIGTERM -> exit 0"
echo "check-static: ok (build ${build_seconds}s, binary $(( size_bytes / 1024 / 1024 )) MiB, ready in ${ready} ms)"
