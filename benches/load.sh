#!/usr/bin/env bash
# Load and faults on the PostGIS store (issue 8, items 5 and 6).
#
#  1. builds agrimap (release) and benches/load.rs, niced: the machine may be shared
#  2. starts a throwaway PostgreSQL 15 + PostGIS cluster on loopback (random
#     port, durable defaults: fsync and synchronous_commit on), removed on exit
#  3. loads the demo province with `agrimap load` (data/demo, 60,000 parcels;
#     AGRIMAP_LOAD_PARCELS generates a bigger one with `agrimap demo-data`)
#  4. issues station tokens for WQ-09..WQ-16 (`agrimap station token`) and a
#     planner's API token (`agrimap token create --role planner`)
#  5. starts the release `agrimap serve --database` with the request quotas off
#     (every client connection comes from one address)
#  6. runs benches/load.rs against it: 64 connections over a fixed, seeded mix
#     of tiles, /ogc items (some with the planner's token), commune summaries,
#     statistics, readings series and readings posted by the stations, for
#     AGRIMAP_LOAD_DURATION; the server's resident memory every 10 s; then the
#     fault phase: PostgreSQL killed (`pg_ctl stop -m immediate`) under the same
#     load, 20 s later started again, and what every kind of request was
#     answered meanwhile and after
#  7. prints what the server logged at warn and above, grouped
#
# Everything it started (PostgreSQL, agrimap, the bench) is stopped on exit and
# its temporary directory removed.
#
# Needs the Rust toolchain, PostgreSQL 15 with PostGIS 3 (the Debian packages
# tests/run.sh installs), curl and jq.
#
# Settings (environment):
#   CARGO_TARGET_DIR          where agrimap and the bench are built (/tmp/bench-target-load)
#   AGRIMAP_LOAD_DURATION     seconds of load before the fault phase (600)
#   AGRIMAP_LOAD_FAULT        the fault phase (1; 0 skips it)
#   AGRIMAP_LOAD_CONNECTIONS  concurrent connections (64)
#   AGRIMAP_LOAD_PARCELS      generate a province with this many parcels instead of data/demo
#   AGRIMAP_LOAD_CACHE_MB     the server's --tile-cache-mb (64, its default)
#   AGRIMAP_LOAD_FSYNC        fsync of the cluster (on)
#   AGRIMAP_LOAD_DATABASE     serve this PostGIS database instead (a URL; nothing is
#                             started or loaded, and without the cluster at hand the
#                             fault phase is skipped): e.g. the five provinces of
#                             2,000,000 parcels benches/partitions.sh keeps; readings
#                             are posted after the latest it holds
#   AGRIMAP_LOAD_WARMUP, AGRIMAP_LOAD_SEED, AGRIMAP_LOAD_FAULT_DOWN, AGRIMAP_LOAD_FAULT_AFTER,
#   AGRIMAP_LOAD_RSS_TOLERANCE, ...: see benches/load.rs
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target-load}
fault=${AGRIMAP_LOAD_FAULT:-1}
parcels=${AGRIMAP_LOAD_PARCELS:-}
cache_mb=${AGRIMAP_LOAD_CACHE_MB:-64}
fsync=${AGRIMAP_LOAD_FSYNC:-on}
database=${AGRIMAP_LOAD_DATABASE:-}
[ -n "$database" ] && fault=0

say() { printf '[load.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || die "PostgreSQL 15 is missing (bash tests/run.sh installs it)"
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || die "PostGIS 3 is missing (bash tests/run.sh installs it)"
for tool in curl jq; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done

# --- build (first, so that nothing waits through it) ---------------------------
say "building agrimap and the bench (release) into $CARGO_TARGET_DIR"
nice cargo build --release -p agrimap --bin agrimap
bench_bin=$(nice cargo bench --bench load --no-run --message-format=json |
  jq -r 'select(.reason == "compiler-artifact" and .target.name == "load") | .executable')
[ -x "$bench_bin" ] || die "the bench did not build"

# --- throwaway PostgreSQL cluster, server, temp files: all gone on exit -------
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work=$(mktemp -d /tmp/agrimap-load.XXXXXX)
chmod 755 "$work"
pgdir=$work/pg
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  [ -d "$pgdir/data" ] && as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$pgdir"
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
# Private copies: a later build into the same target directory cannot swap them mid-run.
cp "$CARGO_TARGET_DIR/release/agrimap" "$work/agrimap"
cp "$bench_bin" "$work/load"
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

if [ -n "$database" ]; then
  url=$database
  say "serving $url as it stands"
  psql=(psql -X -q -v ON_ERROR_STOP=1 "$url")
  pg_env=()
  # A database an earlier run posted to already holds that run's readings:
  # post after the latest, or every repeated reading is a duplicate.
  if [ -z "${AGRIMAP_LOAD_READINGS_START:-}" ]; then
    AGRIMAP_LOAD_READINGS_START=$("${psql[@]}" -At -c "SELECT to_char(greatest(max(time), '2026-11-21T00:00:00Z')
      AT TIME ZONE 'UTC' + interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM readings")
    export AGRIMAP_LOAD_READINGS_START
    say "readings posted from $AGRIMAP_LOAD_READINGS_START, after those the database holds"
  fi
else
  pgport=$(free_port)
  say "starting PostgreSQL on 127.0.0.1:$pgport (data in $pgdir)"
  as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
  # In the configuration file rather than on the command line: the fault phase
  # starts the cluster again with a plain `pg_ctl start`.
  cat >>"$pgdir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pgport
unix_socket_directories = '$pgdir'
max_connections = 200
fsync = $fsync
CONF
  pg_ctl_cmd="$pgbin/pg_ctl -D $pgdir/data"
  [ "$(id -u)" = 0 ] && pg_ctl_cmd="runuser -u postgres -- $pg_ctl_cmd"
  $pg_ctl_cmd -w -l "$pgdir/log" start >/dev/null
  psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" -U postgres)
  "${psql[@]}" -d postgres -c "CREATE DATABASE agrimap"
  psql+=(-d agrimap)
  url="postgres://postgres@127.0.0.1:$pgport/agrimap"

  # --- the province ----------------------------------------------------------------
  demo=data/demo
  if [ -n "$parcels" ]; then
    demo=$work/demo
    say "generating a demo province with $parcels parcels"
    nice "$agrimap" demo-data --parcels "$parcels" --out "$demo" >/dev/null
  fi
  say "loading $demo into PostGIS"
  "$agrimap" load --database "$url" --from "$demo" >"$work/load.log" 2>&1 || {
    cat "$work/load.log" >&2
    die "agrimap load failed"
  }
  "${psql[@]}" -c "VACUUM ANALYZE"
  pg_env=(AGRIMAP_LOAD_PG_PID="$(head -1 "$pgdir/data/postmaster.pid")")
fi

# --- tokens ------------------------------------------------------------------------
stations=()
for i in $(seq 9 16); do
  id=$(printf 'WQ-%02d' "$i")
  token=$("$agrimap" station token "$id" --database "$url" 2>"$work/token.err") || {
    cat "$work/token.err" >&2
    die "no token for $id"
  }
  stations+=("$id:$token")
done
planner=$("$agrimap" token create --role planner --name load --database "$url" 2>"$work/token.err") || {
  cat "$work/token.err" >&2
  die "no planner token"
}

# --- agrimap -----------------------------------------------------------------------
port=$(free_port)
RUST_LOG=warn "$agrimap" serve --database "$url" --listen "127.0.0.1:$port" --data-dir "$work/agrimap-data" \
  --tile-cache-mb "$cache_mb" --rate-per-address 0 --rate-per-token 0 >"$work/agrimap.log" 2>&1 &
server=$!
for _ in $(seq 600); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break
  kill -0 "$server" 2>/dev/null || die "agrimap exited: $(tail -20 "$work/agrimap.log")"
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$port/health" || die "agrimap did not answer /health"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/{print $2}') GiB;" \
  "PostgreSQL $("${psql[@]}" -Atc 'SHOW server_version' | awk '{print $1}')," \
  "PostGIS $("${psql[@]}" -Atc 'SELECT postgis_lib_version()'), fsync=$("${psql[@]}" -Atc 'SHOW fsync');" \
  "parcels: $("${psql[@]}" -Atc 'SELECT count(*) FROM crop'); tile cache $cache_mb MB"
echo "load average (1, 5, 15 min) at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the bench -----------------------------------------------------------------------
fault_env=()
if [ "$fault" = 1 ]; then
  fault_env=(AGRIMAP_LOAD_PG_STOP="$pg_ctl_cmd -m immediate stop"
    AGRIMAP_LOAD_PG_START="$pg_ctl_cmd -w -l $pgdir/log start")
fi
status=0
env AGRIMAP_LOAD_URL="http://127.0.0.1:$port" AGRIMAP_LOAD_PID="$server" \
  "${pg_env[@]}" \
  AGRIMAP_LOAD_STATIONS="$(
    IFS=,
    echo "${stations[*]}"
  )" \
  AGRIMAP_LOAD_PLANNER_TOKEN="$planner" "${fault_env[@]}" "$work/load" || status=$?

echo
echo "load average (1, 5, 15 min) at end: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -0 "$server" 2>/dev/null && echo "agrimap (pid $server) still running: $(sed -n 's/^VmRSS: *//p' "/proc/$server/status") resident"
echo "agrimap's log at warn and above, by message (count, level, target: message):"
sed -E 's/\x1b\[[0-9;]*m//g' "$work/agrimap.log" | grep -E ' (WARN|ERROR) ' |
  sed -E 's/^[^ ]+ +//; s/[a-z_]+\{.*\}: //; s/ [a-z_.]+=.*$//' | sort | uniq -c | sort -rn | head -10 || true
exit "$status"
