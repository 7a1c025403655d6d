#!/bin/sh
# The sandbox CRMs (emulated Salesforce, HubSpot and AWS Partner Central orgs of the demo network) and
# the notifications inbox, their connection details written for the other containers once every org
# listens. A stale file from an earlier start goes first: its ports and tokens are gone. The CRM data is
# kept (--persist) beside the PostgreSQL ledger, so after a restart the ledger's cursors and pairs still
# describe it; `docker compose down -v` starts both afresh.
set -eu
file="${COSELL_SANDBOX_ENV:-/run/cosell/sandbox.env}"
data="${COSELL_SANDBOX_DATA:-/var/lib/cosell/sandbox.json}"
rm -f "$file"
exec node "$(dirname "$0")/../bin/cosell.js" sandbox --write-env "$file" --persist "$data" "$@"
