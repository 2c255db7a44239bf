#!/usr/bin/env bash
# The whole test suite, on a fresh machine with the Rust toolchain.
# Installs what the tests drive as real components (GDAL's ogrinfo/ogr2ogr and
# its library for the `gdal` feature, PROJ's cs2cs, PostgreSQL with PostGIS,
# Chromium and Node.js, Mosquitto, nginx, from Debian; the browser tests'
# npm packages), starts a throwaway PostgreSQL cluster, checks the
# dependencies' licences and sources, builds the workspace once, then runs
# every test and doc example.
set -euo pipefail
cd "$(dirname "$0")/.."

pgver=15
pgbin=/usr/lib/postgresql/$pgver/bin
missing=()
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
# PROJ's own cs2cs, cct and projinfo: what agrimap's VN-2000 transformations are held to.
command -v cs2cs >/dev/null 2>&1 || missing+=(proj-bin)
# GDAL's library and headers for the `gdal` feature (agrimap import of every
# vector format); its Rust bindings are prebuilt for GDAL 3.6, so no clang.
pkg-config --exists gdal 2>/dev/null || missing+=(libgdal-dev pkg-config)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x "$pgbin/initdb" ] || missing+=("postgresql-$pgver")
dpkg -s "postgresql-$pgver-postgis-3" >/dev/null 2>&1 || missing+=("postgresql-$pgver-postgis-3")
# The map page's tests drive Debian's Chromium through playwright-core (tests/browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# tests/mqtt.rs runs its own Mosquitto broker and publishes with its clients.
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
# tests/browser.rs serves a province's map archive from nginx, as a province would publish it.
[ -x /usr/sbin/nginx ] || missing+=(nginx)
# tests/metrics.rs reads /metrics with the Prometheus project's OpenMetrics parser.
/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1 || missing+=(python3-prometheus-client)
if ((${#missing[@]})); then
  echo "tests/run.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Debian would create and start a default cluster; the tests run their own.
  $sudo mkdir -p /etc/postgresql-common
  [ -f /etc/postgresql-common/createcluster.conf ] ||
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  # Debian starts a system-wide Mosquitto on port 1883; the tests run their own
  # brokers on free ports and need none.
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
  # Likewise Debian's nginx on port 80: the tests run their own on free ports.
  if [[ " ${missing[*]} " == *" nginx "* ]]; then
    if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now nginx >/dev/null 2>&1 || true; fi
    $sudo service nginx stop >/dev/null 2>&1 || true
  fi
fi

# A throwaway PostgreSQL cluster on loopback for the PostGIS store, removed on exit.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$(mktemp -d /tmp/agrimap-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
pgport=$((54000 + RANDOM % 1000))
stop_pg() {
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap stop_pg EXIT
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -w -l "$pgdir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c max_connections=300" start >/dev/null
export AGRIMAP_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"

# playwright-core from the npm registry at the version in its lockfile; no browser download.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked cargo-deny
fi

# Every dependency: a fit licence, from crates.io, no banned crate (deny.toml).
cargo deny check licenses bans sources

# The CLI tests run the real `agrimap` binary next to the test executables.
# Everything is built once, with GDAL (`agrimap/gdal`): the same features in
# all three commands, so none rebuilds what another built.
features=(--features agrimap/gdal)
cargo build --workspace --bins "${features[@]}"
cargo nextest run --workspace --no-fail-fast "${features[@]}"
cargo test --workspace --doc "${features[@]}"
# The default build reads GeoJSON and CSV without GDAL and says how to get the
# rest: agrimap-io's own tests without the feature (only that crate rebuilds).
cargo nextest run -p agrimap-io --no-fail-fast
