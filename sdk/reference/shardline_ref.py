#!/usr/bin/env python3
"""Shardline routing, reimplemented from sdk/SPEC.md alone, in plain Python.

This is the second implementation that keeps the spec honest: `sdk/vectors/routing.json` is
computed here (written by generate_vectors.py) and checked here (`--check`: every vector, every
refused config, the placement section), and the Swift core must reproduce every vector
(Tests/ShardlineCoreTests/VectorTests.swift). Where the two disagree, one of them does not follow
the spec.

Patterns: this reference uses Python's `re` for the pattern subset the routing vectors use
(literals, classes, groups, greedy quantifiers, anchors), on the path decoded as UTF-8 with
`surrogateescape`, converting character offsets back to byte offsets. It is not a full RE2
implementation; the pattern language is pinned by sdk/vectors/patterns.json, generated from Go's
own regexp (pattern_conformance.go).

Needs: PyYAML, xxhash (pip install xxhash).
"""
import bisect
import json
import re
import struct
import sys
import zlib

import xxhash
import yaml

MASK64 = (1 << 64) - 1


class ConfigError(Exception):
    """A config the spec refuses; `field` is the path of the offending field (services[0].onMiss.shard)."""
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


class RouteError(Exception):
    def __init__(self, code, status):
        super().__init__(code)
        self.code = code
        self.status = status


# §2 The request target ------------------------------------------------------------------------

def parse_target(target: bytes):
    """Returns (authority or None, path, query)."""
    start = 0
    authority = None
    if target.startswith(b"/"):
        pass
    else:
        lowered = target[:8].lower()
        if lowered.startswith(b"http://"):
            scheme = 7
        elif lowered.startswith(b"https://"):
            scheme = 8
        else:
            raise RouteError("invalid_target", 400)
        end = scheme
        while end < len(target) and target[end:end + 1] not in (b"/", b"?", b"#"):
            end += 1
        auth = target[scheme:end]
        if b"@" in auth:
            auth = auth[auth.rindex(b"@") + 1:]
        if not auth:
            raise RouteError("invalid_target", 400)
        authority = auth
        start = end
    rest = target[start:]
    rest = rest.split(b"#", 1)[0]
    if b"?" in rest:
        path, query = rest.split(b"?", 1)
        limited = len(path) + 1 + len(query)
    else:
        path, query = rest, b""
        limited = len(path)
    if authority is not None and path == b"":
        path = b"/"
        limited += 1
    return authority, path, query, limited


# §3 Service selection --------------------------------------------------------------------------

def host_name(host: bytes) -> bytes:
    if host.startswith(b"["):
        close = host.find(b"]")
        if close >= 0:
            host = host[:close + 1]
    else:
        colon = host.rfind(b":")
        if colon >= 0 and all(48 <= c <= 57 for c in host[colon + 1:]):
            host = host[:colon]
    if len(host) > 1 and host.endswith(b"."):
        host = host[:-1]
    return host.lower()


# §6 Percent-decoding ---------------------------------------------------------------------------

HEX = b"0123456789abcdefABCDEF"


def percent_decode(data: bytes, plus_is_space=False) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x25:
            h, l = data[i + 1:i + 2], data[i + 2:i + 3]
            if len(h) == 0 or len(l) == 0 or h not in HEX or l not in HEX:
                raise RouteError("invalid_key_encoding", 400)
            out.append(int((h + l).decode(), 16))
            i += 3
        else:
            out.append(0x20 if plus_is_space and c == 0x2B else c)
            i += 1
    return bytes(out)


# §5 Patterns (see module doc) ------------------------------------------------------------------

def compile_pattern(source: str):
    return re.compile(source.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!"))


def first_group(regex, path: bytes):
    text = path.decode("utf-8", "surrogateescape")
    m = regex.search(text)
    if m is None:
        return None
    if m.start(1) < 0:
        return b""
    start = len(text[:m.start(1)].encode("utf-8", "surrogateescape"))
    end = start + len(m.group(1).encode("utf-8", "surrogateescape"))
    return path[start:end]


# §7 and §8 Hashing and placement ---------------------------------------------------------------

PLACEMENT_IMPLEMENTATIONS = {}


def placement(name):
    def register(function):
        PLACEMENT_IMPLEMENTATIONS[name] = function
        return function
    return register


def xxh64(data: bytes, seed=0) -> int:
    return xxhash.xxh64_intdigest(data, seed)


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


# Algorithms: SPEC.md §8, reimplemented from the text.
M64 = MASK64

# --- SplitMix64 --------------------------------------------------------------------------------
GAMMA = 0x9E3779B97F4A7C15


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


# --- jump ------------------------------------------------------------------------------------------
def jump(key: int, buckets: int) -> int:
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & M64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))  # IEEE double, truncation
    return b


# --- modulo ----------------------------------------------------------------------------------------
def modulo(h: int, n: int) -> int:
    return h % n


# --- rendezvous ------------------------------------------------------------------------------------
def rendezvous(h: int, n: int) -> int:
    best, best_score = 0, -1
    for i in range(n):
        salt = mix(((i + 1) * GAMMA) & M64)
        score = mix(h ^ salt)
        if score > best_score:
            best, best_score = i, score
    return best


# --- ring ------------------------------------------------------------------------------------------
_ring_cache = {}


def ring_points(n: int):
    if n not in _ring_cache:
        pts = sorted((xxh64(f"{i}-{j}".encode()), i) for i in range(n) for j in range(160))
        hashes, owners = [], []
        for h, o in pts:
            if hashes and hashes[-1] == h:
                continue
            hashes.append(h)
            owners.append(o)
        _ring_cache[n] = (hashes, owners)
    return _ring_cache[n]


def ring(h: int, n: int) -> int:
    hashes, owners = ring_points(n)
    k = bisect.bisect_left(hashes, h)
    return owners[k % len(hashes)]


# --- maglev ----------------------------------------------------------------------------------------
MAGLEV_M = 65537
_maglev_cache = {}


def maglev_table(n: int):
    if n not in _maglev_cache:
        offset = [xxh64(str(i).encode(), 0) % MAGLEV_M for i in range(n)]
        skip = [xxh64(str(i).encode(), 1) % (MAGLEV_M - 1) + 1 for i in range(n)]
        nxt = [0] * n
        entry = [-1] * MAGLEV_M
        filled = 0
        while filled < MAGLEV_M:
            for i in range(n):
                c = (offset[i] + nxt[i] * skip[i]) % MAGLEV_M
                while entry[c] >= 0:
                    nxt[i] += 1
                    c = (offset[i] + nxt[i] * skip[i]) % MAGLEV_M
                entry[c] = i
                nxt[i] += 1
                filled += 1
                if filled == MAGLEV_M:
                    break
        _maglev_cache[n] = entry
    return _maglev_cache[n]


def maglev(h: int, n: int) -> int:
    return maglev_table(n)[h % MAGLEV_M]


# --- nginx-ketama ----------------------------------------------------------------------------------
def nginx_split(server: bytes):
    if len(server) >= 5 and server[:5].lower() == b"unix:":
        return server[5:], b""
    for j in range(len(server)):
        c = server[len(server) - j - 1]
        if c == ord(":"):
            return server[: len(server) - j - 1], server[len(server) - j:]
        if c < ord("0") or c > ord("9"):
            break
    return server, b""


def nginx_points(servers):
    pts = []
    first = {}
    for ordinal, s in enumerate(servers):
        owner = first.setdefault(s, ordinal)
        host, port = nginx_split(s.encode())
        base = host + b"\0" + port
        prev = 0
        for _ in range(160):
            h = crc32(base + prev.to_bytes(4, "little"))
            pts.append((h, owner))
            prev = h
    pts.sort()  # by hash, then owner: the stable order glibc's merge sort gives nginx
    hashes, owners = [], []
    for h, o in pts:
        if hashes and hashes[-1] == h:
            continue
        hashes.append(h)
        owners.append(o)
    return hashes, owners


def nginx_ketama(h: int, servers) -> int:
    hashes, owners = nginx_points(servers)
    k = bisect.bisect_left(hashes, h)
    return owners[k % len(hashes)]



# The placements a service uses, built from its server strings (only nginx-ketama reads them).
@placement("jump")
def _jump_placement(servers):
    return lambda h: jump(h, len(servers))


@placement("modulo")
def _modulo_placement(servers):
    return lambda h: modulo(h, len(servers))


@placement("rendezvous")
def _rendezvous_placement(servers):
    return lambda h: rendezvous(h, len(servers))


@placement("ring")
def _ring_placement(servers):
    return lambda h: ring(h, len(servers))


@placement("maglev")
def _maglev_placement(servers):
    return lambda h: maglev(h, len(servers))


@placement("nginx-ketama")
def _nginx_placement(servers):
    return lambda h: nginx_ketama(h & 0xFFFFFFFF, servers)


# §9 Addresses and the service model ------------------------------------------------------------

class Service:
    def __init__(self, spec):
        self.name = spec["name"]
        self.hosts = [h.encode().lower() for h in spec.get("hosts", [])]
        self.listen_port = spec.get("listenPort")
        self.pattern = spec.get("pattern")
        self.regex = compile_pattern(self.pattern) if self.pattern is not None else None
        self.key_header = spec.get("keyHeader")
        self.key_query = spec.get("keyQuery")
        self.on_miss = spec.get("onMiss", "hashPath")
        self.algorithm = spec.get("algorithm", "jump")
        self.max_path = spec.get("maxPathBytes", 8192)
        if "endpoints" in spec:
            self.addresses = list(spec["endpoints"])
        else:
            ns = spec.get("namespace", "default")
            domain = spec.get("clusterDomain", "cluster.local")
            self.addresses = [
                f"{spec['statefulSet']}-{i}.{spec['service']}.{ns}.svc.{domain}:{spec['port']}"
                for i in range(spec["replicas"])
            ]
        self.place = PLACEMENT_IMPLEMENTATIONS[self.algorithm](self.addresses)
        self.spec = spec
        self.previous = None
        previous = spec.get("previous")
        if previous is not None:
            # §11.3: only the algorithm and the shards can differ; a StatefulSet keeps its names.
            algorithm = previous.get("algorithm", self.algorithm)
            if "endpoints" in spec:
                addresses = list(previous.get("endpoints", spec["endpoints"]))
            else:
                ns = spec.get("namespace", "default")
                domain = spec.get("clusterDomain", "cluster.local")
                replicas = previous.get("replicas", spec["replicas"])
                addresses = [f"{spec['statefulSet']}-{i}.{spec['service']}.{ns}.svc.{domain}:{spec['port']}"
                             for i in range(replicas)]
            self.previous = (algorithm, PLACEMENT_IMPLEMENTATIONS[algorithm](addresses), addresses)

    def key_hash(self, key: bytes) -> int:
        return crc32(key) if self.algorithm == "nginx-ketama" else xxh64(key)


def route(services, host, target: bytes, headers=None, listener_port=None, default_service=None):
    authority, path, query, limited = parse_target(target)
    chosen = None
    for service in services:
        if listener_port is not None and service.listen_port == listener_port:
            chosen = service
    if chosen is None:
        wanted = authority if authority is not None else (host.encode() if host is not None else None)
        if wanted is not None:
            name = host_name(wanted)
            chosen = next((s for s in services if name in s.hosts), None)
        elif default_service is not None:
            chosen = next(s for s in services if s.name == default_service)
    if chosen is None:
        raise RouteError("unknown_service", 404)
    s = chosen
    if limited > s.max_path:
        raise RouteError("path_too_long", 414)
    key, origin = None, "extracted"
    if s.regex is not None:
        group = first_group(s.regex, path)
        if group:
            key = percent_decode(group)
    elif s.key_header is not None:
        for name, value in headers or []:
            if name.lower() == s.key_header.lower():
                value = value.strip(" \t").encode()
                key = value or None
                break
    else:
        for part in query.split(b"&") if query else []:
            name, _, value = part.partition(b"=")
            try:
                decoded_name = percent_decode(name, True)
            except RouteError:
                continue  # a name with a malformed escape names no parameter (§4): skip the part
            if decoded_name == s.key_query.encode():
                decoded = percent_decode(value, True)
                key = decoded or None
                break
    if key is None:
        if s.on_miss == "reject":
            raise RouteError("no_shard_key", 400)
        if isinstance(s.on_miss, dict):
            shard = s.on_miss["shard"]
            return dict(service=s.name, key=None, key_hex=None, origin="fixedShard", hash=None,
                        shard=shard, address=s.addresses[shard])
        key, origin = percent_decode(path), "path"
    h = s.key_hash(key)
    shard = s.place(h)
    return dict(service=s.name, key=utf8_text(key), key_hex=key.hex(), origin=origin,
                hash=f"0x{h:016x}", shard=shard, address=s.addresses[shard])


# §11 The shard-side protocol: fingerprint and previous owner ------------------------------------

def canonical_topology(service) -> bytes:
    """§11.2: `name=<byte length>:<value>\n` lines in a fixed order."""
    spec = service.spec

    def field(name, value):
        data = value.encode("utf-8")
        return name.encode() + b"=" + str(len(data)).encode() + b":" + data + b"\n"

    out = field("fingerprint", "1")
    if "pattern" in spec:
        out += field("pattern", spec["pattern"])
    elif "keyHeader" in spec:
        out += field("keyHeader", spec["keyHeader"].lower())
    else:
        out += field("keyQuery", spec["keyQuery"])
    on_miss = spec.get("onMiss", "hashPath")
    out += field("onMiss", f"shard:{on_miss['shard']}" if isinstance(on_miss, dict) else on_miss)
    out += field("algorithm", service.algorithm)
    out += field("shards", str(len(service.addresses)))
    if service.algorithm == "nginx-ketama" or "endpoints" in spec:
        for address in service.addresses:
            out += field("server", address)
    return out


def fingerprint(service) -> str:
    return f"{xxh64(canonical_topology(service)):016x}"


def ownership(services, vector):
    """§11.3: the current owner, the previous owner and the headers a client adds to the request."""
    result = evaluate(vector, services)
    if "error" in result:
        return result
    service = next(s for s in services if s.name == result["service"])
    previous = None
    if service.previous is not None and result["origin"] != "fixedShard":
        algorithm, place, addresses = service.previous
        key = bytes.fromhex(result["key_hex"])
        shard = place(crc32(key) if algorithm == "nginx-ketama" else xxh64(key))
        if shard != result["shard"]:
            previous = {"ordinal": shard, "address": addresses[shard]}
    headers = [["x-shardline-topology", fingerprint(service)]]
    if previous is not None:
        headers += [["x-shardline-previous-shard", str(previous["ordinal"])],
                    ["x-shardline-previous-address", previous["address"]]]
    return {"service": service.name, "shard": result["shard"], "previous": previous, "headers": headers}


def fingerprint_section(configs):
    """One entry per service of every config: its canonical bytes (as text) and fingerprint."""
    entries = []
    for name, text in configs.items():
        for service in load_services(text):
            entries.append({"config": name, "service": service.name,
                            "canonical": canonical_topology(service).decode("utf-8"),
                            "fingerprint": fingerprint(service)})
    return entries


def utf8_text(key: bytes):
    """The key as text for the vectors' `key` field: null when the bytes are not valid UTF-8."""
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def validate(specs):
    """The config rules the vectors exercise (SPEC.md 'Config'); the Swift loader checks more."""
    hosts, ports = {}, {}
    for index, spec in enumerate(specs):
        at = f"services[{index}]"
        service = Service(spec)
        on_miss = spec.get("onMiss", "hashPath")
        if isinstance(on_miss, dict):
            shard = on_miss.get("shard")
            if not isinstance(shard, int) or isinstance(shard, bool) or not 0 <= shard < len(service.addresses):
                raise ConfigError(f"{at}.onMiss.shard", f"shard {shard} does not exist")
        for host in service.hosts:
            if host in hosts:
                raise ConfigError(f"{at}.hosts", f"host {host!r} already belongs to {hosts[host]}")
            hosts[host] = service.name
        if service.listen_port is not None:
            if service.listen_port in ports:
                raise ConfigError(f"{at}.listenPort", f"port {service.listen_port} already belongs to {ports[service.listen_port]}")
            ports[service.listen_port] = service.name


def load_services(config_yaml: str):
    specs = yaml.safe_load(config_yaml)["services"]
    validate(specs)
    return [Service(spec) for spec in specs]


def evaluate(vector, services):
    try:
        return route(services, vector.get("host"), vector["target"].encode("utf-8"),
                     [(name, value) for name, value in vector.get("headers", [])], vector.get("listenerPort"),
                     vector.get("defaultService"))
    except RouteError as error:
        return {"error": error.code, "status": error.status}


def placement_section():
    """The hashing and placement vectors of SPEC.md 8.7, computed here."""
    import gen_placement_vectors as pv

    def h64(value):
        return f"0x{value:016x}"

    def h32(value):
        return f"0x{value:08x}"

    section = {
        "xxh64": [{"input_hex": data.hex(), "seed": h64(seed), "hash": h64(xxh64(data, seed))} for data, seed in pv.XXH_INPUTS],
        "crc32": [{"input_hex": data.hex(), "checksum": h32(crc32(data))} for data in pv.CRC_INPUTS],
        "jump": [{"hash": h64(k), "buckets": n, "shard": jump(k, n)} for k in pv.JUMP_KEYS for n in pv.JUMP_BUCKETS],
        "rendezvousSalts": [h64(mix(((i + 1) * GAMMA) & M64)) for i in range(4)],
        "placements": [],
        "maglevTable": [],
        "nginxKetama": [],
        "nginxFirstPoints": [],
    }
    for key in pv.PLACEMENT_KEYS:
        h = xxh64(key)
        for n in pv.PLACEMENT_COUNTS:
            section["placements"].append({"key_hex": key.hex(), "shards": n, "hash": h64(h), "jump": jump(h, n),
                                          "modulo": modulo(h, n), "ring": ring(h, n), "rendezvous": rendezvous(h, n),
                                          "maglev": maglev(h, n)})
    for n in [2, 3, 7, 64]:
        table = maglev_table(n)
        section["maglevTable"].append({"shards": n, "slots": [[i, table[i]] for i in [0, 1, 2, 100, 1000, 32768, 65535, 65536]]})
    for servers in pv.NGINX_SERVER_SETS:
        for key in pv.PLACEMENT_KEYS:
            k = crc32(key)
            section["nginxKetama"].append({"servers": servers, "key_hex": key.hex(), "crc32": h32(k),
                                           "shard": nginx_ketama(k, servers)})
        hashes, owners = nginx_points(servers)
        section["nginxFirstPoints"].append({"servers": servers, "points": [[h32(hashes[i]), owners[i]] for i in range(5)]})
    return section


def check_placement(section):
    if section == placement_section():
        return 0
    print("the placement section differs from what this reference computes")
    return 1


def check(path):
    with open(path) as handle:
        document = json.load(handle)
    services = {name: load_services(text) for name, text in document["configs"].items()}
    failures = 0
    for index, vector in enumerate(document["vectors"]):
        got = evaluate(vector, services[vector["config"]])
        if got != vector["expect"]:
            failures += 1
            if failures <= 20:
                print(f"vector {index} ({vector['config']} {vector['target'][:60]!r}): expected {vector['expect']}, got {got}")
    for index, case in enumerate(document["invalidConfigs"]):
        try:
            load_services(case["config"])
            got = "accepted"
        except ConfigError as error:
            got = error.field
        if got != case["field"]:
            failures += 1
            print(f"invalid config {index} ({case['why']}): expected an error at {case['field']}, got {got}")
    failures += check_placement(document["placement"])
    resharding = document.get("resharding", {"configs": {}, "vectors": []})
    fingerprints = fingerprint_section({**document["configs"], **resharding["configs"]})
    if document.get("fingerprints") != fingerprints:
        failures += 1
        print("the fingerprints section differs from what this reference computes")
    reshard_services = {name: load_services(text) for name, text in resharding["configs"].items()}
    for index, vector in enumerate(resharding["vectors"]):
        got = ownership(reshard_services[vector["config"]], vector)
        if got != vector["expect"]:
            failures += 1
            if failures <= 20:
                print(f"resharding vector {index} ({vector['config']} {vector['target'][:60]!r}): expected {vector['expect']}, got {got}")
    total = len(document["vectors"]) + len(document["invalidConfigs"]) + 2 + len(resharding["vectors"])
    print(f"{total - failures} passed, {failures} failed")
    return failures == 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(0 if check(sys.argv[2]) else 1)
    print("usage: shardline_ref.py --check sdk/vectors/routing.json", file=sys.stderr)
    sys.exit(2)
