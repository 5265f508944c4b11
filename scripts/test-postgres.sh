#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (sourced by scripts/dev.sh test; .ci/run installs it first).
#
#   install_postgres   apt-get install Debian's postgresql when its programs are missing (root, non-interactive)
#   start_postgres     initdb + pg_ctl start on 127.0.0.1, a free port, in a temporary folder; exports
#                      FACEORG_TEST_POSTGRES_URL and sets a trap that stops it and removes the folder
#
# With FACEORG_TEST_POSTGRES_URL already set, that server is used and nothing is started. Without the
# programs the PostgreSQL tests skip, except in CI (CI=true), where that is an error.

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

install_postgres() {
    [[ -n "$(pg_bin)" ]] && return 0
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian's postgresql for the tests" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                 --no-install-recommends postgresql >/dev/null; }
    fi
    [[ -n "$(pg_bin)" ]]
}

_pg_as() {  # run a PostgreSQL program as the owner of the cluster (never as root)
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_postgres() {
    if [[ -n "${_PG_DIR:-}" ]]; then
        _pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$_PG_DIR"
        _PG_DIR=""
    fi
}

start_postgres() {
    if [[ -n "${FACEORG_TEST_POSTGRES_URL:-}" ]]; then
        return 0
    fi
    _PG_BIN="$(pg_bin)"
    if [[ -z "$_PG_BIN" ]]; then
        if [[ "${CI:-}" == "true" ]]; then
            echo "CI needs PostgreSQL for the tests: install Debian's postgresql package" >&2
            return 1
        fi
        echo "PostgreSQL is not installed: its tests will skip" >&2
        return 0
    fi
    local port
    _PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/faceorg-pg.XXXXXX")"
    chmod 755 "$_PG_DIR"
    [[ "$(id -u)" == 0 ]] && chown postgres "$_PG_DIR"
    trap stop_postgres EXIT
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    _pg_as "$_PG_BIN/initdb" -D "$_PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C -N >"$_PG_DIR/initdb.log" 2>&1 \
        || { cat "$_PG_DIR/initdb.log" >&2; return 1; }
    _pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -l "$_PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$_PG_DIR/server.log" >&2; return 1; }
    export FACEORG_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL for the tests: $FACEORG_TEST_POSTGRES_URL" >&2
}
