#!/usr/bin/env bash
# A whole province as one PMTiles archive (`agrimap pack --province`), from
# the GeoPackage store and from PostGIS, on a large demo province:
#
#  1. builds agrimap (release)
#  2. generates the demo province at $AGRIMAP_BENCH_PARCELS parcels (or
#     reuses $AGRIMAP_BENCH_DEMO_DIR when it holds that many)
#  3. seeds a GeoPackage store from it, and loads it into a throwaway
#     PostgreSQL cluster (benches/throwaway_pg.sh) with `agrimap load`
#  4. packs province 99 from each store at the default zooms (z6-z14), timed
#     (wall clock, peak resident memory sampled from /proc), and checks that
#     both archives are the same bytes
#  5. prints, per store, what agrimap said (tiles written and looked at),
#     wall clock, peak resident memory and the archive's size
#
# Settings (environment):
#   CARGO_TARGET_DIR            where agrimap is built (/tmp/bench-target)
#   AGRIMAP_BENCH_PARCELS       crop parcels of the demo province (2000000)
#   AGRIMAP_BENCH_DEMO_DIR      a province made beforehand by `agrimap demo-data`
#   AGRIMAP_BENCH_MAXZOOM       highest zoom packed (14)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
. benches/throwaway_pg.sh
parcels=${AGRIMAP_BENCH_PARCELS:-2000000}
maxzoom=${AGRIMAP_BENCH_MAXZOOM:-14}
say() { echo "province_pack.sh: $*" >&2; }

cargo build --release -p agrimap
agrimap=$CARGO_TARGET_DIR/release/agrimap
work=$(mktemp -d /tmp/agrimap-pack-bench.XXXXXX)
throwaway_pg
trap 'stop_throwaway_pg; rm -rf "$work"' EXIT
say "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ {print $2}') GiB"

demo=${AGRIMAP_BENCH_DEMO_DIR:-}
if [ -z "$demo" ] || [ "$(jq -r .parcels "$demo/manifest.json" 2>/dev/null)" != "$parcels" ]; then
  demo=$work/demo
  say "generating the demo province with $parcels parcels"
  "$agrimap" demo-data --parcels "$parcels" --out "$demo" >/dev/null
fi

say "seeding a GeoPackage store"
t0=$(date +%s.%N)
# Any command seeds a new embedded store from --seed-dir on first use.
"$agrimap" station list --data-dir "$work/gpkg" --seed-dir "$demo" >/dev/null
say "seeded in $(echo "$(date +%s.%N) - $t0" | bc) s"
say "loading PostGIS"
t0=$(date +%s.%N)
"$agrimap" load --database "$AGRIMAP_BENCH_DATABASE_URL" --from "$demo" >"$work/load.log" 2>&1 || {
  cat "$work/load.log" >&2
  exit 1
}
as_postgres psql -q -h 127.0.0.1 -p "$pgport" -U postgres -c "VACUUM ANALYZE" postgres
say "loaded in $(echo "$(date +%s.%N) - $t0" | bc) s"

# Peak resident memory of a process, sampled every 0.2 s from /proc: all of it
# (VmHWM, which counts the store file's pages the embedded store maps, shared
# with the page cache) and the anonymous part alone (what the process
# itself allocated).
watch_memory() { # pid, out file
  local pid=$1 anon=0 hwm=0 a h
  while [ -r "/proc/$pid/status" ]; do
    a=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    h=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${a:-0}" -gt "$anon" ] && anon=$a
    [ "${h:-0}" -gt "$hwm" ] && hwm=$h
    sleep 0.2
  done
  echo "$hwm $anon" >"$2"
}

pack() { # label, out, store arguments...
  local label=$1 out=$2
  shift 2
  local t0
  t0=$(date +%s.%N)
  "$agrimap" pack --province 99 --maxzoom "$maxzoom" "$@" "$out" >"$work/$label.out" 2>/dev/null &
  local pid=$!
  watch_memory "$pid" "$work/$label.mem" &
  local watcher=$!
  wait "$pid"
  local wall
  wall=$(echo "$(date +%s.%N) - $t0" | bc)
  wait "$watcher"
  read -r hwm anon <"$work/$label.mem"
  printf '| %s | %s | %.0f s | %d MB | %d MB | %s |\n' "$label" "$(sed 's/^[^:]*: //' "$work/$label.out")" \
    "$wall" "$((hwm / 1024))" "$((anon / 1024))" "$(du -h "$out" | cut -f1)"
}
echo "| store | what agrimap pack said | wall clock | peak RSS | peak anonymous RSS | archive |"
echo "|---|---|---|---|---|---|"
pack geopackage "$work/gpkg.pmtiles" --data-dir "$work/gpkg" --seed-dir "$demo"
pack postgis "$work/pg.pmtiles" --database "$AGRIMAP_BENCH_DATABASE_URL"
if cmp -s "$work/gpkg.pmtiles" "$work/pg.pmtiles"; then
  say "both stores gave the same archive, byte for byte"
else
  say "the archives differ"
  exit 1
fi
