#!/usr/bin/env bash
# Keeping the province's tiles ahead with several servers over one database:
# how many tile layers each server draws, and how long until every one is
# kept, when two (or more) servers start at once on a database with nothing
# kept (agrimap serve --keep-tiles-ahead, ARCHITECTURE.md "Kept ahead").
#
# For each agrimap binary given (to compare two builds in one run): the kept
# layers are forgotten, the servers started together, and once every server
# has logged the end of its pass, each one's count drawn, its time, and the
# CPU time all of them used.
#
# It empties tile_overviews, tile_overviews_redraw and tile_overview_edges
# of the database it is given (the kept layers are a cache; the servers draw
# them again).
#
# Needs curl and psql.
#
# Settings (environment):
#   AGRIMAP_KEEP_AHEAD_DATABASE  the PostGIS database to serve (required)
#   AGRIMAP_KEEP_AHEAD_BINARIES  agrimap binaries to compare, space-separated
#                                (default: this checkout, built in release)
#   AGRIMAP_KEEP_AHEAD_SERVERS   servers started at once (2)
set -euo pipefail
cd "$(dirname "$0")/.."

database=${AGRIMAP_KEEP_AHEAD_DATABASE:?set AGRIMAP_KEEP_AHEAD_DATABASE to a PostGIS database URL}
servers=${AGRIMAP_KEEP_AHEAD_SERVERS:-2}

say() { printf '[keep_ahead.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
for tool in curl psql; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done

. benches/agrimap_binaries.sh
agrimap_binaries "${AGRIMAP_KEEP_AHEAD_BINARIES:-}"

work=$(mktemp -d /tmp/agrimap-keep-ahead.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_kept() {
  psql -X -q -v ON_ERROR_STOP=1 "$database" \
    -c "SET client_min_messages = warning; TRUNCATE tile_overviews, tile_overviews_redraw, tile_overview_edges CASCADE"
}
# The CPU time (user + system, seconds) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"
}

echo "| agrimap | server | layers drawn | its pass, s | CPU of all servers, s |"
echo "|---|---|---|---|---|"
for bin in "${binaries[@]}"; do
  [ -x "$bin" ] || die "$bin is not an executable"
  forget_kept
  pids=()
  for i in $(seq 1 "$servers"); do
    port=$((20000 + RANDOM % 20000))
    mkdir -p "$work/$i"
    RUST_LOG=info AGRIMAP_KEEP_TILES_AHEAD=true "$bin" serve --database "$database" \
      --listen "127.0.0.1:$port" --data-dir "$work/$i" --rate-per-address 0 >"$work/$i/serve.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 "$servers"); do
    for _ in $(seq 1 6000); do
      grep -q 'tile layers kept ahead' "$work/$i/serve.log" && break
      kill -0 "${pids[$((i - 1))]}" 2>/dev/null || die "agrimap exited: $(tail -20 "$work/$i/serve.log")"
      sleep 0.1
    done
    grep -q 'tile layers kept ahead' "$work/$i/serve.log" || die "server $i did not end its pass"
  done
  cpu=0
  for pid in "${pids[@]}"; do cpu=$(echo "$cpu + $(cpu_seconds "$pid")" | bc); done
  for i in $(seq 1 "$servers"); do
    line=$(grep 'tile layers kept ahead' "$work/$i/serve.log")
    drawn=$(sed -E 's/.*drawn=([0-9]+).*/\1/' <<<"$line")
    seconds=$(sed -E 's/.*seconds=([0-9]+).*/\1/' <<<"$line")
    echo "| $bin | $i | $drawn | $seconds | $cpu |"
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
done
