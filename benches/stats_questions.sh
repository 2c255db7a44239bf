#!/usr/bin/env bash
# A planner's filtered, cross-tabulated question on a large province: the
# engine against PostGIS's own SQL, and from the store cold, cold after a
# write and warm (see benches/stats_questions.rs), on a throwaway PostgreSQL
# cluster (benches/throwaway_pg.sh).
#
# Settings (environment):
#   CARGO_TARGET_DIR            where the bench is built (/tmp/bench-target)
#   AGRIMAP_BENCH_PARCELS       parcels (1000000)
#   AGRIMAP_BENCH_RUNS          timed engine runs (5)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
. benches/throwaway_pg.sh

# Build first, so that the cluster does not sit idle through a long build.
cargo bench --bench stats_questions --no-run
throwaway_pg
echo "stats_questions.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')" >&2
cargo bench --bench stats_questions
