#!/bin/sh
# First start: a cluster whose superuser is $POSTGRES_USER (password from $POSTGRES_PASSWORD, never
# echoed), with the database $POSTGRES_DB; password logins from other containers. Then the server, with
# any arguments given (`-c name=value`: later settings win). A data directory that has a cluster is used
# as it is, as the upstream image does.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
nl='
'
for var in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB; do
  eval "value=\${$var:-}"
  case "$value" in *"$nl"*) echo "postgres-entrypoint: $var holds a line break: give it on one line" >&2; exit 2 ;; esac
done
# initdb would stop half-way (CREATE EXTENSION refuses such an owner): say so before anything is written.
case "$user" in *[\"\$\'\\]*) echo "postgres-entrypoint: POSTGRES_USER may not hold any of \" \$ ' \\ (PostgreSQL refuses such a superuser name)" >&2; exit 2 ;; esac
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  umask 077
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf '%s\n' "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != "postgres" ]; then
    # Identifiers in double quotes, a double quote in them doubled; one line: single-user mode ends a command at the line break.
    quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
    printf 'CREATE DATABASE %s OWNER %s;\n' "$(quote "$db")" "$(quote "$user")" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
