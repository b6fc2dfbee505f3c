# A throwaway PostgreSQL cluster for tests and benchmarks. Source it:
#
#   source scripts/pg-throwaway.sh
#   pg_throwaway_start          # sets PG_THROWAWAY_URL, stops itself on EXIT
#   ...
#
# initdb into a fresh temporary directory, a free loopback port, listening
# on 127.0.0.1 only, trust authentication for local connections (nothing
# outside this machine can reach it). initdb and pg_ctl refuse to run as
# root, so as root they run as the `postgres` user. The EXIT trap stops
# the server and removes the directory even when a test fails.

pg_throwaway_bin() {
  local v
  for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rn); do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
      echo "/usr/lib/postgresql/$v/bin"
      return 0
    fi
  done
  command -v initdb >/dev/null && dirname "$(command -v initdb)" && return 0
  return 1
}

pg_throwaway_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_throwaway_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_throwaway_stop() {
  if [ -n "${PG_THROWAWAY_DIR:-}" ] && [ -d "$PG_THROWAWAY_DIR" ]; then
    pg_throwaway_as "$PG_THROWAWAY_BIN/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_THROWAWAY_DIR"
  fi
  PG_THROWAWAY_DIR=
}

pg_throwaway_start() {
  PG_THROWAWAY_BIN="$(pg_throwaway_bin)" || {
    echo "PostgreSQL is not installed (scripts/setup.sh installs it)" >&2
    return 1
  }
  PG_THROWAWAY_DIR="$(mktemp -d /tmp/consent-pg.XXXXXX)"
  trap pg_throwaway_stop EXIT
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_THROWAWAY_DIR"
  fi
  local user port
  user="$(pg_throwaway_as id -un)"
  port="$(pg_throwaway_free_port)"
  pg_throwaway_as "$PG_THROWAWAY_BIN/initdb" -D "$PG_THROWAWAY_DIR/data" -U "$user" \
    --auth=trust --encoding=UTF8 --no-locale >"$PG_THROWAWAY_DIR/initdb.log" 2>&1 || {
    cat "$PG_THROWAWAY_DIR/initdb.log" >&2
    return 1
  }
  pg_throwaway_as "$PG_THROWAWAY_BIN/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -w -t 30 \
    -l "$PG_THROWAWAY_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_THROWAWAY_DIR -c max_connections=300 -c fsync=on" \
    start >/dev/null || {
    cat "$PG_THROWAWAY_DIR/server.log" >&2
    return 1
  }
  export PG_THROWAWAY_URL="postgres://$user@127.0.0.1:$port/postgres"
  echo "throwaway PostgreSQL on 127.0.0.1:$port ($PG_THROWAWAY_DIR)" >&2
}
