#!/usr/bin/env bash
# Crop area by commune and crop type: agrimap-analysis on 1 and 2 threads
# against the equivalent single PostGIS query (issue 4, item 5).
#
# Starts a throwaway PostgreSQL 15 + PostGIS cluster exactly as tests/run.sh
# does (temporary directory, loopback only, random port, fsync off, stopped and
# removed on exit), then runs benches/aggregate.rs against it, which loads the
# demo province into it and times both sides (see that file).
#
# Needs the Rust toolchain and PostgreSQL 15 with PostGIS 3 (the Debian packages
# tests/run.sh installs).
#
# Settings (environment):
#   CARGO_TARGET_DIR            where the bench is built (/tmp/bench-target)
#   AGRIMAP_BENCH_PARCELS       parcel counts, comma-separated (1000000,2000000)
#   AGRIMAP_BENCH_RUNS          timed engine runs per thread count (7)
#   AGRIMAP_BENCH_SQL_RUNS      timed PostGIS runs (3)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}

pgver=15
pgbin=/usr/lib/postgresql/$pgver/bin
[ -x "$pgbin/initdb" ] || {
  echo "aggregate.sh: PostgreSQL $pgver is missing (bash tests/run.sh installs it)" >&2
  exit 1
}
dpkg -s "postgresql-$pgver-postgis-3" >/dev/null 2>&1 || {
  echo "aggregate.sh: PostGIS 3 is missing (bash tests/run.sh installs it)" >&2
  exit 1
}

# Build first, so that the cluster does not sit idle through a long build.
cargo bench --bench aggregate --no-run

# A throwaway PostgreSQL cluster on loopback, removed on exit.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$(mktemp -d /tmp/agrimap-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
pgport=$((54000 + RANDOM % 1000))
stop_pg() {
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap stop_pg EXIT
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c max_connections=300" start >/dev/null
export AGRIMAP_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"

echo "aggregate.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'); PostgreSQL on port $pgport" >&2
cargo bench --bench aggregate
