"""Keep-alive clients for keepalive-churn.sh: CLIENTS threads, each on one keep-alive connection
(reopened only after a failure), sending BURSTS bursts of GET and POST (bodies up to 2 KB) with a
pause of about PAUSE seconds between bursts, so the shards' idle timeout passes while the proxy
holds their connections. Prints one JSON object: requests, ok, failures by kind, and examples."""
import http.client, json, random, sys, threading, time

port, clients, bursts, pause, post_only = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
lock = threading.Lock()
totals = {"requests": 0, "ok": 0, "failures": {}, "examples": []}


def record(kind, detail=None):
    with lock:
        totals["requests"] += 1
        if kind == "ok":
            totals["ok"] += 1
            return
        totals["failures"][kind] = totals["failures"].get(kind, 0) + 1
        if detail and len(totals["examples"]) < 8:
            totals["examples"].append(f"{kind}: {detail}")


def run(index):
    rng = random.Random(index)
    connection = None
    for burst in range(bursts):
        for n in range(rng.randint(5, 25)):
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            key = f"k{index}-{burst}-{n}"
            post = post_only or rng.random() < 0.5
            body = b"x" * rng.randint(1, 2048) if post else None
            try:
                connection.request("POST" if post else "GET", f"/users/{key}/item", body=body, headers={"Host": "users"})
                response = connection.getresponse()
                payload = response.read()
                if 200 <= response.status < 300:
                    record("ok")
                else:
                    record(f"http_{response.status}", payload[:160].decode(errors="replace"))
                if response.will_close:
                    connection.close()
                    connection = None
            except Exception as error:  # the connection broke under the request: no response at all
                record(f"no_response:{type(error).__name__}", f"{'POST' if post else 'GET'} {error}")
                connection.close()
                connection = None
        time.sleep(pause + rng.uniform(-0.15, 0.15))


threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
totals["failed"] = totals["requests"] - totals["ok"]
print(json.dumps(totals))
