# Sourced by the Benchmarks/ scripts: a temporary run folder, the processes started into it, and
# their clean-up on any exit. After `bench_workspace PREFIX`, `$run` is the folder (world-readable:
# nginx workers run as an unprivileged user and create their temp dirs there) and every pid added
# to `pids` is stopped (TERM, then KILL after 5 s) when the script ends.

bench_workspace() {  # bench_workspace PREFIX
  run="$(mktemp -d "/tmp/$1.XXXXXX")"
  chmod 755 "$run"
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$run"
}

render() {  # render TEMPLATE OUTPUT KEY=VALUE...: @RUN@ and @KEY@ replaced
  local template="$1" output="$2"; shift 2
  local script=(-e "s|@RUN@|$run|g")
  for pair in "$@"; do script+=(-e "s|@${pair%%=*}@|${pair#*=}|g"); done
  sed "${script[@]}" "$template" > "$output"
}
