#!/usr/bin/env bash
# The sidecar's resident memory, idle and holding open connections, and where it is: the figures
# behind issue 18's memory target (20 MiB idle, 64 MiB with 256 connections).
#
# Starts the given binary on Benchmarks/proxy/sidecar.yaml (three local Python backends), waits
# for /readyz, lets it settle, and reads /proc/PID/smaps_rollup (Rss, split into anonymous and
# file-backed pages) and /proc/PID/smaps (the resident pages of each of the binary's own
# segments: its code, read-only data and data). Then a Python client opens CONNECTIONS keep-alive
# connections to the proxy listener, sends one request on each, reads the answer and holds them
# all open while the same figures are read again.
#
# Usage: Benchmarks/sidecar-rss.sh BINARY [SUBCOMMAND]
#   Benchmarks/sidecar-rss.sh .build-static/shardline-sidecar
#   Benchmarks/sidecar-rss.sh .build-static/shardline sidecar
# Environment: CONNECTIONS (256), THREADS (event loop threads, 1), BASE_PORT (24100).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "${1:?usage: Benchmarks/sidecar-rss.sh BINARY [SUBCOMMAND]}")"
subcommand=("${@:2}")
connections="${CONNECTIONS:-256}"
threads="${THREADS:-1}"
base="${BASE_PORT:-24100}"
proxy_port=$base admin_port=$((base + 1)) b0=$((base + 2)) b1=$((base + 3)) b2=$((base + 4))

. Benchmarks/lib/workspace.sh
bench_workspace shardline-rss

python3 - "$b0" "$b1" "$b2" > "$run/backends.log" 2>&1 <<'PY' &
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
servers = [ThreadingHTTPServer(("127.0.0.1", int(port)), Handler) for port in sys.argv[1:]]
for server in servers[1:]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
servers[0].serve_forever()
PY
pids+=($!)

sed -e "s/@PORT@/$proxy_port/; s/@ADMIN@/$admin_port/; s/@B0@/$b0/; s/@B1@/$b1/; s/@B2@/$b2/" \
  Benchmarks/proxy/sidecar.yaml > "$run/sidecar.yaml"
"$binary" "${subcommand[@]}" --config "$run/sidecar.yaml" --threads "$threads" > "$run/sidecar.log" 2>&1 &
sidecar_pid=$!
pids+=("$sidecar_pid")

deadline=$(( $(date +%s) + 20 ))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$admin_port/readyz")" = "200" ]; do
  kill -0 "$sidecar_pid" 2>/dev/null || { cat "$run/sidecar.log" >&2; echo "sidecar-rss: the sidecar exited" >&2; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { echo "sidecar-rss: not ready within 20 s" >&2; exit 1; }
  sleep 0.05
done

# Prints RSS, anonymous, file-backed, and the binary's resident segments, in MiB.
report() {
  local label="$1"
  python3 - "$sidecar_pid" "$binary" "$label" <<'PY'
import sys
pid, binary, label = sys.argv[1], sys.argv[2], sys.argv[3]
rollup = {}
for line in open(f"/proc/{pid}/smaps_rollup"):
    parts = line.split()
    if len(parts) >= 3 and parts[-1] == "kB":
        rollup[parts[0].rstrip(":")] = int(parts[1])
segments, mapping = {}, None
for line in open(f"/proc/{pid}/smaps"):
    fields = line.split()
    if "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
        path = fields[5] if len(fields) > 5 else ""
        mapping = fields[1] if path == binary else None
        if mapping is None and path:
            mapping = "libs" if path.startswith("/") and ".so" in path else None
        continue
    if mapping and fields[0] == "Rss:":
        segments[mapping] = segments.get(mapping, 0) + int(fields[1])
mib = lambda kb: f"{kb / 1024:.1f}"
rss, anon = rollup["Rss"], rollup["Anonymous"]
print(f"{label}: RSS {mib(rss)} MiB (anonymous {mib(anon)}, file-backed {mib(rss - anon)}); "
      f"binary's code (r-xp) {mib(segments.get('r-xp', 0))}, read-only data (r--p) {mib(segments.get('r--p', 0))}, "
      f"data (rw-p) {mib(segments.get('rw-p', 0))}; shared libraries {mib(segments.get('libs', 0))}")
PY
}

sleep 2   # let start-up's transient work (config load, first metrics) finish before reading
echo "sidecar-rss: $binary ${subcommand[*]} ($(( $(stat -c %s "$binary") / 1024 / 1024 )) MiB), $threads event loop thread(s)"
report "idle"

python3 - "$proxy_port" "$connections" "$run/held" > "$run/client.log" 2>&1 <<'PY' &
import socket, sys, time
port, count, marker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
held = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /users/k{i}/x HTTP/1.1\r\nHost: users\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += s.recv(4096)
    held.append(s)
open(marker, "w").write(str(len(held)))
time.sleep(60)   # held open until killed (bounded)
PY
client_pid=$!
pids+=("$client_pid")
deadline=$(( $(date +%s) + 60 ))
until [ -s "$run/held" ]; do
  kill -0 "$client_pid" 2>/dev/null || { cat "$run/client.log" >&2; echo "sidecar-rss: the client failed" >&2; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { echo "sidecar-rss: $connections connections not open within 60 s" >&2; exit 1; }
  sleep 0.05
done
sleep 1
report "$(cat "$run/held") open connections"
awk '/^VmHWM/ { printf "peak (VmHWM): %.1f MiB\n", $2 / 1024 }' "/proc/$sidecar_pid/status"
