-- wrk script: GET /users/<key>/profile cycling through KEYS distinct keys (default 100000), so
-- every proxy extracts and hashes a different key on consecutive requests instead of hitting a
-- cache. `done` prints one machine-readable RESULT line that proxy-bench.sh parses.
local keys = tonumber(os.getenv("KEYS") or "100000")
local counter = 0

request = function()
  counter = counter + 1
  if counter > keys then counter = 1 end
  return wrk.format("GET", "/users/key-" .. counter .. "/profile")
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
