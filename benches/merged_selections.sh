#!/usr/bin/env bash
# What a planner of the new Đồng Tháp waits for when the department's parcels
# are still coded by the communes of before the reform: `province=82` (with
# the old Đồng Tháp, 87, merged into it) and `commune=30088&boundary_set=2025`
# (Xã Phong Mỹ, with the old Phong Mỹ merged wholly into it and the part of
# Gáo Giồng split into it, found by location), through `/ogc` items and the
# GeoJSON export, and the commune's NTM scorecard, which reads the same
# selection; with the same commune's old code alone beside them.
#
# The embedded store holds the real boundaries of Đồng Tháp before and after
# the reform (`../shared/data`), the official crosswalk, and about 96,000
# parcels of 55 m over the old province, each coded by the old commune it
# lies in (benches/support/old_coded_parcels.py). Each binary serves its own
# copy of the same store; each request is run once to warm up, then timed
# AGRIMAP_MERGED_RUNS times with curl (the median and the slowest).
#
# Settings (environment):
#   CARGO_TARGET_DIR          where agrimap is built (/tmp/bench-target)
#   AGRIMAP_SHARED_DATA       the real files (../shared/data)
#   AGRIMAP_MERGED_SPACING    grid spacing of the parcels in degrees (0.0017)
#   AGRIMAP_MERGED_RUNS       timed runs per request (9)
#   AGRIMAP_MERGED_BINARIES   agrimap binaries to compare, space-separated
#                             (this checkout's, built in release, by default)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
shared=${AGRIMAP_SHARED_DATA:-../shared/data}
spacing=${AGRIMAP_MERGED_SPACING:-0.0017}
runs=${AGRIMAP_MERGED_RUNS:-9}
die() { echo "merged_selections.sh: $*" >&2; exit 1; }
[ -f "$shared/dong-thap-communes-2025.geojson" ] || die "no real files in $shared (set AGRIMAP_SHARED_DATA)"

. benches/agrimap_binaries.sh
agrimap_binaries "${AGRIMAP_MERGED_BINARIES:-}"

work=$(mktemp -d /tmp/agrimap-merged.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 benches/support/old_coded_parcels.py "$shared/dong-thap-communes-pre2025.geojson" "$spacing" >"$work/parcels.geojson"
first=${binaries[0]}
quiet() { "$@" >"$work/step.log" 2>&1 || die "$* failed: $(tail -5 "$work/step.log")"; }
quiet "$first" init --data-dir "$work/store"
quiet "$first" boundaries import "$shared/dong-thap-communes-pre2025.geojson" --set pre-2025 --data-dir "$work/store"
quiet "$first" boundaries import "$shared/dong-thap-communes-2025.geojson" --set 2025 --data-dir "$work/store"
quiet "$first" crosswalk import "$shared/communes-2025-merges.csv" --data-dir "$work/store"
quiet "$first" import "$work/parcels.geojson" --layer crop --data-dir "$work/store"
head -1 "$work/step.log" >&2

port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
requests=(
  "/ogc/collections/crop/items?province=82&limit=1000"
  "/ogc/collections/crop/items?commune=30088&boundary_set=2025&limit=1000"
  "/ogc/collections/crop/items?commune=30088&boundary_set=pre-2025&limit=1000"
  "/api/export/crop.geojson?commune=30088&boundary_set=2025"
  "/api/ntm/scorecards/30088?year=2025"
)

echo "| agrimap | request | features | median s | slowest s |"
echo "|---|---|---|---|---|"
for bin in "${binaries[@]}"; do
  [ -x "$bin" ] || die "$bin is not an executable"
  rm -rf "$work/served"
  cp -r "$work/store" "$work/served"
  secret=$("$bin" token create --role planner --name bench --data-dir "$work/served" 2>/dev/null)
  RUST_LOG=warn "$bin" serve --data-dir "$work/served" --listen "127.0.0.1:$port" --rate-per-address 0 \
    >>"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$base/health" && break
    kill -0 "$server_pid" 2>/dev/null || die "agrimap exited: $(tail -20 "$work/serve.log")"
    sleep 0.1
  done
  for r in "${requests[@]}"; do
    auth=(-H "Authorization: Bearer $secret")
    curl -sf "${auth[@]}" -o "$work/answer" "$base$r" || die "$bin: $r failed"
    features=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "numberMatched" in d: print(d["numberMatched"])
elif "features" in d: print(len(d["features"]))
else: print("-")' "$work/answer")
    times=$(for _ in $(seq 1 "$runs"); do
      curl -s "${auth[@]}" -o /dev/null -w '%{time_total}\n' "$base$r"
    done | sort -n)
    median=$(sed -n "$(((runs + 1) / 2))p" <<<"$times")
    slowest=$(tail -1 <<<"$times")
    echo "| $bin | \`$r\` | $features | $median | $slowest |"
  done
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done
