#!/usr/bin/env bash
# Builds the image's two binaries exactly as sidecar/Dockerfile does (sidecar/build-static.sh) and
# checks that they stand alone, the way they must in the distroless image:
#   0. the sidecar binary is a fixed-address executable (build-static.sh's link flags took);
#   1. no Swift runtime, Foundation, Dispatch or ICU library among either's dynamic dependencies;
#   2. started with an empty environment and no library path (the toolchain out of reach), the
#      sidecar binary (`shardline-sidecar`, what the injected container runs) becomes ready,
#      routes a request to a backend, and exits 0 on SIGTERM; the full CLI (`shardline`)
#      validates the same config there. The sidecar's idle RSS is printed (not a gate).
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
mib() { echo "$(( $1 / 1024 / 1024 ))"; }

started=$(date +%s)
built="$(sidecar/build-static.sh | tail -n 2)"
build_seconds=$(( $(date +%s) - started ))
cli="$(echo "$built" | head -n 1)"
binary="$(echo "$built" | tail -n 1)"
for file in "$cli" "$binary"; do
  [ -x "$file" ] || fail "the build did not produce $file"
done
case "$binary" in */shardline-sidecar) ;; *) fail "build-static.sh's last line is not the sidecar binary: $binary" ;; esac
size_bytes=$(stat -c %s "$binary")
cli_size_bytes=$(stat -c %s "$cli")
echo "check-static: built $binary ($(mib "$size_bytes") MiB) and $cli ($(mib "$cli_size_bytes") MiB) in ${build_seconds}s"

# The sidecar is linked at a fixed address with its text 64 KiB above 0x400000 (build-static.sh
# says why); a PIE here means the link flags were lost.
elf_type="$(readelf -h "$binary" | awk '/Type:/ { print $2 }')"
[ "$elf_type" = EXEC ] || fail "$binary is $elf_type, not a fixed-address executable (EXEC)"
first_load="$(readelf -lW "$binary" | awk '$1 == "LOAD" { print $3; exit }')"
[ "$first_load" = 0x0000000000410000 ] || fail "$binary's first segment is at $first_load, not 0x410000"
echo "check-static: $(basename "$binary") is a fixed-address executable, text segment at 0x410000"

# 1. Dynamic dependencies: the ELF NEEDED entries are what the loader must find at run time.
for file in "$binary" "$cli"; do
  needed="$(readelf -d "$file" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }')"
  echo "check-static: $(basename "$file") dynamic dependencies: $(echo $needed)"
  if echo "$needed" | grep -Eiq 'swift|foundation|dispatch|blocksruntime|icu|xctest'; then
    fail "$file still needs a Swift toolchain library: $(echo "$needed" | grep -Ei 'swift|foundation|dispatch|blocksruntime|icu|xctest' | tr '\n' ' ')"
  fi
  if ldd "$file" | grep -Eiq 'libswift|foundation|libdispatch|/opt/swift|not found'; then
    fail "ldd resolves toolchain libraries or misses some for $file: $(ldd "$file")"
  fi
done

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
env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= "$binary" --config "$work/config.yaml" \
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
# Resident memory once ready: all of it, the anonymous part, and the rest (pages of the binary
# and of libc/libstdc++). Printed for the record; the README's figures come from this line.
rss_kib=$(awk '/^Rss:/ { print $2 }' "/proc/$sidecar_pid/smaps_rollup")
anon_kib=$(awk '/^Anonymous:/ { print $2 }' "/proc/$sidecar_pid/smaps_rollup")
echo "check-static: idle RSS $(( rss_kib / 1024 )).$(( rss_kib % 1024 * 10 / 1024 )) MiB (anonymous $(( anon_kib / 1024 )).$(( anon_kib % 1024 * 10 / 1024 )) MiB, file-backed $(( (rss_kib - anon_kib) / 1024 )).$(( (rss_kib - anon_kib) % 1024 * 10 / 1024 )) MiB)"

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

env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH= "$cli" validate "$work/config.yaml" > "$work/validate.log" 2>&1 \
  || fail "$cli validate failed without the toolchain"
echo "check-static: $(basename "$cli") validate, without the toolchain: ok"
echo "check-static: ok (build ${build_seconds}s, shardline-sidecar $(mib "$size_bytes") MiB, shardline $(mib "$cli_size_bytes") MiB, ready in ${ready} ms)"
