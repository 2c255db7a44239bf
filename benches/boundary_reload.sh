#!/usr/bin/env bash
# Reloading a province's commune boundaries into the embedded store: how
# long `agrimap boundaries import` takes when the file changes nothing, and
# when every commune's boundary changed (the worst case for the features
# that follow their communes: every thematic feature of the province is
# read and placed on the old and the new boundaries), for each agrimap
# binary given (to compare two builds in one run).
#
# The store is the demo province (seeded from data/demo by the first
# command on a new data directory: 114 communes, 73,200 features). Its
# communes are exported as GeoJSON; the "changed" file moves every vertex by 1e-7° (1 cm), so every
# boundary differs and almost no feature changes commune.
#
# Settings (environment):
#   AGRIMAP_RELOAD_BINARIES  agrimap binaries to compare, space-separated
#                            (default: this checkout, built in release)
#   AGRIMAP_RELOAD_RUNS      reloads per binary and file (3)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${AGRIMAP_RELOAD_RUNS:-3}
say() { printf '[boundary_reload.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v python3 >/dev/null 2>&1 || { say "error: python3 is missing"; exit 1; }

. benches/agrimap_binaries.sh
agrimap_binaries "${AGRIMAP_RELOAD_BINARIES:-}"

work=$(mktemp -d /tmp/agrimap-boundary-reload.XXXXXX)
trap 'rm -rf "$work"' EXIT
say "seeding the demo store"
"${binaries[0]}" token list --data-dir "$work/demo" >/dev/null
"${binaries[0]}" export --layer admin_commune --data-dir "$work/demo" "$work/same.geojson" 2>/dev/null
python3 - "$work/same.geojson" "$work/changed.geojson" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def nudge(c):
    return [x + 1e-7 for x in c] if isinstance(c[0], float) else [nudge(x) for x in c]
for f in doc["features"]:
    f["geometry"]["coordinates"] = nudge(f["geometry"]["coordinates"])
json.dump(doc, open(sys.argv[2], "w"))
PY
first() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["features"][0]["properties"][sys.argv[2]])' "$work/same.geojson" "$1"; }
province=$(first province_code)
set=$(first boundary_set)
say "$(grep -o '"type":"Feature"' "$work/same.geojson" | wc -l) communes of province $province, set $set"

for binary in "${binaries[@]}"; do
  for file in same changed; do
    for run in $(seq "$runs"); do
      cp "$work/demo/agrimap.gpkg" "$work/store.gpkg"
      mkdir -p "$work/run" && mv "$work/store.gpkg" "$work/run/agrimap.gpkg"
      started=$(date +%s.%N)
      "$binary" boundaries import "$work/$file.geojson" --set "$set" --province "$province" \
        --data-dir "$work/run" 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
      ended=$(date +%s.%N)
      printf '%s %-7s run %s: %.2f s  | %s\n' "$binary" "$file" "$run" "$(echo "$ended - $started" | bc)" \
        "$(head -n 1 "$work/stderr" | sed 's/.*; \([0-9]* added\)/\1/')"
      rm -rf "$work/run"
    done
  done
done
