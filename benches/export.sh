#!/usr/bin/env bash
# GeoJSON export of every crop parcel: `GET /api/export/crop.geojson` from a
# running `agrimap serve` against `ogr2ogr -f GeoJSON` from the same PostGIS
# table (issue 5, item 3), with agrimap's resident memory sampled throughout.
#
#  1. builds agrimap (release), starts a throwaway PostgreSQL cluster on
#     loopback (removed on exit) and loads a demo province of
#     $AGRIMAP_BENCH_PARCELS parcels with `agrimap load`
#  2. starts `agrimap serve --database`, then $AGRIMAP_BENCH_RUNS times, in turn:
#     - curl downloads /api/export/crop.geojson to a file; agrimap's VmRSS is
#       read from /proc every 100 ms while it runs
#     - ogr2ogr writes the same table as GeoJSON to a file
#  3. checks both files hold every parcel, and prints times, rates, sizes and
#     agrimap's peak resident memory (before, during and after the exports)
#
# Needs PostgreSQL 15 with PostGIS 3 and gdal-bin (tests/run.sh installs them), curl, jq.
#
# Settings (environment):
#   CARGO_TARGET_DIR        where agrimap is built (/tmp/bench-target)
#   AGRIMAP_BENCH_PARCELS   crop parcels (1000000)
#   AGRIMAP_BENCH_DEMO_DIR  reuse a province generated with that many parcels
#   AGRIMAP_BENCH_RUNS      rounds of both exports (3)
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
parcels=${AGRIMAP_BENCH_PARCELS:-1000000}
runs=${AGRIMAP_BENCH_RUNS:-3}
say() { printf '[export.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || die "PostgreSQL 15 is missing (bash tests/run.sh installs it)"
command -v ogr2ogr >/dev/null || die "ogr2ogr is missing (bash tests/run.sh installs gdal-bin)"
for tool in curl jq bc; do command -v "$tool" >/dev/null || die "$tool is missing"; done

say "building agrimap (release) into $CARGO_TARGET_DIR"
cargo build --release -p agrimap

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work=$(mktemp -d /tmp/agrimap-export.XXXXXX)
chmod 755 "$work"
pgdir=$work/pg
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -d "$pgdir/data" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$pgdir"
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
cp "$CARGO_TARGET_DIR/release/agrimap" "$work/agrimap"
agrimap=$work/agrimap

pgport=$((40000 + RANDOM % 10000))
say "starting PostgreSQL on 127.0.0.1:$pgport"
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c shared_buffers=1GB" start >/dev/null
psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -c "CREATE DATABASE bench"
url="postgres://postgres@127.0.0.1:$pgport/bench"

demo=${AGRIMAP_BENCH_DEMO_DIR:-}
if [ -z "$demo" ] || [ "$(jq -r .parcels "$demo/manifest.json" 2>/dev/null)" != "$parcels" ]; then
  demo=$work/demo
  say "generating the demo province with $parcels parcels"
  "$agrimap" demo-data --parcels "$parcels" --out "$demo" >/dev/null
fi
say "loading it into PostGIS"
"$agrimap" load --database "$url" --from "$demo" >"$work/load.log" 2>&1 || die "load failed: $(tail "$work/load.log")"
psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -d bench -c "VACUUM ANALYZE"
count=$(psql -X -At -h 127.0.0.1 -p "$pgport" -U postgres -d bench -c "SELECT count(*) FROM crop")
say "crop has $count parcels"

port=$((50000 + RANDOM % 10000))
RUST_LOG=warn "$agrimap" serve --database "$url" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --rate-per-address 0 --request-timeout-ms 3600000 2>"$work/serve.log" &
server=$!
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
rss_idle=$(rss)

# Runs a command, printing its wall time; samples agrimap's RSS meanwhile into $work/rss.
timed() {
  : >"$work/rss"
  local t0 pid
  t0=$(date +%s.%N)
  "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss >>"$work/rss"
    sleep 0.1
  done
  wait "$pid"
  echo "$(date +%s.%N) - $t0" | bc
}
features_in() { grep -c '"type": *"Feature"' "$1" || true; }

for run in $(seq "$runs"); do
  s=$(timed curl -sf -o "$work/agrimap.geojson" "http://127.0.0.1:$port/api/export/crop.geojson")
  peak=$(sort -n "$work/rss" | tail -1)
  n=$(grep -c '^{"type":"Feature"' "$work/agrimap.geojson" || true)
  size=$(stat -c %s "$work/agrimap.geojson")
  echo "RESULT run=$run tool=agrimap seconds=$s features=$n bytes=$size rss_peak_kb=$peak"
  s=$(timed ogr2ogr -f GeoJSON "$work/ogr.geojson" "PG:host=127.0.0.1 port=$pgport user=postgres dbname=bench" crop)
  n=$(features_in "$work/ogr.geojson")
  size=$(stat -c %s "$work/ogr.geojson")
  echo "RESULT run=$run tool=ogr2ogr seconds=$s features=$n bytes=$size"
  rm -f "$work/agrimap.geojson" "$work/ogr.geojson"
done
echo "RESULT agrimap_rss_kb idle=$rss_idle after=$(rss) parcels=$count load=$(cut -d' ' -f1-3 /proc/loadavg) cores=$(nproc)"
