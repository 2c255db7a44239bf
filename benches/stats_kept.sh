#!/usr/bin/env bash
# Statistics kept at write time on a large province: the first table after
# a write and the bulk recomputation of splits, against PostGIS's own SQL
# (see benches/stats_kept.rs), on a throwaway PostgreSQL cluster
# (benches/throwaway_pg.sh).
#
# Settings (environment):
#   CARGO_TARGET_DIR            where the bench is built (/tmp/bench-target)
#   AGRIMAP_BENCH_PARCELS       parcels (1000000)
#   AGRIMAP_BENCH_RUNS          timed runs (5)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
. benches/throwaway_pg.sh

# Build first, so that the cluster does not sit idle through a long build.
cargo bench --bench stats_kept --no-run
throwaway_pg
echo "stats_kept.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')" >&2
cargo bench --bench stats_kept
