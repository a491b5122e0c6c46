# shellcheck shell=bash
# The simulated Kubernetes cluster shared by the end-to-end scripts (dns-restart.sh,
# resharding.sh): pods are network namespaces on a Linux bridge, the cluster DNS is dnsmasq on the
# bridge address, and everything a script starts or creates is recorded and removed by one trap.
# /work/shared/reference/simulated-cluster.md (and the comments below) say why each step is so.
#
# Use, from a script running under `set -euo pipefail`:
#   SLT_NAME=my-test; . "$(dirname "$0")/lib/cluster.sh"
#   cluster_reset_signals "$@"            # first: re-execs the script with default signal handling
#   cluster_init SHARDLINE_BINARY SUBNET_PREFIX TAG_PREFIX
#   cluster_bridge_up
#   add_pod NAMESPACE IP ...; cluster_write_hosts "IP NAME" ...; cluster_start_dns CHECK_NS CHECK_NAME
# Afterwards: $BIN, $WORK, $NET, $BR_IP, $TAG, $DNSMASQ_PID; PIDS+=(pid) for every background
# process; stop_pid, forget_pid, remove_pod, wait_for, log, fail.

log() { printf '[%s %s] %s\n' "${SLT_NAME:-cluster}" "$(date +%H:%M:%S.%3N)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# A test runner may start the script with signals blocked or ignored (`swift test` blocks almost
# all), and every process started from it would inherit that: dnsmasq would never see its SIGHUP,
# nor a pod its SIGTERM. Start the script over once with default handlers and nothing blocked.
cluster_reset_signals() {
  [ -n "${SLT_SIGNALS_RESET:-}" ] && return 0
  exec env SLT_SIGNALS_RESET=1 python3 -c '
import os, signal, sys
for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
    signal.signal(s, signal.SIG_DFL)
signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
}

# cluster_init BINARY SUBNET_PREFIX TAG_PREFIX: checks the prerequisites and sets up the run's
# names and the cleanup trap. SUBNET_PREFIX is the first two octets (198.18 or 198.19: inside the
# reserved test range 198.18.0.0/15, so nothing leaves the bridge); the third comes from the pid,
# so two scripts (or two runs) at once get different subnets and interface names.
cluster_init() {
  export PATH="$PATH:/usr/sbin:/sbin"
  BIN=$1
  local prefix=$2 tag_prefix=$3
  [ -n "$BIN" ] || fail "usage: $0 SHARDLINE_BINARY (or set SHARDLINE_BIN)"
  [ -x "$BIN" ] || fail "shardline binary '$BIN' is not executable"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
  [ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, a bridge, dnsmasq on port 53)"
  DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
  [ -x "$DNSMASQ" ] || fail "dnsmasq not found (apt-get install dnsmasq-base)"
  local tool
  for tool in ip python3 curl; do command -v "$tool" >/dev/null || fail "$tool not found"; done
  grep -q "^SigBlk:[[:space:]]*0*$" /proc/self/status || fail "children would start with signals blocked: $(grep SigBlk /proc/self/status)"

  N=$(( $$ % 250 + 1 ))
  TAG=$tag_prefix$(printf '%03d' "$N")   # interface names must stay within 15 characters
  NET=$prefix.$N
  BR=$TAG-br
  BR_IP=$NET.1
  DOMAIN=${DOMAIN:-users.default.svc.cluster.local}
  WORK=$(mktemp -d "/tmp/${SLT_NAME:-cluster}.XXXXXX")
  chmod 755 "$WORK"                     # dnsmasq re-reads the hosts file after dropping root
  PIDS=()          # every background process, for the cleanup
  NAMESPACES=()    # every namespace created
  LINKS=()         # every host-side link created (bridge first, deleted last)
  DNSMASQ_PID=
  VETH_SEQ=0
  trap cluster_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

stop_pid() {     # TERM, up to 2 s, then KILL; always reaps
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

forget_pid() {   # a reaped pid may be reused: the cleanup must not signal it
  local keep=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

dump_logs() {
  local f
  for f in "$WORK"/*.log; do
    [ -s "$f" ] || continue
    echo "----- $(basename "$f") (last ${SLT_LOG_LINES:-40} lines) -----"
    tail -n "${SLT_LOG_LINES:-40}" "$f"
  done
}

cluster_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  if [ "$status" -ne 0 ]; then log "exit status $status; logs follow"; dump_logs; fi
  local pid ns i
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for ns in "${NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  for (( i=${#LINKS[@]}-1; i>=0; i-- )); do ip link del "${LINKS[i]}" 2>/dev/null; done
  if [ -n "${SLT_KEEP_WORK:-}" ]; then log "work folder kept: $WORK"; else rm -rf "$WORK"; fi
  log "cleaned up (namespaces ${NAMESPACES[*]:-none}, links ${LINKS[*]:-none})"
  exit "$status"
}

wait_for() {     # wait_for DESCRIPTION SECONDS CMD...: CMD every 50 ms until it succeeds
  local what=$1 limit=$2; shift 2
  local deadline=$(( ${EPOCHREALTIME/./} + limit * 1000000 ))
  for _ in $(seq 1 1000); do
    "$@" >/dev/null 2>&1 && return 0
    [ "${EPOCHREALTIME/./}" -lt "$deadline" ] || break
    sleep 0.05
  done
  fail "$what: not ready within $limit s"
}

cluster_bridge_up() {
  log "bridge $BR $BR_IP/24 (tag $TAG)"
  ip link add "$BR" type bridge
  LINKS+=("$BR")
  # A fixed MAC: adding a veth later (a restarted or new pod) must not change the bridge's MAC,
  # or the pods' ARP entries for the DNS server go stale and lookups stall.
  ip link set "$BR" address "02:53:4c:54:$(printf '%02x' $(( N / 256 ))):$(printf '%02x' $(( N % 256 )))"
  ip addr add "$BR_IP/24" dev "$BR"
  ip link set "$BR" up
}

add_pod() {      # add_pod NAMESPACE IP: a namespace on the bridge whose resolver is the cluster DNS
  local ns=$1 addr=$2 host=$TAG-h$VETH_SEQ peer=$TAG-p$VETH_SEQ
  VETH_SEQ=$((VETH_SEQ + 1))
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  ip link add "$host" type veth peer name "$peer"
  LINKS+=("$host")
  ip link set "$peer" netns "$ns"
  ip link set "$host" master "$BR"
  ip link set "$host" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$peer" name eth0
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$BR_IP" >"/etc/netns/$ns/resolv.conf"
}

remove_pod() {   # remove_pod NAMESPACE: its IP vanishes (connects to it time out, as for a dead pod)
  ip netns del "$1"
  rm -rf "/etc/netns/$1"
}

cluster_write_hosts() {   # cluster_write_hosts "IP NAME" ...: the DNS records, replaced at once
  local tmp=$WORK/hosts.tmp line
  : >"$tmp"
  for line in "$@"; do echo "$line" >>"$tmp"; done
  chmod 644 "$tmp"
  mv "$tmp" "$WORK/hosts"
}

cluster_reload_dns() {    # after cluster_write_hosts: dnsmasq re-reads the hosts file (if it runs yet)
  [ -z "$DNSMASQ_PID" ] || kill -HUP "$DNSMASQ_PID"
}

# cluster_start_dns CHECK_NS CHECK_NAME: dnsmasq answers from $WORK/hosts (TTL 1 s) on the bridge
# address; waits until CHECK_NAME resolves from inside CHECK_NS.
cluster_start_dns() {
  local check_ns=$1 check_name=$2
  "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --local=/cluster.local/ \
    --addn-hosts="$WORK/hosts" --listen-address="$BR_IP" --bind-interfaces --port=53 --local-ttl=1 \
    --pid-file= --log-queries --log-facility="$WORK/dnsmasq.log" &
  DNSMASQ_PID=$!
  PIDS+=("$DNSMASQ_PID")
  wait_for "dnsmasq on $BR_IP:53" 5 ip netns exec "$check_ns" getent ahostsv4 "$check_name"
}
