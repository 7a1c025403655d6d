#!/bin/sh
# Run cosell with the sandbox CRMs' connection details (COSELL_<ORG>_URL, tokens, client ids…) that the
# sandbox service wrote with `cosell sandbox --write-env`: what examples/network.yaml references.
set -eu
file="${COSELL_SANDBOX_ENV:-/run/cosell/sandbox.env}"
waited=0
while [ ! -s "$file" ]; do
  if [ "$waited" -ge 120 ]; then
    echo "cosell-env: $file did not appear in 120 s: is the sandbox service running? (docker compose logs sandbox)" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
. "$file"
exec node "$(dirname "$0")/../bin/cosell.js" "$@"
