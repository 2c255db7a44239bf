# Sourced by bench scripts: a throwaway PostgreSQL 15 + PostGIS cluster,
# exactly as tests/run.sh makes one (temporary directory, loopback only,
# random port, fsync off), stopped and removed when the script exits.
# Sets AGRIMAP_BENCH_DATABASE_URL. Needs the Debian packages tests/run.sh
# installs.

throwaway_pg() {
  local pgver=15
  pgbin=/usr/lib/postgresql/$pgver/bin
  [ -x "$pgbin/initdb" ] || { echo "PostgreSQL $pgver is missing (bash tests/run.sh installs it)" >&2; exit 1; }
  dpkg -s "postgresql-$pgver-postgis-3" >/dev/null 2>&1 ||
    { echo "PostGIS 3 is missing (bash tests/run.sh installs it)" >&2; exit 1; }
  pgdir=$(mktemp -d /tmp/agrimap-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
  pgport=$((54000 + RANDOM % 1000))
  trap stop_throwaway_pg EXIT
  as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c max_connections=300" start >/dev/null
  export AGRIMAP_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
}

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_throwaway_pg() {
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
