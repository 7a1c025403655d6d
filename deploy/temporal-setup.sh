#!/bin/sh
# Register cosell's search attributes (lib/searchAttributes.ts) on the compose Temporal server, once it
# serves the default namespace; then check every one is there. Run by the temporal-setup service
# (temporalio/admin-tools) before any cosell container starts.
set -eu
address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
attributes="CosellKind CosellLink CosellPartner CosellObject CosellState CosellRegistrationStatus"
tries=0
until temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then echo "temporal-setup: $address does not serve namespace $namespace after 180 s" >&2; exit 1; fi
  sleep 2
done
for name in $attributes; do
  # Already registered (a second `docker compose up`) is fine; the check below says if it is not there.
  temporal operator search-attribute create --address "$address" --namespace "$namespace" --name "$name" --type Keyword >/dev/null 2>&1 || true
done
list="$(temporal operator search-attribute list --address "$address" --namespace "$namespace")"
for name in $attributes; do
  echo "$list" | grep -q "$name" || { echo "temporal-setup: search attribute $name is missing" >&2; exit 1; }
done
echo "temporal-setup: search attributes registered: $attributes"
