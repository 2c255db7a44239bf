#!/usr/bin/env bash
# Alerts pushed to people, under load, on PostGIS (issue 18's performance):
#
# 1. ingestion with subscriptions: 100 subscriptions hear every change (one of
#    them to a receiver that takes 2 s per call), and the 16 stations of the
#    ingestion bench (benches/ingest.rs) post for 30 s; meanwhile station WQ-17
#    posts an alarm every second (and clears it half a second later), each
#    alarm going to all 100, and each is timed from its commit to its arrival
#    at the quick receiver (benches/alerts.py deliveries). With
#    AGRIMAP_ALERTS_INGEST_ALARM_EVERY=N the ingesting stations raise alarms
#    too, every Nth batch (a far heavier load of deliveries);
# 2. the live feed: 10,000 clients hold /api/alerts/stream open; the server's
#    resident memory then, and how many receive the next alarm (benches/alerts.py sse).
#
# A throwaway PostgreSQL 15 + PostGIS cluster (loopback, random port, durable
# defaults, removed on exit) as benches/ingest.sh makes one; the release
# `agrimap serve` with webhooks to loopback allowed, no address quotas and
# no silence check (the demo's stations report from the past).
#
# Settings: CARGO_TARGET_DIR (/tmp/bench-target), AGRIMAP_ALERTS_SECONDS (30),
# AGRIMAP_ALERTS_SUBSCRIPTIONS (100), AGRIMAP_ALERTS_SLOW_MS (2000),
# AGRIMAP_ALERTS_SSE_CLIENTS (10000).
set -euo pipefail
# The servers started here serve what is measured, not a background pass
# drawing every tile of the province ahead (agrimap serve --keep-tiles-ahead).
export AGRIMAP_KEEP_TILES_AHEAD=false
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
seconds=${AGRIMAP_ALERTS_SECONDS:-30}
subscriptions=${AGRIMAP_ALERTS_SUBSCRIPTIONS:-100}
slow_ms=${AGRIMAP_ALERTS_SLOW_MS:-2000}
sse_clients=${AGRIMAP_ALERTS_SSE_CLIENTS:-10000}
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "alerts.sh: PostgreSQL 15 is missing (bash tests/run.sh installs it)" >&2; exit 1; }
# Each side of 10,000 live-feed connections holds as many descriptors.
ulimit -n "$(ulimit -Hn)"

cargo build --release -p agrimap --bin agrimap
cargo bench --bench ingest --no-run
agrimap=$CARGO_TARGET_DIR/release/agrimap

work=$(mktemp -d /tmp/agrimap-alerts.XXXXXX)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$(mktemp -d /tmp/agrimap-pg.XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir" "$work"
}
trap cleanup EXIT

echo "alerts.sh: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/{print $2}') GiB" >&2
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
pgport=$((54000 + RANDOM % 1000))
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c max_connections=300" start >/dev/null
psql -X -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -c "CREATE DATABASE agrimap"
url="postgres://postgres@127.0.0.1:$pgport/agrimap"
"$agrimap" load --database "$url" --from data/demo

# WQ-17, the probe whose alarms are timed, beside the 16 the ingestion bench drives.
"$agrimap" station --database "$url" add --id WQ-17 --name "Trạm đo thời gian" --kind water_quality \
  --commune 33001 --lon 105.81 --lat 9.93 --parameters salinity
pairs=()
for i in $(seq -w 1 17); do
  pairs+=("WQ-$i:$("$agrimap" station --database "$url" token "WQ-$i")")
done
stations=$(IFS=,; echo "${pairs[*]:0:16}")
probe=${pairs[16]}
editor=$("$agrimap" token --database "$url" create --name "alerts bench" --role editor | tail -1)

log=$work/serve.log
"$agrimap" serve --database "$url" --listen 127.0.0.1:0 --allow-private-webhooks --silence-check-seconds 0 \
  --rate-per-address 0 --rate-per-token 0 --max-connections-per-address 0 2>"$log" &
server=$!
for _ in $(seq 600); do
  base=$(grep -o 'http://[0-9.:]*' "$log" | head -1 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$log" >&2; exit 1; }

echo "== ingestion with $subscriptions subscriptions, one receiver taking $slow_ms ms per call" >&2
python3 benches/alerts.py deliveries "$base" "$editor" "$probe" "$((seconds + 5))" "$subscriptions" "$slow_ms" &
driver=$!
sleep 3
AGRIMAP_INGEST_URL=$base AGRIMAP_INGEST_STATIONS=$stations AGRIMAP_INGEST_DATABASE=$url \
  AGRIMAP_INGEST_SECONDS=$seconds AGRIMAP_INGEST_ALARM_EVERY=${AGRIMAP_ALERTS_INGEST_ALARM_EVERY:-0} \
  AGRIMAP_INGEST_LABEL="PostGIS, $subscriptions subscriptions" AGRIMAP_INGEST_PIDS="agrimap=$server" \
  cargo bench --bench ingest
wait "$driver"
echo "alerts.sh: deliveries queued by status: $(psql -X -h 127.0.0.1 -p "$pgport" -U postgres -d agrimap -Atc \
  "SELECT string_agg(status || '=' || n, ', ') FROM (SELECT status, count(*) n FROM agrimap_alert_deliveries GROUP BY status) s")" >&2

echo "== $sse_clients clients of the live feed" >&2
python3 benches/alerts.py sse "$base" "$server" "$sse_clients" "$probe"
