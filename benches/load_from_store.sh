#!/usr/bin/env bash
# Moving a province from the embedded store to PostGIS: how long
# `agrimap load --from store.gpkg` takes into a new database, and what it
# carries (features, past versions, NTM dossiers, alert history, registries),
# for each agrimap binary given (to compare two builds in one run).
#
# The store is the demo province (seeded from data/demo, with its three years
# of history, by the first command on a new data directory) unless
# AGRIMAP_LOAD_FROM names another. Each
# binary loads it three times, each time into a database of its own on a
# throwaway cluster (benches/throwaway_pg.sh); the wall time of each load and
# the line the command ends with are printed.
#
# Settings (environment):
#   AGRIMAP_LOAD_FROM      the embedded store to load (default: the demo's, made here)
#   AGRIMAP_LOAD_BINARIES  agrimap binaries to compare, space-separated
#                          (default: this checkout, built in release)
#   AGRIMAP_LOAD_RUNS      loads per binary (3)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/throwaway_pg.sh

runs=${AGRIMAP_LOAD_RUNS:-3}
say() { printf '[load_from_store.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v psql >/dev/null 2>&1 || { say "error: psql is missing"; exit 1; }

. benches/agrimap_binaries.sh
agrimap_binaries "${AGRIMAP_LOAD_BINARIES:-}"

throwaway_pg
work=$(mktemp -d /tmp/agrimap-load-from.XXXXXX)
trap 'stop_throwaway_pg; rm -rf "$work"' EXIT
from=${AGRIMAP_LOAD_FROM:-}
if [ -z "$from" ]; then
  say "seeding the demo store"
  "${binaries[0]}" token list --data-dir "$work/demo" >/dev/null
  from="$work/demo/agrimap.gpkg"
fi
say "loading $from ($(du -h "$from" | cut -f1))"

n=0
for binary in "${binaries[@]}"; do
  for run in $(seq "$runs"); do
    n=$((n + 1))
    database="load_$n"
    psql -q "$AGRIMAP_BENCH_DATABASE_URL" -c "CREATE DATABASE $database" >/dev/null
    url="${AGRIMAP_BENCH_DATABASE_URL%/*}/$database"
    started=$(date +%s.%N)
    out=$(DATABASE_URL="$url" "$binary" load --from "$from" 2>"$work/stderr") ||
      { cat "$work/stderr" >&2; exit 1; }
    ended=$(date +%s.%N)
    printf '%s run %s: %.1f s  | %s\n' "$binary" "$run" "$(echo "$ended - $started" | bc)" "$(tail -n 1 <<<"$out")"
    [ "$run" = 1 ] && grep -v '^loaded' <<<"$out" | sed 's/^/    /'
  done
done
