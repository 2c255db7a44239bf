#!/usr/bin/env bash
# One province among five in one PostGIS database against that province
# alone (issue 19, item 3): tiles, /ogc pages, a statistics table and an
# export of the province, each database served by a fresh `agrimap serve`.
#
#  1. builds agrimap (release)
#  2. starts a throwaway PostgreSQL cluster on loopback, removed on exit
#  3. generates the demo province (code 99) at $AGRIMAP_BENCH_PARCELS parcels,
#     loads it with `agrimap load` into the database `alone`, and copies that
#     database as the start of `five`
#  4. in `five`, adds four more provinces (91..94): copies of province 99
#     shifted east by whole province widths, with their own province,
#     district, commune and feature codes, each in its own partitions (made
#     by agrimap_add_province, as a boundary load makes them). The copies go
#     in with SQL, server-side: what is measured is reading, not writing.
#     then `agrimap splits recompute` on `five` gives the copies their
#     commune splits (timed: the bulk recomputation over 10,000,000 parcels
#     at the default size)
#  5. VACUUM ANALYZE, then every table and index of both databases read into
#     shared buffers, so that neither meets a colder cache than the other
#  6. for each database in turn, $AGRIMAP_BENCH_ROUNDS times (alternating):
#     a fresh server, then, one request at a time with curl:
#       tiles   a fixed list over province 99 (every z12 tile of its extent,
#               and the z14 tiles of a 6 x 6 grid over it), crop+aquaculture
#       ogc     20 pages of 1,000 parcels of province 99 (`province=99`)
#       stats   /api/stats by commune, class crop_type, metric area, province 99
#               (the first table after the start: computed, not cached)
#       country the same table of every province in the database, no
#               `province` (five times the parcels in `five`)
#       export  /api/export/crop.geojson?province=99 (every parcel of it)
#     and the server's peak resident memory (VmHWM) when the round ends
#  7. prints the median seconds of each in each database and their ratio
#
# Needs the Rust toolchain, PostgreSQL 15 with PostGIS 3 (the Debian packages
# tests/run.sh installs), jq, bc and curl.
#
# Settings (environment):
#   CARGO_TARGET_DIR             where agrimap is built (/tmp/parts-bench-target)
#   AGRIMAP_BENCH_PARCELS        crop parcels per province (2000000)
#   AGRIMAP_BENCH_DEMO_DIR       reuse a province generated with that many parcels
#   AGRIMAP_BENCH_ROUNDS         rounds per database (3)
#   AGRIMAP_BENCH_SHARED_BUFFERS PostgreSQL shared_buffers (4GB)
#   AGRIMAP_BENCH_CLUSTER        keep the PostgreSQL cluster in this directory
#                                (not removed on exit) and reuse the databases
#                                a previous run left there complete: loading
#                                five provinces of 2,000,000 parcels takes
#                                most of an hour
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/parts-bench-target}
parcels=${AGRIMAP_BENCH_PARCELS:-2000000}
rounds=${AGRIMAP_BENCH_ROUNDS:-3}
shared_buffers=${AGRIMAP_BENCH_SHARED_BUFFERS:-4GB}
layers=crop,aquaculture

say() { printf '[partitions.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || die "PostgreSQL 15 is missing (bash tests/run.sh installs it)"
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || die "PostGIS 3 is missing (bash tests/run.sh installs it)"
for tool in jq bc curl; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done

say "building agrimap (release) into $CARGO_TARGET_DIR"
cargo build --release -p agrimap

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work=$(mktemp -d /tmp/agrimap-partitions.XXXXXX)
chmod 755 "$work"
kept=${AGRIMAP_BENCH_CLUSTER:-}
pgdir=${kept:-$work/pg}
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -d "$pgdir/data" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1
  rm -rf "$work"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$pgdir"
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
cp "$CARGO_TARGET_DIR/release/agrimap" "$work/agrimap"
agrimap=$work/agrimap

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
}
pgport=$(free_port)
say "starting PostgreSQL on 127.0.0.1:$pgport"
[ -d "$pgdir/data" ] || as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c max_connections=200 -c shared_buffers=$shared_buffers -c max_wal_size=8GB" \
  start >/dev/null
psql_on() { psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$pgport" -U postgres -d "$1" "${@:2}"; }
url_of() { echo "postgres://postgres@127.0.0.1:$pgport/$1"; }

# The databases a previous run completed in a kept cluster, at this size.
ready=$(psql_on postgres -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'five'")
if [ "$ready" = "agrimap bench: $parcels parcels a province" ]; then
  say "reusing the databases alone and five of $pgdir"
else
  psql_on postgres -c "DROP DATABASE IF EXISTS alone" -c "DROP DATABASE IF EXISTS five"
  demo=${AGRIMAP_BENCH_DEMO_DIR:-}
  if [ -n "$demo" ] && [ "$(jq -r .parcels "$demo/manifest.json" 2>/dev/null)" = "$parcels" ]; then
    say "reusing the province in $demo ($parcels parcels)"
  else
    demo=$work/demo
    say "generating the demo province with $parcels parcels"
    "$agrimap" demo-data --parcels "$parcels" --out "$demo" >/dev/null
  fi

  psql_on postgres -c "CREATE DATABASE alone"
  say "loading province 99 into alone"
  t0=$(date +%s.%N)
  "$agrimap" load --database "$(url_of alone)" --from "$demo" >"$work/load.log" 2>&1 || {
    cat "$work/load.log" >&2
    die "agrimap load failed"
  }
  say "loaded in $(echo "$(date +%s.%N) - $t0" | bc) s"
  # The same load, byte for byte, as the start of `five`.
  psql_on postgres -c "CREATE DATABASE five TEMPLATE alone"

  # Four more provinces in `five`: every row of province 99 copied, shifted
  # east by k province widths (and a margin), its codes prefixed by k.
  say "adding provinces 91..94 to five"
  t0=$(date +%s.%N)
  psql_on five <<'SQL'
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION pg_temp.copy_province(k integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  dx double precision := k * (SELECT ST_XMax(e) - ST_XMin(e) + 0.1
                              FROM (SELECT ST_Extent(geom) AS e FROM admin_province WHERE code = '99') s);
  p text := '9' || k;
  t text;
  cols text;
  exprs text;
BEGIN
  FOR t IN SELECT unnest(ARRAY['admin_province', 'admin_district', 'admin_commune', 'crop', 'aquaculture',
      'monitoring', 'growing_area', 'ocop', 'irrigation_works', 'irrigated_areas', 'forest_plots', 'livestock_farms'])
  LOOP
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position),
           string_agg(CASE
             WHEN column_name = 'geom' THEN format('ST_Translate(geom, %s, 0)', dx)
             WHEN column_name = 'province_code' OR (t = 'admin_province' AND column_name = 'code') THEN quote_literal(p)
             WHEN column_name IN ('code', 'commune_code', 'former_commune_code', 'district_code', 'growing_area_code')
               THEN format('%L || %I', k::text, column_name)
             WHEN column_name IN ('parcel_id', 'pond_id', 'station_id', 'product_id', 'work_id', 'area_id', 'plot_id', 'farm_id')
               THEN format('%L || %I', k::text || '-', column_name)
             ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position)
      INTO cols, exprs
      FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = t AND column_name NOT IN ('fid');
    IF t = 'crop' THEN
      PERFORM agrimap_add_province(p);
    END IF;
    EXECUTE format('INSERT INTO %I (%s) SELECT %s FROM %I WHERE %s', t, cols, exprs, t,
      CASE WHEN t = 'admin_province' THEN 'code = ''99''' ELSE 'province_code = ''99''' END);
  END LOOP;
END
$$;
SELECT pg_temp.copy_province(k) FROM generate_series(1, 4) k;
SQL
  say "copied in $(echo "$(date +%s.%N) - $t0" | bc) s"

  say "splitting the copies across their communes"
  t0=$(date +%s.%N)
  "$agrimap" splits recompute --database "$(url_of five)" >&2
  say "split in $(echo "$(date +%s.%N) - $t0" | bc) s"
  psql_on postgres -c "COMMENT ON DATABASE five IS 'agrimap bench: $parcels parcels a province'"
fi
for db in alone five; do
  psql_on "$db" -c "VACUUM ANALYZE" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm"
  psql_on "$db" -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c WHERE c.relkind IN ('r', 'i', 't')
    AND c.relnamespace IN ('public'::regnamespace, 'pg_toast'::regnamespace)" >/dev/null
done
for db in alone five; do
  say "$db: $(psql_on "$db" -c "SELECT pg_size_pretty(pg_database_size('$db'))"), crop by partition:"
  psql_on "$db" -F ' ' -c "SELECT tableoid::regclass, count(*), pg_size_pretty(pg_total_relation_size(tableoid))
    FROM crop GROUP BY tableoid ORDER BY 1" >&2
done
psql_on five -F ' ' -c "SELECT pg_size_pretty(pg_total_relation_size(c.oid)), pg_size_pretty(pg_indexes_size(c.oid))
  FROM pg_class c WHERE relname = 'crop_p99'" | sed 's/^/[partitions.sh] crop_p99 total, indexes: /' >&2

# The tile list: every z12 tile of province 99's extent, and the z14 tiles
# of a 6 x 6 grid of points over it.
read -r x1 y1 x2 y2 < <(psql_on alone -F ' ' -c "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(geom) AS e FROM admin_province WHERE code = '99') s")
tiles=$work/tiles.txt
jq -rn --argjson x1 "$x1" --argjson y1 "$y1" --argjson x2 "$x2" --argjson y2 "$y2" '
  def tx($lon; $z): (($lon + 180) / 360 * pow(2; $z)) | floor;
  def ty($lat; $z): ($lat * 3.141592653589793 / 180) as $r
    | ((1 - ((($r | tan) + 1 / ($r | cos)) | log) / 3.141592653589793) / 2 * pow(2; $z)) | floor;
  ([range(tx($x1; 12); tx($x2; 12) + 1) as $x | range(ty($y2; 12); ty($y1; 12) + 1) as $y | "12/\($x)/\($y)"]
   + [range(0; 6) as $i | range(0; 6) as $j
      | "14/\(tx($x1 + ($x2 - $x1) * ($i + 0.5) / 6; 14))/\(ty($y1 + ($y2 - $y1) * ($j + 0.5) / 6; 14))"])
  | unique | .[]' >"$tiles"
say "$(wc -l <"$tiles") tiles in the list"

port=$(free_port)
base="http://127.0.0.1:$port"
start_server() {
  RUST_LOG=warn "$agrimap" serve --database "$(url_of "$1")" --listen "127.0.0.1:$port" \
    --data-dir "$work/data-$1" --rate-per-address 0 >>"$work/serve-$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$base/health" && return 0
    kill -0 "$server_pid" 2>/dev/null || die "agrimap exited: $(tail -20 "$work/serve-$1.log")"
    sleep 0.1
  done
  die "agrimap did not answer"
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
# Seconds to fetch every path of stdin in order, failing on any answer but
# 200 (or 204, a tile with nothing in it).
fetch_all() {
  local t0 path code
  t0=$(date +%s.%N)
  while read -r path; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' "$base$path")
    [ "$code" = 200 ] || [ "$code" = 204 ] || die "$path answered $code"
  done
  echo "$(date +%s.%N) - $t0" | bc
}

results=$work/results.txt
: >"$results"
for round in $(seq 1 "$rounds"); do
  for db in alone five; do
    start_server "$db"
    t_tiles=$(sed "s|^|/tiles/$layers/|; s|$|.mvt|" "$tiles" | fetch_all)
    t_ogc=$(for k in $(seq 0 19); do echo "/ogc/collections/crop/items?province=99&limit=1000&offset=$((k * 1000))"; done | fetch_all)
    t_stats=$(echo "/api/stats?layer=crop&by=commune&class=crop_type&metric=area&province=99" | fetch_all)
    t_export=$(echo "/api/export/crop.geojson?province=99" | fetch_all)
    t_country=$(echo "/api/stats?layer=crop&by=commune&class=crop_type&metric=area" | fetch_all)
    rss=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$server_pid/status")
    stop_server
    echo "$db tiles $t_tiles" >>"$results"
    echo "$db ogc $t_ogc" >>"$results"
    echo "$db stats $t_stats" >>"$results"
    echo "$db export $t_export" >>"$results"
    echo "$db country $t_country" >>"$results"
    echo "$db peak_rss_mb $rss" >>"$results"
    say "round $round $db: tiles $t_tiles s, ogc $t_ogc s, stats $t_stats s, export $t_export s," \
      "country $t_country s, server peak RSS $rss MB"
  done
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo
echo "province 99 of $parcels parcels; medians of $rounds rounds, seconds"
printf '%-8s %10s %10s %8s\n' what alone five ratio
for what in tiles ogc stats export country peak_rss_mb; do
  a=$(awk -v w="$what" '$1 == "alone" && $2 == w {print $3}' "$results" | median)
  f=$(awk -v w="$what" '$1 == "five" && $2 == w {print $3}' "$results" | median)
  printf '%-8s %10.3f %10.3f %8.2f\n' "$what" "$a" "$f" "$(echo "$f / $a" | bc -l)"
done
