#!/usr/bin/env bash
# The stand-in's entrypoint: the part of the official postgres image's docker-entrypoint.sh that
# the stack relies on, with the same messages. On first start (an empty PGDATA): initdb with
# POSTGRES_USER and POSTGRES_PASSWORD (refusing to start without a password, as the official
# image does), scram-sha-256 for every host but the container's own loopback, a temporary server
# on the Unix socket only (no TCP yet: a healthcheck that does not use TCP passes too early),
# POSTGRES_DB, then /docker-entrypoint-initdb.d/*.sql and *.sh in name order; then the server on
# every address. Later starts go straight to the server.
set -Eeuo pipefail

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
MSG
    exit 1
  fi
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
  printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  # Debian's build (the official image's) keeps its socket in /var/run/postgresql; this one's
  # default is /tmp, where Debian's psql would not look.
  printf "listen_addresses = '*'\nunix_socket_directories = '/var/run/postgresql'\n" \
    >>"$PGDATA/postgresql.conf"

  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'create database :"db";'
  fi
  echo
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        echo "$0: running $f"
        if [ -x "$f" ]; then "$f"; else . "$f"; fi
        ;;
      *.sql)
        echo "$0: running $f"
        "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f"
        echo
        ;;
      */\*) ;; # the directory is empty
      *) echo "$0: ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
else
  echo
  echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  echo
fi

exec "$@"
