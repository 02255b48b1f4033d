#!/usr/bin/env bash
# A PostgreSQL cluster of the hub's own in a folder: for `make hub` (./var/hub) and for the
# tests (a throw-away folder). Debian's binaries (/usr/lib/postgresql/*/bin, not on PATH).
#
#   hub/local_postgres.sh install            apt-get install postgresql, when missing (root)
#   hub/local_postgres.sh start DIR [--port N] [--no-tcp] [--fast] [--db NAME]
#                                            init DIR/pg once, start it, create the database;
#                                            prints the database URL on stdout
#   hub/local_postgres.sh stop DIR [--immediate]
#                                            stop it (fast shutdown; --immediate: as a crash,
#                                            recovered from the WAL at the next start)
#
# The cluster belongs to the `postgres` user when run as root (initdb refuses root), else
# to the caller. It listens on a Unix socket in DIR/socket (peer authentication: the
# caller's own role, a superuser of this private cluster) and, unless --no-tcp, on
# 127.0.0.1. --fast turns fsync off: for test clusters only, never for data to keep.
set -euo pipefail

fail() { echo "local_postgres: $*" >&2; exit 1; }

bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
    if [[ -n $dir && -x $dir/initdb ]]; then echo "$dir"; return; fi
    dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [[ -x $dir/initdb ]] || return 1
    echo "$dir"
}

install() {
    if bindir >/dev/null; then return; fi
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        # Debian's package starts a cluster of its own on port 5432; the hub does not use it.
        bindir >/dev/null || fail "PostgreSQL was installed but its binaries are not found"
    else
        fail "PostgreSQL is not installed (Debian: sudo apt-get install postgresql)"
    fi
}

# Run a command as the cluster's owner.
as_owner() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local dir=$1; shift
    local port=5470 tcp=1 fast=0 db=loyalty_hub
    while (($#)); do
        case $1 in
            --port) port=$2; shift 2 ;;
            --no-tcp) tcp=0; shift ;;
            --fast) fast=1; shift ;;
            --db) db=$2; shift 2 ;;
            *) fail "unknown option $1" ;;
        esac
    done
    local bin
    bin=$(bindir) || fail "PostgreSQL is not installed: run 'make hub-packages' as root (or apt-get install postgresql)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local data=$dir/pg socket=$dir/socket log=$dir/postgres.log
    mkdir -p "$data" "$socket"
    touch "$log"
    if [[ $(id -u) == 0 ]]; then
        chown postgres: "$data" "$socket" "$log"
        chmod 0700 "$data"
        runuser -u postgres -- test -x "$dir" ||
            fail "the postgres user cannot reach $dir (a parent folder is closed to it)"
    fi
    if [[ ! -f $data/PG_VERSION ]]; then
        as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    local listen="" options
    ((tcp)) && listen=127.0.0.1
    options="-k '$socket' -p $port -c listen_addresses='$listen'"
    ((fast)) && options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$options" start >/dev/null ||
            fail "PostgreSQL did not start: see $log"
    fi
    local me
    me=$(id -un)
    if [[ $me != postgres ]]; then
        # The caller's own role (peer authentication maps the OS user to it).
        as_owner "$bin/psql" -h "$socket" -p "$port" -U postgres -d postgres -qAtc \
            "SELECT 1 FROM pg_roles WHERE rolname = '$me'" | grep -q 1 ||
            as_owner "$bin/psql" -h "$socket" -p "$port" -U postgres -d postgres -qc \
                "CREATE ROLE \"$me\" LOGIN SUPERUSER" >/dev/null
    fi
    "$bin/psql" -h "$socket" -p "$port" -U "$me" -d postgres -qAtc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
        "$bin/psql" -h "$socket" -p "$port" -U "$me" -d postgres -qc "CREATE DATABASE \"$db\"" >/dev/null
    echo "postgresql://$me@/$db?host=$socket&port=$port"
}

stop() {
    local dir=$1 mode=fast bin
    [[ ${2:-} == --immediate ]] && mode=immediate
    bin=$(bindir) || return 0
    [[ -f $dir/pg/PG_VERSION ]] || return 0
    if as_owner "$bin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$dir/pg" -m "$mode" -w stop >/dev/null
    fi
}

case ${1:-} in
    install) install ;;
    start) [[ $# -ge 2 ]] || fail "start DIR [options]"; shift; start "$@" ;;
    stop) [[ $# -ge 2 ]] || fail "stop DIR [--immediate]"; stop "$2" "${3:-}" ;;
    *) fail "usage: $0 install | start DIR [--port N] [--no-tcp] [--fast] [--db NAME] | stop DIR [--immediate]" ;;
esac
