#!/usr/bin/env bash
# What the server's resident memory reaches when it draws coalesced tiles
# with nothing kept (issue 19, item 2): the first draws after a write, a
# restart of the kept layers, or a province just loaded.
#
# For each agrimap binary given (to compare two builds in one run):
#  1. one tile at a time, each on a fresh server: the kept layers are
#     forgotten (tile_overviews emptied), the server started, the composite
#     tile of crop,aquaculture asked for once, and the server's peak
#     resident memory (VmHWM) and the answer's time printed
#  2. a burst: every z10–z12 tile over the parcels' extent, 16 at a time,
#     on a fresh server with nothing kept; its peak resident memory, the
#     wall time and the answers that were not 200/204
#
# It empties tile_overviews and tile_overviews_redraw of the database it is
# given (the kept layers are a cache; the server draws them again).
#
# Needs curl, psql, python3 and bc.
#
# Settings (environment):
#   AGRIMAP_FIRST_DRAWS_DATABASE  the PostGIS database to serve (required)
#   AGRIMAP_FIRST_DRAWS_BINARIES  agrimap binaries to compare, space-separated
#                                 (default: this checkout, built in release)
#   AGRIMAP_FIRST_DRAWS_TILES     the single tiles (default: 10/813/484
#                                 11/1626/968 12/3252/1937, the densest of the
#                                 two-million-parcel demo province)
#   AGRIMAP_FIRST_DRAWS_PARALLEL  requests at a time in the burst (16)
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

database=${AGRIMAP_FIRST_DRAWS_DATABASE:?set AGRIMAP_FIRST_DRAWS_DATABASE to a PostGIS database URL}
tiles=${AGRIMAP_FIRST_DRAWS_TILES:-10/813/484 11/1626/968 12/3252/1937}
parallel=${AGRIMAP_FIRST_DRAWS_PARALLEL:-16}
layers=crop,aquaculture

say() { printf '[first_draws.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
for tool in curl psql python3 bc; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done

. benches/agrimap_binaries.sh
agrimap_binaries "${AGRIMAP_FIRST_DRAWS_BINARIES:-}"

work=$(mktemp -d /tmp/agrimap-first-draws.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
forget_kept() {
  psql -X -q -v ON_ERROR_STOP=1 "$database" -c "TRUNCATE tile_overviews, tile_overviews_redraw"
}
start_server() {
  RUST_LOG=warn "$1" serve --database "$database" --listen "127.0.0.1:$port" \
    --data-dir "$work/data" --rate-per-address 0 >>"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$base/health" && return 0
    kill -0 "$server_pid" 2>/dev/null || die "agrimap exited: $(tail -20 "$work/serve.log")"
    sleep 0.1
  done
  die "agrimap did not answer"
}
peak_mb() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status"; }
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Every z10–z12 tile over the parcels' extent.
read -r x1 y1 x2 y2 < <(psql -X -At -F ' ' "$database" \
  -c "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM crop) AS x")
python3 - "$x1" "$y1" "$x2" "$y2" "$layers" >"$work/burst" <<'EOF'
import math, sys
x1, y1, x2, y2 = map(float, sys.argv[1:5])
layers = sys.argv[5]
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
for z in (10, 11, 12):
    (a, b), (c, d) = tile(x1, y2, z), tile(x2, y1, z)
    for x in range(a, c + 1):
        for y in range(b, d + 1):
            print(f"/tiles/{layers}/{z}/{x}/{y}.mvt")
EOF
say "$(wc -l <"$work/burst") tiles of z10–z12 over the parcels"

echo "| agrimap | what | seconds | peak RSS MB | not 200/204 |"
echo "|---|---|---|---|---|"
for bin in "${binaries[@]}"; do
  [ -x "$bin" ] || die "$bin is not an executable"
  name=$bin
  for t in $tiles; do
    forget_kept
    start_server "$bin"
    idle=$(peak_mb)
    s=$(curl -s -o /dev/null -w '%{time_total} %{http_code}' -H 'Accept-Encoding: gzip' "$base/tiles/$layers/$t.mvt")
    code=${s#* }
    bad=0
    [ "$code" = 200 ] || [ "$code" = 204 ] || bad=1
    echo "| $name | $t alone (idle server: $idle MB) | ${s% *} | $(peak_mb) | $bad |"
    stop_server
  done
  forget_kept
  start_server "$bin"
  t0=$(date +%s.%N)
  bad=$(xargs -P "$parallel" -I{} curl -s -o /dev/null -w '%{http_code}\n' -H 'Accept-Encoding: gzip' "$base{}" <"$work/burst" |
    grep -cv '^20[04]$' || true)
  s=$(echo "$(date +%s.%N) - $t0" | bc)
  echo "| $name | $(wc -l <"$work/burst") tiles z10–z12, $parallel at a time | $s | $(peak_mb) | $bad |"
  stop_server
done
