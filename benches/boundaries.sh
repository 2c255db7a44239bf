#!/usr/bin/env bash
# Real boundaries (issue 15): how long `agrimap boundaries import` takes for
# each real file of ../shared/data into an empty store of each kind (target:
# under 2 s), and what statistics by 2025 commune over pre-2025-coded
# features cost beside statistics by the features' own pre-2025 communes
# (target: within 1.2×).
#
# Imports: `agrimap init` then `agrimap boundaries import FILE --set S
# --province P`, each file once into a fresh GeoPackage store and once into a
# fresh database of a throwaway PostgreSQL 15 + PostGIS cluster (loopback,
# random port, removed on exit; durable defaults). The time is the whole
# command, as a department waits for it: process start, reading, checking,
# areas, dissolving districts and provinces, one transaction.
#
# Statistics: the demo province (synthetic, pre-2025 codes) lies inside the
# merged Thành phố Cần Thơ, so its store gets the real 2025 communes of
# can-tho-communes-2025.geojson beside its own, and `agrimap stats --layer
# crop --metric area --class crop_type` runs by pre-2025 commune and by 2025
# commune, each as a new process (cold: every table computed from the store).
#
# Settings (environment):
#   CARGO_TARGET_DIR           where agrimap is built (/tmp/bench-target)
#   AGRIMAP_SHARED_DATA        the real files (../shared/data)
#   AGRIMAP_BOUNDARIES_RUNS    runs per figure, the median is reported (5)
#   AGRIMAP_BOUNDARIES_DEMO    demo province for the statistics (data/demo);
#                              e.g. a 1,000,000-parcel one from `agrimap demo-data`
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
shared=${AGRIMAP_SHARED_DATA:-../shared/data}
runs=${AGRIMAP_BOUNDARIES_RUNS:-5}
demo=${AGRIMAP_BOUNDARIES_DEMO:-data/demo}
[ -f "$shared/communes-2025-merges.csv" ] || {
  echo "boundaries.sh: no real files in $shared (set AGRIMAP_SHARED_DATA)" >&2
  exit 1
}
pgver=15
pgbin=/usr/lib/postgresql/$pgver/bin
[ -x "$pgbin/initdb" ] || {
  echo "boundaries.sh: PostgreSQL $pgver is missing (bash tests/run.sh installs it)" >&2
  exit 1
}

cargo build --release -p agrimap --bin agrimap
agrimap=$CARGO_TARGET_DIR/release/agrimap

work=$(mktemp -d /tmp/agrimap-boundaries.XXXXXX)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$(mktemp -d /tmp/agrimap-pg.XXXXXX)
cleanup() {
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir" "$work"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
pgport=$((54000 + RANDOM % 1000))
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir" start >/dev/null
psql=(psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -v ON_ERROR_STOP=1 -d postgres)

echo "boundaries.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB," \
  "PostgreSQL $("${psql[@]}" -Atc 'SHOW server_version'), $runs runs per figure (median)" >&2

# Seconds the command takes, to the millisecond.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$start $end" | awk '{printf "%.3f", $2 - $1}'
}

median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

files=(
  "soc-trang-communes-pre2025.geojson pre-2025 94"
  "dong-thap-communes-pre2025.geojson pre-2025 87"
  "can-tho-communes-2025.geojson 2025 92"
  "dong-thap-communes-2025.geojson 2025 82"
)
printf '%-38s %12s %12s\n' "file" "GeoPackage" "PostGIS"
for entry in "${files[@]}"; do
  read -r file set province <<<"$entry"
  gpkg=() pg=()
  for run in $(seq "$runs"); do
    dir=$work/gpkg-$run
    "$agrimap" init --data-dir "$dir" 2>/dev/null
    gpkg+=("$(seconds "$agrimap" boundaries import "$shared/$file" --set "$set" --province "$province" --data-dir "$dir")")
    rm -rf "$dir"
    "${psql[@]}" -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
    url="postgres://postgres@127.0.0.1:$pgport/bench"
    "$agrimap" init --database "$url" 2>/dev/null
    pg+=("$(seconds "$agrimap" boundaries import "$shared/$file" --set "$set" --province "$province" --database "$url")")
  done
  printf '%-38s %10ss %10ss\n' "$file" "$(echo "${gpkg[*]}" | median)" "$(echo "${pg[*]}" | median)"
done

# Statistics by the features' own (pre-2025) communes and by the real 2025 ones.
data=$work/stats
"$agrimap" stats --layer crop --data-dir "$data" --seed-dir "$demo" --format csv >/dev/null 2>&1
"$agrimap" boundaries import "$shared/can-tho-communes-2025.geojson" --set 2025 --province 92 --data-dir "$data" 2>/dev/null
echo >&2
printf '%-58s %10s\n' "agrimap stats --layer crop --metric area --class crop_type" "median"
for set in pre-2025 2025; do
  times=()
  for run in $(seq "$runs"); do
    times+=("$(seconds "$agrimap" stats --layer crop --metric area --class crop_type --boundary-set "$set" \
      --format csv --data-dir "$data")")
  done
  printf '%-58s %9ss\n' "  --boundary-set $set" "$(echo "${times[*]}" | median)"
done
