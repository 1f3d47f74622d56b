#!/usr/bin/env bash
# Applies deploy/postgres/schema.sql (Orleans clustering, grain persistence and reminders for Regatta)
# to the database named by an Npgsql connection string. Idempotent: safe at every deployment.
#
#   deploy/postgres/init.sh "Host=db;Port=5432;Username=regatta;Password=secret;Database=regatta"
#
# The connection string is turned into libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
# PGDATABASE, PGSSLMODE, PGCONNECT_TIMEOUT) for psql. Keys are case-insensitive and may use the
# usual Npgsql synonyms (Server, User ID, Pwd, DB, ...); values may be quoted with ' or ".
# Environment: REGATTA_DB_WAIT_SECONDS (default 30) - how long to wait for the server to accept
# connections before giving up.
set -euo pipefail

usage() {
    echo "usage: $0 \"Host=...;Port=...;Username=...;Password=...;Database=...\"" >&2
    exit 2
}

[[ $# -eq 1 && -n "$1" ]] || usage
command -v psql >/dev/null 2>&1 || { echo "init.sh: psql not found (install the PostgreSQL client)" >&2; exit 127; }

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
schema="$script_dir/schema.sql"
[[ -r "$schema" ]] || { echo "init.sh: cannot read $schema" >&2; exit 1; }

# Parse "key=value;key='quoted; value';..." into the libpq environment.
parse_connection_string() {
    local s="$1" i=0 n=${#1} key value quote c
    while (( i < n )); do
        key="" value=""
        # key, up to '='
        while (( i < n )) && [[ "${s:i:1}" != "=" ]]; do key+="${s:i:1}"; ((i += 1)); done
        ((i += 1)) # skip '='
        # skip blanks before the value
        while (( i < n )) && [[ "${s:i:1}" == " " ]]; do ((i += 1)); done
        c="${s:i:1}"
        if [[ "$c" == "'" || "$c" == '"' ]]; then
            quote="$c"; ((i += 1))
            while (( i < n )); do
                c="${s:i:1}"
                if [[ "$c" == "$quote" ]]; then
                    if [[ "${s:i+1:1}" == "$quote" ]]; then value+="$quote"; ((i += 2)); continue; fi # doubled quote
                    ((i += 1)); break
                fi
                value+="$c"; ((i += 1))
            done
            while (( i < n )) && [[ "${s:i:1}" != ";" ]]; do ((i += 1)); done
        else
            while (( i < n )) && [[ "${s:i:1}" != ";" ]]; do value+="${s:i:1}"; ((i += 1)); done
            value="${value%"${value##*[![:space:]]}"}" # trim trailing blanks
        fi
        ((i += 1)) # skip ';'

        key="$(echo "$key" | tr -d '[:space:]' | tr '[:upper:]' '[:lower:]')"
        [[ -z "$key" ]] && continue
        case "$key" in
            host|server) export PGHOST="$value" ;;
            port) export PGPORT="$value" ;;
            username|userid|user|uid) export PGUSER="$value" ;;
            password|pwd|psw) export PGPASSWORD="$value" ;;
            database|db) export PGDATABASE="$value" ;;
            sslmode)
                case "$(echo "$value" | tr '[:upper:]' '[:lower:]')" in
                    disable) export PGSSLMODE=disable ;;
                    allow) export PGSSLMODE=allow ;;
                    prefer) export PGSSLMODE=prefer ;;
                    require) export PGSSLMODE=require ;;
                    verifyca|verify-ca) export PGSSLMODE=verify-ca ;;
                    verifyfull|verify-full) export PGSSLMODE=verify-full ;;
                    *) echo "init.sh: unknown SSL Mode '$value', leaving libpq's default" >&2 ;;
                esac ;;
            timeout) export PGCONNECT_TIMEOUT="$value" ;;
            applicationname) export PGAPPNAME="$value" ;;
            *) ;; # pooling, command timeout, ... mean nothing to psql
        esac
    done
}

parse_connection_string "$1"
[[ -n "${PGHOST:-}" ]] || { echo "init.sh: the connection string names no Host" >&2; exit 2; }
export PGAPPNAME="${PGAPPNAME:-regatta-init}"

# Wait for the server to accept connections (a database container may still be starting);
# pg_isready does not authenticate, so a wrong password fails at once below instead of waiting.
deadline=$(( $(date +%s) + ${REGATTA_DB_WAIT_SECONDS:-30} ))
if command -v pg_isready >/dev/null 2>&1; then
    until pg_isready -q; do
        (( $(date +%s) < deadline )) || { echo "init.sh: ${PGHOST}:${PGPORT:-5432} does not accept connections" >&2; exit 1; }
        sleep 1
    done
fi

# NOTICEs ("relation ... already exists, skipping") are the idempotent path, not news.
PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction -o /dev/null -f "$schema"
echo "init.sh: Regatta schema applied to ${PGHOST}:${PGPORT:-5432}/${PGDATABASE:-${PGUSER:-}}"
