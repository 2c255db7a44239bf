#!/usr/bin/env bash
# Ingestion over MQTT (issue 7): how fast `agrimap serve --mqtt-url` takes a
# backlog of station batches from Mosquitto.
#
# A throwaway Mosquitto on a free loopback port (in memory, no limit on the
# messages queued for a client). agrimap is started once so that its
# persistent session and subscription exist, and stopped; then 16 stations
# (WQ-01..WQ-16, tokens from `agrimap station token`) publish their batches of
# 100 readings with QoS 1 (`mosquitto_pub -l`, one message a line), which the
# broker keeps for agrimap. agrimap is started again and timed from its start
# until it has published an answer for every batch (a persistent
# `mosquitto_sub` session counts them); then the answers are checked: every
# reading stored, none refused.
#
# Store: the embedded GeoPackage (a fresh data directory seeded from
# data/demo), or the PostGIS database at AGRIMAP_MQTT_DATABASE (loaded first
# with `agrimap load --database … --from data/demo`).
#
# Settings (environment):
#   CARGO_TARGET_DIR         where agrimap is built (/tmp/bench-target)
#   AGRIMAP_MQTT_BATCHES     batches per station (100)
#   AGRIMAP_MQTT_DATABASE    a PostgreSQL URL to use PostGIS instead of the embedded store
#                            (a freshly loaded database: the run's readings must be new)
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
batches=${AGRIMAP_MQTT_BATCHES:-100}
size=100
stations=16
mosquitto=/usr/sbin/mosquitto
[ -x "$mosquitto" ] || mosquitto=$(command -v mosquitto || true)
[ -n "$mosquitto" ] && command -v mosquitto_pub >/dev/null || {
  echo "mqtt_ingest.sh: mosquitto and mosquitto-clients are missing (bash tests/run.sh installs them)" >&2
  exit 1
}

cargo build --release -p agrimap --bin agrimap
agrimap=$CARGO_TARGET_DIR/release/agrimap

work=$(mktemp -d /tmp/agrimap-mqtt-bench.XXXXXX)
broker=""
server=""
cleanup() {
  [ -n "$server" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -n "$broker" ] && { kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${AGRIMAP_MQTT_DATABASE:-}" ]; then
  store=(--database "$AGRIMAP_MQTT_DATABASE")
  label=PostGIS
else
  store=(--data-dir "$work/gpkg" --seed-dir data/demo)
  label=GeoPackage
fi

port=$((20000 + RANDOM % 20000))
user=""
[ "$(id -u)" = 0 ] && user="user root"
printf '%s\nlistener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n' "$user" "$port" >"$work/mosquitto.conf"
"$mosquitto" -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
broker=$!
url=mqtt://127.0.0.1:$port
until mosquitto_pub -h 127.0.0.1 -p "$port" -t ping -m ping 2>/dev/null; do sleep 0.1; done

# Starts `agrimap serve` and waits until it is connected to the broker.
serve() {
  "$agrimap" serve --listen 127.0.0.1:0 --mqtt-url "$url" --mqtt-client-id agrimap-bench "${store[@]}" 2>"$work/serve.log" &
  server=$!
  until grep -q "MQTT connected" "$work/serve.log"; do
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.05
  done
}
stop_server() {
  kill -TERM "$server"
  wait "$server" || true
  server=""
}

echo "mqtt_ingest.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $label," \
  "$stations stations x $batches batches x $size readings, $("$mosquitto" -h | head -1)" >&2

# Each station's batches, one JSON payload a line: reading i at 2026-11-21T00:00:00Z + i s,
# salinity and pH in turn.
for i in $(seq -w 1 $stations); do
  token=$("$agrimap" station "${store[@]}" token "WQ-$i")
  awk -v T="$token" -v B="$batches" -v N="$size" 'BEGIN {
    for (b = 0; b < B; b++) {
      line = "{\"token\":\"" T "\",\"readings\":["
      for (j = 0; j < N; j++) {
        t = b * N + j; d = 21 + int(t / 86400); s = t % 86400
        if (t % 2 == 0) { p = "salinity"; u = "ppt"; v = 0.5 + (t % 5) / 10 } else { p = "ph"; u = "pH"; v = 7 + (t % 5) / 10 }
        line = line (j ? "," : "") sprintf("{\"parameter\":\"%s\",\"value\":%.1f,\"unit\":\"%s\",\"time\":\"2026-11-%02dT%02d:%02d:%02dZ\"}", p, v, u, d, int(s / 3600), int(s % 3600 / 60), s % 60)
      }
      print line "]}"
    }
  }' >"$work/WQ-$i.lines"
done

# agrimap's session and subscription, then the backlog while it is away.
serve
stop_server
sub=(mosquitto_sub -h 127.0.0.1 -p "$port" -i bench-results -c -q 1 -t 'agrimap/stations/+/readings/result')
"${sub[@]}" -E
publishers=()
for i in $(seq -w 1 $stations); do
  mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "agrimap/stations/WQ-$i/readings" -l <"$work/WQ-$i.lines" &
  publishers+=($!)
done
wait "${publishers[@]}"
total=$((stations * batches))

start=$(date +%s.%N)
serve
"${sub[@]}" -C "$total" >"$work/results"
end=$(date +%s.%N)
# Counted again through the HTTP API: each station's readings of the run, per day.
base=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
counted=0
for i in $(seq -w 1 $stations); do
  n=$(curl -fsS "$base/api/stations/WQ-$i/readings?from=2026-11-21T00:00:00Z&step=day" |
    grep -o '"count":[0-9]*' | awk -F: '{s += $2} END {print s + 0}')
  counted=$((counted + n))
done
stop_server

stored=$(grep -o '"stored":[0-9]*' "$work/results" | awk -F: '{s += $2} END {print s + 0}')
refused=$(grep -c '"error"' "$work/results" || true)
awk -v a="$start" -v b="$end" -v n="$stored" -v m="$total" -v r="$refused" 'BEGIN {
  printf "mqtt_ingest.sh: %d batches answered, %d readings stored, %d refused, in %.2f s from agrimap start: %.0f readings/s, %.0f batches/s\n", m, n, r, b - a, n / (b - a), m / (b - a)
}'
echo "mqtt_ingest.sh: readings of the run counted through the API afterwards: $counted"
[ "$stored" -eq $((total * size)) ] && [ "$counted" -eq $((total * size)) ] && [ "$refused" -eq 0 ] || {
  echo "mqtt_ingest.sh: expected $((total * size)) readings stored and counted" >&2
  exit 1
}
