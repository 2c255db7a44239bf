#!/usr/bin/env bash
# Recoding a province's parcels to the 2025 communes (issue 15): how long
# `agrimap recode --layer crop --to 2025` takes on PostGIS for a
# 1,000,000-parcel province, and how much memory agrimap holds meanwhile
# (targets: under 60 s, under 1 GB).
#
# The demo province (synthetic, pre-2025 codes) lies inside the merged
# Thành phố Cần Thơ: `agrimap demo-data --parcels N` makes it, `agrimap load`
# puts it in a fresh database of a throwaway PostgreSQL 15 + PostGIS cluster
# (loopback, random port, durable defaults, removed on exit), `agrimap
# boundaries import` adds the real 2025 communes of
# can-tho-communes-2025.geojson, and the recode runs as a new process under
# /usr/bin/time (wall time and peak resident memory of agrimap; PostgreSQL's
# own memory is not counted). Afterwards every parcel is counted by set.
#
# Settings (environment):
#   CARGO_TARGET_DIR         where agrimap is built (/tmp/bench-target)
#   AGRIMAP_SHARED_DATA      the real files (../shared/data)
#   AGRIMAP_RECODE_PARCELS   parcels of the demo province (1000000)
#   AGRIMAP_RECODE_BINARIES  agrimap binaries to compare, space-separated
#                            (this checkout's, built in release, by default);
#                            each recodes its own copy of the same database
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
shared=${AGRIMAP_SHARED_DATA:-../shared/data}
parcels=${AGRIMAP_RECODE_PARCELS:-1000000}
[ -f "$shared/can-tho-communes-2025.geojson" ] || {
  echo "recode.sh: no real files in $shared (set AGRIMAP_SHARED_DATA)" >&2
  exit 1
}
pgver=15
pgbin=/usr/lib/postgresql/$pgver/bin
[ -x "$pgbin/initdb" ] || {
  echo "recode.sh: PostgreSQL $pgver is missing (bash tests/run.sh installs it)" >&2
  exit 1
}

. benches/agrimap_binaries.sh
agrimap_binaries "${AGRIMAP_RECODE_BINARIES:-}"
agrimap=${binaries[0]}

work=$(mktemp -d /tmp/agrimap-recode.XXXXXX)
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
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c max_wal_size=4GB" start >/dev/null
psql=(psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -v ON_ERROR_STOP=1)
"${psql[@]}" -d postgres -c "CREATE DATABASE agrimap_recode"
url="postgres://postgres@127.0.0.1:$pgport/agrimap_recode"
url_of() { echo "postgres://postgres@127.0.0.1:$pgport/$1"; }

echo "recode.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB," \
  "PostgreSQL $("${psql[@]}" -d postgres -Atc 'SHOW server_version'), $parcels parcels, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$agrimap" demo-data --parcels "$parcels" --out "$work/demo" >/dev/null
"$agrimap" migrate --database "$url" >/dev/null
"$agrimap" load --database "$url" --from "$work/demo" >&2
"$agrimap" boundaries import "$shared/can-tho-communes-2025.geojson" --set 2025 --province 92 --database "$url" >/dev/null

"${psql[@]}" -d postgres -c "CHECKPOINT"

# Each binary recodes a copy of the loaded database, one after the other.
n=0
for binary in "${binaries[@]}"; do
  n=$((n + 1))
  copy=agrimap_recode_$n
  "${psql[@]}" -d postgres -c "CREATE DATABASE $copy TEMPLATE agrimap_recode"
  "$binary" migrate --database "$(url_of "$copy")" >/dev/null
  /usr/bin/time -f '%e %M' -o "$work/time" "$binary" recode --layer crop --to 2025 --database "$(url_of "$copy")" \
    >"$work/report" 2>&1
  read -r wall rss_kb <"$work/time"
  echo "recode by $binary:"
  grep -v '^  first outside' "$work/report" | sed 's/^/  /'
  echo "  ${wall} s wall, agrimap peak resident memory $((rss_kb / 1024)) MB"
  echo "  parcels by set afterwards (set, parcels, with a former code):"
  "${psql[@]}" -d "$copy" -Atc \
    "SELECT boundary_set, count(*), count(former_commune_code) FROM crop GROUP BY 1 ORDER BY 1" |
    sed 's/^/    /'
  "${psql[@]}" -d postgres -c "DROP DATABASE $copy"
done
