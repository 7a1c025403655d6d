#!/bin/sh
# The channel console with one admin whose password comes from $COSELL_CONSOLE_PASSWORD (never stored in
# clear: only its scrypt hash, in a users file in a private temporary directory, with a fresh session secret).
set -eu
: "${COSELL_CONSOLE_PASSWORD:?set COSELL_CONSOLE_PASSWORD to the console admin password}"
dir="$(mktemp -d)"
umask 077
node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))" > "$dir/session.key"
hash="$(printf '%s' "$COSELL_CONSOLE_PASSWORD" | node "$(dirname "$0")/../bin/cosell.js" console hash-password)"
printf 'users:\n  - { name: admin, role: admin, password: "%s" }\nsessionSecret: file:%s\n' "$hash" "$dir/session.key" > "$dir/users.yaml"
exec "$(dirname "$0")/cosell-env.sh" console --users "$dir/users.yaml" --host 0.0.0.0 --port "${COSELL_CONSOLE_PORT:-8420}" "$@"
