#!/usr/bin/env bash
# agrimap and Martin side by side on the same PostGIS tables (issue 3, item 9),
# then tiles made in PostGIS with ST_AsMVT against tiles made in Rust (item 5).
#
#  1. builds agrimap (release) and benches/pg_tiles.rs
#  2. starts a throwaway PostgreSQL cluster on loopback, removed on exit
#  3. generates the demo province at $AGRIMAP_BENCH_PARCELS parcels and loads
#     it with `agrimap load`
#  4. writes one fixed list of tiles z10..z16 over the province: tiles holding
#     the centre of a sample of the layers' features, a fixed number per zoom,
#     picked and ordered by a hash of z/x/y (same data, same list)
#  5. for each server in turn, the other one stopped: a fresh start, one cold
#     pass over the list (every tile once), then a warm run cycling through the
#     list for $AGRIMAP_BENCH_DURATION; wrk, Accept-Encoding: gzip on both.
#     Then, to show what compression costs each server, one more warm run
#     with Accept-Encoding: identity (agrimap caches every tile both gzip'd
#     and plain; Martin keeps tiles uncompressed and deflates them for gzip
#     clients)
#  6. requests every tile of the list once more from each server with curl and
#     compares status and size tile by tile
#  7. runs benches/pg_tiles.rs on the same database and the same list
#  8. prints throughput, p50 and p99 latency of both servers and the ratios
#
# Both servers serve the same composite of the same tables: agrimap at
# /tiles/{layers}/{z}/{x}/{y}.mvt, Martin at /{layers}/{z}/{x}/{y} with one
# table source per layer, configured from agrimap's /catalog: the public
# fields only, feature id `fid`, extent 4096, buffer 64, each layer from its
# catalog minzoom. Both log at `warn`. agrimap's per-address request quota is
# off: every wrk connection comes from one address.
#
# Needs the Rust toolchain, PostgreSQL 15 with PostGIS 3 (the Debian packages
# tests/run.sh installs), wrk, jq and curl (installed from Debian when missing),
# and Martin, a measuring peer only, never a dependency of agrimap:
#   cargo install --locked martin@1.14.0 --no-default-features --features postgres --root /opt/martin
#   (--locked: without it, newer releases of its dependencies ask for a newer rustc)
#
# Settings (environment):
#   MARTIN                       Martin binary (/opt/martin/bin/martin)
#   CARGO_TARGET_DIR             where agrimap is built (/tmp/bench-target; builds of other checkouts
#                                into the same directory can mix their artifacts with ours)
#   AGRIMAP_BENCH_PARCELS        crop parcels of the demo province (1000000)
#   AGRIMAP_BENCH_DEMO_DIR       reuse a province generated with that many parcels
#   AGRIMAP_BENCH_LAYERS         layer set requested from both servers (crop,aquaculture)
#   AGRIMAP_BENCH_ZOOM_TILES     tiles per zoom, `z:n` ("10:1000 11:1000 12:1000 13:200 14:300 15:400 16:500";
#                                1000 means every tile holding a sampled feature)
#   AGRIMAP_BENCH_CONNECTIONS    wrk connections (64), AGRIMAP_BENCH_THREADS wrk threads (2)
#   AGRIMAP_BENCH_DURATION       warm run (30s)
#   AGRIMAP_BENCH_CACHE_MB       tile cache of each server, MB (512: either holds every tile of the
#                                default list; Martin caches tiles before compression, 282 MB of them,
#                                more than its default 256 MB tile cache)
#   AGRIMAP_BENCH_ORDER          order of the servers ("agrimap martin")
#   AGRIMAP_BENCH_IDENTITY       the extra warm run without compression (1; 0 skips it)
#   AGRIMAP_BENCH_PG_TILES       run benches/pg_tiles.rs afterwards (1; 0 skips it)
#   AGRIMAP_BENCH_SHARED_BUFFERS PostgreSQL shared_buffers (2GB: the loaded tables fit)
#   AGRIMAP_BENCH_KEPT           after the runs, restart agrimap and make one more cold pass, now with the
#                                coalesced tile layers its first pass kept in the database (1; 0 skips it)
#   AGRIMAP_BENCH_AREA           area per class of the coalesced layers, agrimap against Martin, over every
#                                tile of the province at z10-z13 (benches/tile_sizes.rs; 1; 0 skips it)
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."
repo=$PWD

martin=${MARTIN:-/opt/martin/bin/martin}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
parcels=${AGRIMAP_BENCH_PARCELS:-1000000}
layers=${AGRIMAP_BENCH_LAYERS:-crop,aquaculture}
zoom_tiles=${AGRIMAP_BENCH_ZOOM_TILES:-10:1000 11:1000 12:1000 13:200 14:300 15:400 16:500}
connections=${AGRIMAP_BENCH_CONNECTIONS:-64}
threads=${AGRIMAP_BENCH_THREADS:-2}
duration=${AGRIMAP_BENCH_DURATION:-30s}
cache_mb=${AGRIMAP_BENCH_CACHE_MB:-512}
order=${AGRIMAP_BENCH_ORDER:-agrimap martin}
run_pg_tiles=${AGRIMAP_BENCH_PG_TILES:-1}
run_identity=${AGRIMAP_BENCH_IDENTITY:-1}
shared_buffers=${AGRIMAP_BENCH_SHARED_BUFFERS:-2GB}
run_kept=${AGRIMAP_BENCH_KEPT:-1}
run_area=${AGRIMAP_BENCH_AREA:-1}

say() { printf '[martin.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# --- tools -------------------------------------------------------------------
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || die "PostgreSQL 15 is missing (bash tests/run.sh installs it)"
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || die "PostGIS 3 is missing (bash tests/run.sh installs it)"
[[ " $order " != *" martin "* ]] || [ -x "$martin" ] || die "no Martin at $martin; build it with:
  cargo install --locked martin@1.14.0 --no-default-features --features postgres --root /opt/martin"
missing=()
for tool in wrk jq curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- build -------------------------------------------------------------------
say "building agrimap (release) into $CARGO_TARGET_DIR"
cargo build --release -p agrimap
if [ "$run_pg_tiles" = 1 ]; then
  pg_tiles_bin=$(cargo bench --bench pg_tiles --no-run --message-format=json |
    jq -r 'select(.reason == "compiler-artifact" and .target.name == "pg_tiles") | .executable')
fi
if [ "$run_area" = 1 ]; then
  tile_sizes_bin=$(cargo bench --bench tile_sizes --no-run --message-format=json |
    jq -r 'select(.reason == "compiler-artifact" and .target.name == "tile_sizes") | .executable')
fi

# --- throwaway PostgreSQL cluster, servers, temp files: all gone on exit -------
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work=$(mktemp -d /tmp/agrimap-martin.XXXXXX)
chmod 755 "$work"
pgdir=$work/pg
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -d "$pgdir/data" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$pgdir"
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
# Private copies: a later build into the same target directory cannot swap them mid-run.
cp "$CARGO_TARGET_DIR/release/agrimap" "$work/agrimap"
agrimap=$work/agrimap
if [ "$run_pg_tiles" = 1 ]; then
  cp "$pg_tiles_bin" "$work/pg_tiles"
fi
if [ "$run_area" = 1 ]; then
  cp "$tile_sizes_bin" "$work/tile_sizes"
fi

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
say "starting PostgreSQL on 127.0.0.1:$pgport (data in $pgdir)"
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c max_connections=200 -c shared_buffers=$shared_buffers" \
  start >/dev/null
psql_admin=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres)
"${psql_admin[@]}" -d postgres -c "CREATE DATABASE bench"
url="postgres://postgres@127.0.0.1:$pgport/bench"
psql_bench=(psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$pgport" -U postgres -d bench)

# --- demo province -----------------------------------------------------------
demo=${AGRIMAP_BENCH_DEMO_DIR:-}
if [ -n "$demo" ] && [ "$(jq -r .parcels "$demo/manifest.json" 2>/dev/null)" = "$parcels" ]; then
  say "reusing the province in $demo ($parcels parcels)"
else
  demo=$work/demo
  say "generating the demo province with $parcels parcels"
  t0=$(date +%s.%N)
  "$agrimap" demo-data --parcels "$parcels" --out "$demo" >/dev/null
  say "generated in $(echo "$(date +%s.%N) - $t0" | bc) s"
fi
say "loading it into PostGIS"
t0=$(date +%s.%N)
"$agrimap" load --database "$url" --from "$demo" >"$work/load.log" 2>&1 || {
  cat "$work/load.log" >&2
  die "agrimap load failed"
}
load_s=$(echo "$(date +%s.%N) - $t0" | bc)
"${psql_bench[@]}" -c "VACUUM ANALYZE" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm"
db_size=$("${psql_bench[@]}" -c "SELECT pg_size_pretty(pg_database_size('bench'))")
say "loaded in $load_s s; database size $db_size"

# Read every table and index of the layers into shared buffers, so that both
# servers meet the same warm database whichever goes first.
prewarm() {
  "${psql_bench[@]}" -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c WHERE c.relkind IN ('r', 'i', 't')
    AND (c.relnamespace = 'public'::regnamespace
      OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
      OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.reltoastrelid = i.indrelid
                   WHERE t.relnamespace = 'public'::regnamespace))" >/dev/null
}

# --- agrimap and Martin -------------------------------------------------------
agrimap_port=$(free_port)
martin_port=$(free_port)
server_pid=""
wait_health() { # url pid name
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited; its log: $(tail -20 "$work/$3.log")"
    sleep 0.1
  done
  die "$3 did not answer $1"
}
start_server() { # name
  case $1 in
    agrimap)
      RUST_LOG=warn "$agrimap" serve --database "$url" --listen "127.0.0.1:$agrimap_port" \
        --tile-cache-mb "$cache_mb" --data-dir "$work/agrimap-data" --rate-per-address 0 \
        >>"$work/agrimap.log" 2>&1 &
      server_pid=$!
      pids+=("$server_pid")
      wait_health "http://127.0.0.1:$agrimap_port/health" "$server_pid" agrimap
      ;;
    martin)
      RUST_LOG=warn "$martin" --config "$work/martin.yaml" >>"$work/martin.log" 2>&1 &
      server_pid=$!
      pids+=("$server_pid")
      wait_health "http://127.0.0.1:$martin_port/health" "$server_pid" martin
      ;;
  esac
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Martin's configuration, from agrimap's catalog: the same tables and public fields.
start_server agrimap
curl -sf "http://127.0.0.1:$agrimap_port/catalog" >"$work/catalog.json"
stop_server
for l in ${layers//,/ }; do
  jq -e --arg l "$l" '.layers[] | select(.id == $l)' "$work/catalog.json" >/dev/null || die "unknown layer $l"
done
jq --arg layers "$layers" --arg url "$url" --arg listen "127.0.0.1:$martin_port" --argjson cache_mb "$cache_mb" '
  ($layers | split(",")) as $ids
  | {
      listen_addresses: $listen,
      cache: { size_mb: ($cache_mb * 2), tile_size_mb: $cache_mb },
      postgres: {
        connection_string: $url,
        auto_publish: false,
        tables: ([.layers[] | select(.id as $i | $ids | index($i)) | {
          key: .id,
          value: {
            schema: "public", table: .id, srid: 4326, geometry_column: "geom", id_column: "fid",
            minzoom: .minzoom, extent: 4096, buffer: 64, clip_geom: true,
            properties: ([.fields[] | select(.access == "public") | {key: .name, value: .type}] | from_entries)
          }
        }] | from_entries)
      }
    }' "$work/catalog.json" >"$work/martin.yaml"

# --- the tile list -------------------------------------------------------------
zooms_sql=$(for zn in $zoom_tiles; do printf '(%d, %d),' "${zn%%:*}" "${zn##*:}"; done)
points_sql=""
for l in ${layers//,/ }; do
  minzoom=$(jq -r --arg l "$l" '.layers[] | select(.id == $l) | .minzoom' "$work/catalog.json")
  [ -n "$points_sql" ] && points_sql+=" UNION ALL "
  points_sql+="SELECT $minzoom AS minzoom, (ST_XMin(geom) + ST_XMax(geom)) / 2 AS lon, (ST_YMin(geom) + ST_YMax(geom)) / 2 AS lat
    FROM $l WHERE fid % greatest(1, (SELECT count(*) FROM $l) / 20000) = 0"
done
"${psql_bench[@]}" >"$work/tiles.txt" <<SQL
WITH pts AS ($points_sql),
zooms(z, n) AS (VALUES ${zooms_sql%,}),
tiles AS (
  SELECT DISTINCT zooms.z, zooms.n,
    floor((pts.lon + 180) / 360 * 2 ^ zooms.z)::int AS x,
    floor((1 - ln(tan(radians(pts.lat)) + 1 / cos(radians(pts.lat))) / pi()) / 2 * 2 ^ zooms.z)::int AS y
  FROM pts JOIN zooms ON zooms.z >= pts.minzoom
),
picked AS (
  SELECT z, x, y, n, row_number() OVER (PARTITION BY z ORDER BY md5(z || '/' || x || '/' || y)) AS r FROM tiles
)
SELECT z || '/' || x || '/' || y FROM picked WHERE r <= n ORDER BY md5('order ' || z || '/' || x || '/' || y);
SQL
ntiles=$(wc -l <"$work/tiles.txt")
per_zoom=$(cut -d/ -f1 "$work/tiles.txt" | sort -n | uniq -c | awk '{ printf "%sz%s: %s", (NR > 1 ? ", " : ""), $2, $1 }')
say "tile list: $ntiles tiles of $layers ($per_zoom)"

# --- wrk -----------------------------------------------------------------------
prefix_of() { if [ "$1" = agrimap ]; then echo "/tiles/$layers/"; else echo "/$layers/"; fi; }
suffix_of() { if [ "$1" = agrimap ]; then echo ".mvt"; fi; }
port_of() { if [ "$1" = agrimap ]; then echo "$agrimap_port"; else echo "$martin_port"; fi; }

# CPU time (clock ticks) of processes, one "pid ticks" line each, to count what
# the server and PostgreSQL spend per request whatever else runs on the machine.
cpu_snapshot() {
  local p
  for p in "$@"; do
    printf '%s %s\n' "$p" "$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
  done
}
cpu_seconds() { # before after: seconds used by the processes of both snapshots, and new ones
  awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { a[$1] = $2; next } $2 != "" { d += $2 - ($1 in a ? a[$1] : 0) }
    END { printf "%.1f", d / hz }' "$1" "$2"
}
pg_pids() {
  local pm
  pm=$(head -1 "$pgdir/data/postmaster.pid")
  echo "$pm"
  pgrep -P "$pm" || true
}

run_wrk() { # name mode [encoding]: leaves wrk's output in $work/wrk-<name>-<mode>.txt
  local name=$1 mode=$2 encoding=${3:-gzip} done_dir=$work/done-$1-$2 d=$duration
  rm -rf "$done_dir"
  mkdir -p "$done_dir"
  cpu_snapshot "$server_pid" >"$work/cpu-server-0"
  # shellcheck disable=SC2046
  cpu_snapshot $(pg_pids) >"$work/cpu-pg-0"
  [ "$mode" = pass ] && d=3600s
  TILE_LIST=$work/tiles.txt TILE_PREFIX=$(prefix_of "$name") TILE_SUFFIX=$(suffix_of "$name") \
    TILE_THREADS=$threads TILE_MODE=$mode TILE_DONE_DIR=$done_dir TILE_ENCODING=$encoding \
    wrk -t"$threads" -c"$connections" -d"$d" --timeout 120s -s "$repo/benches/tile_list.lua" \
    "http://127.0.0.1:$(port_of "$name")" >"$work/wrk-$name-$mode-$encoding.txt" 2>&1 &
  local wrk_pid=$!
  pids+=("$wrk_pid")
  if [ "$mode" = pass ]; then
    # wrk only ends at -d or on SIGINT: end it once every thread has its answers.
    while kill -0 "$wrk_pid" 2>/dev/null && [ "$(find "$done_dir" -type f | wc -l)" -lt "$threads" ]; do
      sleep 0.1
    done
    kill -INT "$wrk_pid" 2>/dev/null || true
  fi
  wait "$wrk_pid" || true
  cpu_snapshot "$server_pid" >"$work/cpu-server-1"
  # shellcheck disable=SC2046
  cpu_snapshot $(pg_pids) >"$work/cpu-pg-1"
  printf 'CPU server=%s postgres=%s\n' "$(cpu_seconds "$work/cpu-server-0" "$work/cpu-server-1")" \
    "$(cpu_seconds "$work/cpu-pg-0" "$work/cpu-pg-1")" >>"$work/wrk-$name-$mode-$encoding.txt"
  grep -q '^RESULT' "$work/wrk-$name-$mode-$encoding.txt" || {
    cat "$work/wrk-$name-$mode-$encoding.txt" >&2
    die "wrk failed against $name"
  }
}
wrk_result() { grep -h '^RESULT\|^CPU' "$work/wrk-$1-$2-${3:-gzip}.txt" | tr '\n' ' '; }

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# Transactions PostgreSQL has committed or rolled back in the bench database
# (backends report them at the latest when they exit: read after a server stops).
pg_xacts() { "${psql_bench[@]}" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'bench'"; }

declare -A result xacts
for name in $order; do
  prewarm
  sleep 1
  x0=$(pg_xacts)
  say "$name: fresh start, cold pass over $ntiles tiles ($connections connections)"
  start_server "$name"
  run_wrk "$name" pass
  result[$name-cold]=$(wrk_result "$name" pass)
  say "$name cold: ${result[$name-cold]}"
  say "$name: warm run, $duration"
  run_wrk "$name" loop
  result[$name-warm]=$(wrk_result "$name" loop)
  say "$name warm: ${result[$name-warm]}"
  if [ "$run_identity" = 1 ]; then
    say "$name: warm run without compression, $duration"
    run_wrk "$name" loop identity
    result[$name-identity]=$(wrk_result "$name" loop identity)
    say "$name warm, identity: ${result[$name-identity]}"
  fi
  # Every tile once more, one at a time: status and gzip body size of each.
  base="http://127.0.0.1:$(port_of "$name")$(prefix_of "$name")"
  sfx=$(suffix_of "$name")
  awk -v b="$base" -v s="$sfx" '{ printf "url = \"%s%s%s\"\noutput = \"/dev/null\"\n", b, $0, s }' \
    "$work/tiles.txt" >"$work/curl-$name.cfg"
  curl -s -H 'Accept-Encoding: gzip' -K "$work/curl-$name.cfg" -w '%{http_code} %{size_download}\n' \
    >"$work/check-$name.txt"
  stop_server
  sleep 1
  xacts[$name]=$(($(pg_xacts) - x0))
done

# --- agrimap again, with the coalesced tile layers its first pass kept -----------
if [ "$run_kept" = 1 ] && [[ " $order " == *" agrimap "* ]]; then
  prewarm
  say "agrimap: fresh start, cold pass again, with the tile layers the first pass kept"
  start_server agrimap
  run_wrk agrimap pass
  result[agrimap-kept]=$(wrk_result agrimap pass)
  say "agrimap cold, kept layers: ${result[agrimap-kept]}"
  stop_server
fi

# --- area per class: agrimap and Martin ------------------------------------------
area_out=""
if [ "$run_area" = 1 ]; then
  say "area per class of the coalesced layers, agrimap and Martin, every tile of the province at z10-z13"
  start_server martin
  AGRIMAP_TILE_SIZES_DATABASE=$url AGRIMAP_TILE_SIZES_MARTIN="http://127.0.0.1:$martin_port/$layers" \
    AGRIMAP_TILE_SIZES_ZOOMS=10-13 "$work/tile_sizes" --bench >"$work/area.txt" 2>"$work/area.err" || {
    cat "$work/area.err" >&2
    die "tile_sizes failed"
  }
  stop_server
  area_out=$(cat "$work/area.txt")
fi

# --- pg_tiles ------------------------------------------------------------------
pg_tiles_out=""
if [ "$run_pg_tiles" = 1 ]; then
  prewarm
  say "pg_tiles: ST_AsMVT against the Rust path on the same database and list"
  AGRIMAP_BENCH_DATABASE_URL=$url AGRIMAP_BENCH_TILES=$work/tiles.txt AGRIMAP_BENCH_LAYERS=$layers \
    "$work/pg_tiles" --bench >"$work/pg_tiles.txt" 2>"$work/pg_tiles.err" || {
    cat "$work/pg_tiles.err" >&2
    die "pg_tiles failed"
  }
  pg_tiles_out=$(cat "$work/pg_tiles.txt")
fi

# --- report --------------------------------------------------------------------
echo
echo "== agrimap vs Martin $("$martin" --version 2>/dev/null | head -1 | awk '{print $NF}'), $parcels parcels, layers $layers =="
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1); PostgreSQL $("${psql_bench[@]}" -c 'SHOW server_version' | awk '{print $1}'), PostGIS $("${psql_bench[@]}" -c 'SELECT postgis_lib_version()'); database $db_size, shared_buffers $shared_buffers"
echo "load average (1, 5, 15 min) at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tile list: $ntiles tiles, $per_zoom"
echo "wrk: $threads threads, $connections connections, Accept-Encoding: gzip; cold = one pass right after a fresh start; warm = $duration after it"
echo "tile cache $cache_mb MB on both (agrimap keeps gzip bodies, Martin tiles before compression); both RUST_LOG=warn"
echo
echo "check (every tile once more after the runs, curl, gzip):"
for name in $order; do
  awk -v n="$name" '{ c[$1]++; if ($1 == 200) { b += $2; if ($2 > 0) ne++ } }
    END { printf "  %-8s 200: %d (non-empty bodies: %d), 204: %d, other: %d; gzip bytes %.1f MB, mean %.1f kB per 200\n",
          n, c[200], ne, c[204], NR - c[200] - c[204], b / 1e6, (c[200] ? b / c[200] / 1e3 : 0) }' "$work/check-$name.txt"
done
[ -f "$work/check-agrimap.txt" ] && [ -f "$work/check-martin.txt" ] &&
  paste -d' ' "$work/check-agrimap.txt" "$work/check-martin.txt" "$work/tiles.txt" |
  awk '($1 == 200) != ($3 == 200) { d++; if (d <= 5) printf "    differs: %s agrimap %s (%s B), martin %s (%s B)\n", $5, $1, $2, $3, $4 }
       END { printf "  tiles non-empty on one server and empty on the other: %d\n", d }'
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else printf "-" }'; }
errors_of() { echo $(($(field "$1" errors_connect) + $(field "$1" errors_read) + $(field "$1" errors_write) + $(field "$1" errors_status) + $(field "$1" errors_timeout))); }
runs="cold warm"
[ "$run_identity" = 1 ] && runs+=" identity"
label_of() {
  case $1 in
    cold) echo "cold, one pass" ;;
    warm) echo "warm, gzip" ;;
    identity) echo "warm, identity" ;;
  esac
}
echo "CPU: seconds used during the run by the server process and by PostgreSQL (all its processes),"
echo "and their sum per request: the machine's other work does not count in it"
printf '%-8s %-15s | %10s %9s %9s %9s | %9s %7s | %7s %7s %8s\n' server run "tiles/s" "p50 ms" "p99 ms" "max ms" \
  requests errors "srv CPU" "pg CPU" "CPU ms/r"
for name in $order; do
  for run in $runs; do
    r=${result[$name-$run]}
    printf '%-8s %-15s | %10s %9s %9s %9s | %9s %7s | %7s %7s %8s\n' "$name" "$(label_of "$run")" "$(field "$r" rps)" \
      "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" max_ms)" "$(field "$r" requests)" "$(errors_of "$r")" \
      "$(field "$r" server)" "$(field "$r" postgres)" \
      "$(ratio "$(echo "($(field "$r" server) + $(field "$r" postgres)) * 1000" | bc -l)" "$(field "$r" requests)")"
  done
done
if [ -n "${result[agrimap-kept]:-}" ]; then
  r=${result[agrimap-kept]}
  printf '%-8s %-15s | %10s %9s %9s %9s | %9s %7s | %7s %7s %8s\n' agrimap "cold, kept" "$(field "$r" rps)" \
    "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" max_ms)" "$(field "$r" requests)" "$(errors_of "$r")" \
    "$(field "$r" server)" "$(field "$r" postgres)" \
    "$(ratio "$(echo "($(field "$r" server) + $(field "$r" postgres)) * 1000" | bc -l)" "$(field "$r" requests)")"
  echo "  (cold, kept: restarted after the runs above, so the tile cache is empty but the coalesced layers"
  echo "   the first pass drew are in the database: what a tile costs after a restart or a write elsewhere)"
fi
if [ -n "${result[agrimap-cold]:-}" ] && [ -n "${result[martin-cold]:-}" ]; then
  echo
  echo "agrimap/Martin (throughput above 1: agrimap serves more; latency below 1: agrimap answers sooner):"
  for run in $runs; do
    a=${result[agrimap-$run]} m=${result[martin-$run]}
    printf '  %-15s throughput %6sx   p50 %7sx   p99 %7sx\n' "$(label_of "$run")" "$(ratio "$(field "$a" rps)" "$(field "$m" rps)")" \
      "$(ratio "$(field "$a" p50_ms)" "$(field "$m" p50_ms)")" "$(ratio "$(field "$a" p99_ms)" "$(field "$m" p99_ms)")"
  done
fi
echo
for name in $order; do
  c=${result[$name-cold]}
  echo "  $name cold pass: complete: $(field "$c" pass_complete); answers 200: $(field "$c" status_200) (gzip: $(field "$c" gzip)), 204: $(field "$c" status_204), other: $(field "$c" status_other); bodies $(field "$c" body_mb) MB; $(field "$c" seconds) s"
  n=$ntiles
  for run in $runs; do n=$((n + $(field "${result[$name-$run]}" requests))); done
  echo "  $name: PostgreSQL transactions over all its runs and the check: ${xacts[$name]} for $n requests ($(ratio "${xacts[$name]}" "$n") per request)"
done
[ -s "$work/agrimap.log" ] && grep -q ' 503 ' "$work/agrimap.log" &&
  echo "  agrimap answered $(grep -c 'Status code: 503' "$work/agrimap.log") requests with 503; its log says: $(grep -m1 'store unavailable' "$work/agrimap.log" | sed 's/.*cause=//')"
if [ -n "$area_out" ]; then
  echo
  echo "== every tile of the province at z10-z13 (benches/tile_sizes.rs), with Martin's area per class =="
  cat <<<"$area_out"
fi
if [ -n "$pg_tiles_out" ]; then
  echo
  echo "== tiles made in PostGIS (ST_AsMVT) against tiles made in Rust (benches/pg_tiles.rs) =="
  grep -v '^RESULT' <<<"$pg_tiles_out"
fi
