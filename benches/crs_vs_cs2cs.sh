#!/usr/bin/env bash
# 1,000,000 positions of the demo province from WGS 84 into VN-2000 / UTM
# zone 48N: agrimap_io::crs (criterion, crates/agrimap-io/benches/crs.rs)
# side by side with PROJ's cs2cs given the same CRS definition and shift.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cs2cs >/dev/null || { echo "needs cs2cs (Debian's proj-bin)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The grid the criterion bench uses: 1000 × 1000 over the province.
awk 'BEGIN { for (i = 0; i < 1000; i++) for (j = 0; j < 1000; j++)
  printf "%.7f %.7f\n", 105.45 + 0.00072 * i, 9.61 + 0.00065 * j }' >"$dir/grid.txt"
utm=$(projinfo EPSG:3405 -o PROJ -q | tail -1)
echo "cs2cs, 1,000,000 positions (wall time, best of 3):"
best=""
for _ in 1 2 3; do
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  cs2cs -f %.4f +proj=longlat +datum=WGS84 +to $utm <"$dir/grid.txt" >"$dir/out.txt"
  t=$(echo "$(date +%s.%N) - $start" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
echo "  ${best}s ($(wc -l <"$dir/out.txt") lines)"
cargo bench -p agrimap-io --bench crs
