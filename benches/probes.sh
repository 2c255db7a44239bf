#!/usr/bin/env bash
# The hardening issue's two probes against a running `agrimap serve`
# (release build) over the embedded store or PostGIS:
#
#  A. slow readers: 3x the store's pool (24 for the GeoPackage store, 48 for
#     PostGIS) of anonymous GET /api/export/crop.geojson that read the headers
#     and then nothing, held for 20 s, while /health, a z14 crop tile and an
#     /ogc item are asked every 0.25 s: their statuses and slowest answers,
#     and the readers' statuses.
#  B. costly filter: GET /ogc/collections/crop/items?limit=1&filter=
#     S_INTERSECTS(geometry,POLYGON(<1,200-vertex ring of radius 0.6 deg,
#     a 300-vertex hole>)) (a 54 kB URL): once alone (3 runs), then six at
#     once with /health asked every 0.1 s meanwhile; the server's CPU time
#     for the six is read from /proc.
#
# Usage: AGRIMAP=path/to/release/agrimap benches/probes.sh [--database URL]
# (without --database, a GeoPackage seeded from data/demo in a temporary
# directory). Needs python3 and curl.
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."
agrimap=${AGRIMAP:?set AGRIMAP to a release build of agrimap}
dir=$(mktemp -d)
port=${AGRIMAP_BENCH_PORT:-18431}
AGRIMAP_DATA_DIR=$dir AGRIMAP_SEED_DIR=data/demo "$agrimap" serve --listen 127.0.0.1:$port "$@" \
  >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.5
done
pool=8
[ $# -gt 0 ] && pool=16
python3 - "$port" "$server" "$pool" <<'PY'
import json, math, socket, sys, threading, time, urllib.parse, urllib.request
port, pid, pool = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
def get(path, timeout=60):
    t = time.time()
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as r:
            r.read(); status = r.status
    except urllib.error.HTTPError as e:
        e.read(); status = e.code
    except Exception as e:
        status = type(e).__name__
    return status, time.time() - t
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100
first = json.load(urllib.request.urlopen(base + "/ogc/collections/crop/items?limit=1"))["features"][0]
c = first["geometry"]["coordinates"]
while isinstance(c[0], list): c = c[0]
n = 2 ** 14
x = int((c[0] + 180) / 360 * n); y = int((1 - math.asinh(math.tan(math.radians(c[1]))) / math.pi) / 2 * n)
paths = ["/health", f"/tiles/crop/14/{x}/{y}.mvt", f"/ogc/collections/crop/items/{first['id']}"]

# A. slow readers
readers, statuses = [], {}
for _ in range(3 * pool):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(f"GET /api/export/crop.geojson HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    code = head.split(b" ")[1].decode()
    statuses[code] = statuses.get(code, 0) + 1
    readers.append(s)
seen = {p: {} for p in paths}; worst = {p: 0.0 for p in paths}
end = time.time() + 20
while time.time() < end:
    for p in paths:
        st, dt = get(p, timeout=30)
        seen[p][st] = seen[p].get(st, 0) + 1; worst[p] = max(worst[p], dt)
    time.sleep(0.25)
print(f"A. {3*pool} stalled export readers: readers' statuses {statuses}")
for p in paths:
    print(f"   {p}: statuses {seen[p]}, slowest {worst[p]*1000:.0f} ms")
for s in readers: s.close()
time.sleep(1)

# B. costly filter
def ring(cx, cy, r, k):
    return [(cx + r * math.cos(2 * math.pi * (i % k) / k), cy + r * math.sin(2 * math.pi * (i % k) / k)) for i in range(k + 1)]
b = json.load(urllib.request.urlopen(base + "/ogc/collections/crop"))["extent"]["spatial"]["bbox"][0]
cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
wkt = lambda pts: "(" + ",".join(f"{px!r} {py!r}" for px, py in pts) + ")"
flt = f"S_INTERSECTS(geometry,POLYGON({wkt(ring(cx, cy, 0.6, 1200))},{wkt(ring(cx + 0.1, cy, 0.2, 300))}))"
probe = "/ogc/collections/crop/items?limit=1&filter=" + urllib.parse.quote(flt, safe=",")
print(f"B. probe URL {len(probe)} bytes")
for i in range(3):
    st, dt = get(probe); print(f"   alone: {st} in {dt*1000:.0f} ms")
out = [None] * 6; before = cpu()
def one(i): out[i] = get(probe)
threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
for t in threads: t.start()
health = {}; hworst = 0.0
while any(t.is_alive() for t in threads):
    st, dt = get("/health", timeout=30); health[st] = health.get(st, 0) + 1; hworst = max(hworst, dt); time.sleep(0.1)
for t in threads: t.join()
print(f"   six at once: {[(s, round(d * 1000)) for s, d in out]} (status, ms); server CPU {cpu() - before:.1f} s")
print(f"   /health meanwhile: {health}, slowest {hworst*1000:.0f} ms")
PY
