#!/usr/bin/env bash
# Sustained ingestion through POST /api/stations/{id}/readings (issue 7, item 5):
# 16 stations (WQ-01..WQ-16 of the demo province) post batches of 100 readings
# at once for a fixed time, first into PostGIS, then into the embedded
# GeoPackage store; after each run every reading is counted (benches/ingest.rs).
#
# PostGIS: a throwaway PostgreSQL 15 + PostGIS cluster as tests/run.sh starts
# one (temporary directory, loopback only, random port, stopped and removed on
# exit), but with PostgreSQL's durable defaults: fsync and synchronous_commit
# on, so an acknowledged batch is on disk (the test cluster runs fsync=off).
# pg_stat_statements is loaded so that the bench can say where the database
# time goes. The demo province is loaded with `agrimap load`, the 16 stations
# get tokens with `agrimap station token`, and the release `agrimap serve
# --database` takes the readings.
#
# GeoPackage: a fresh data directory seeded from data/demo, tokens with
# `agrimap station token --data-dir`, and `agrimap serve --data-dir`.
#
# Needs the Rust toolchain and PostgreSQL 15 with PostGIS 3 (the Debian
# packages tests/run.sh installs).
#
# Settings (environment):
#   CARGO_TARGET_DIR          where agrimap and the bench are built (/tmp/bench-target)
#   AGRIMAP_INGEST_SECONDS    how long the clients post, per store (30)
#   AGRIMAP_INGEST_STORES     which stores, comma-separated (postgis,geopackage)
#   AGRIMAP_INGEST_FSYNC      fsync of the PostgreSQL cluster (on); off to compare
#   AGRIMAP_INGEST_PG_SQL     SQL run on the loaded database before serving, to try a
#                             schema change without rebuilding (e.g. an extra index)
#   AGRIMAP_INGEST_BATCH, AGRIMAP_INGEST_START, AGRIMAP_INGEST_RESEND: see benches/ingest.rs
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
stores=${AGRIMAP_INGEST_STORES:-postgis,geopackage}
fsync=${AGRIMAP_INGEST_FSYNC:-on}
clients=16

pgver=15
pgbin=/usr/lib/postgresql/$pgver/bin
if [[ ,$stores, == *,postgis,* ]]; then
  [ -x "$pgbin/initdb" ] || {
    echo "ingest.sh: PostgreSQL $pgver is missing (bash tests/run.sh installs it)" >&2
    exit 1
  }
  dpkg -s "postgresql-$pgver-postgis-3" >/dev/null 2>&1 || {
    echo "ingest.sh: PostGIS 3 is missing (bash tests/run.sh installs it)" >&2
    exit 1
  }
fi

# Build first, so that nothing sits idle through a long build.
cargo build --release -p agrimap --bin agrimap
cargo bench --bench ingest --no-run
agrimap=$CARGO_TARGET_DIR/release/agrimap

work=$(mktemp -d /tmp/agrimap-ingest.XXXXXX)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=""
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$pgdir" ]; then
    as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts `agrimap serve` with the given arguments on a free loopback port and
# waits until it answers; sets $server (pid) and $base (URL).
serve() {
  local log=$work/serve-$1.log
  shift
  # The stations post with their own tokens from one address: no address quota.
  # No silence check: the bench's readings are dated in the past.
  "$agrimap" serve --listen 127.0.0.1:0 --rate-per-address 0 --silence-check-seconds 0 "$@" 2>"$log" &
  server=$!
  for _ in $(seq 600); do
    base=$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)
    [ -n "$base" ] && return 0
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "ingest.sh: agrimap serve did not start" >&2
  exit 1
}

stop_server() {
  kill -TERM "$server"
  wait "$server" || true
  server=""
}

# ID:TOKEN pairs for WQ-01..WQ-16, tokens issued by `agrimap station token`
# (the store flags go before the subcommand).
tokens() {
  local pairs=() id token
  for i in $(seq -w 1 $clients); do
    id=WQ-$i
    token=$("$agrimap" station "$@" token "$id" 2>"$work/token.err") || { cat "$work/token.err" >&2; exit 1; }
    pairs+=("$id:$token")
  done
  (IFS=,; echo "${pairs[*]}")
}

echo "ingest.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB" >&2

if [[ ,$stores, == *,postgis,* ]]; then
  pgdir=$(mktemp -d /tmp/agrimap-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
  pgport=$((54000 + RANDOM % 1000))
  as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=$fsync -c max_connections=300 \
        -c shared_preload_libraries=pg_stat_statements" start >/dev/null
  psql=(psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -v ON_ERROR_STOP=1)
  "${psql[@]}" -d postgres -c "CREATE DATABASE agrimap"
  url="postgres://postgres@127.0.0.1:$pgport/agrimap"
  echo "ingest.sh: PostgreSQL $("${psql[@]}" -d postgres -Atc 'SHOW server_version') on port $pgport," \
    "fsync=$("${psql[@]}" -d postgres -Atc 'SHOW fsync')," \
    "synchronous_commit=$("${psql[@]}" -d postgres -Atc 'SHOW synchronous_commit')" >&2
  "$agrimap" load --database "$url" --from data/demo
  "${psql[@]}" -d agrimap -c "CREATE EXTENSION pg_stat_statements"
  if [ -n "${AGRIMAP_INGEST_PG_SQL:-}" ]; then
    echo "ingest.sh: before serving: $AGRIMAP_INGEST_PG_SQL" >&2
    "${psql[@]}" -d agrimap -c "$AGRIMAP_INGEST_PG_SQL"
  fi
  stations=$(tokens --database "$url")
  serve postgis --database "$url"
  postmaster=$(head -1 "$pgdir/data/postmaster.pid")
  AGRIMAP_INGEST_URL=$base AGRIMAP_INGEST_STATIONS=$stations AGRIMAP_INGEST_DATABASE=$url \
    AGRIMAP_INGEST_LABEL="PostGIS, fsync=$fsync" AGRIMAP_INGEST_PIDS="agrimap=$server,postgres=$postmaster" \
    cargo bench --bench ingest
  stop_server
fi

if [[ ,$stores, == *,geopackage,* ]]; then
  data=$work/gpkg
  stations=$(tokens --data-dir "$data" --seed-dir data/demo)
  serve geopackage --data-dir "$data" --seed-dir data/demo
  AGRIMAP_INGEST_URL=$base AGRIMAP_INGEST_STATIONS=$stations AGRIMAP_INGEST_GPKG=$data/agrimap.gpkg \
    AGRIMAP_INGEST_LABEL="GeoPackage" AGRIMAP_INGEST_PIDS="agrimap=$server" \
    cargo bench --bench ingest
  stop_server
fi
