#!/usr/bin/env bash
# Gives the local PostgreSQL password authentication for members of the group role `toolkit_pw`,
# so the postgres connector tests can check wrong-password handling while every other local
# connection keeps its trust auth. Idempotent: running it twice changes nothing.
#
# Env: PGHOST (default 127.0.0.1), PGPORT (default 5432), PG_ADMIN_USER (default postgres).
set -euo pipefail

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
admin="${PG_ADMIN_USER:-postgres}"
line='host all +toolkit_pw 127.0.0.1/32 scram-sha-256'

psql_admin() {
    psql -X -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$admin" -d postgres "$@"
}

# The group role: test roles join it to be checked with a password.
psql_admin -qtAc "do \$\$ begin
    if not exists (select from pg_roles where rolname = 'toolkit_pw') then
        create role toolkit_pw nologin;
    end if;
end \$\$"

hba="$(psql_admin -tAc 'show hba_file')"
if [[ -z "$hba" || ! -f "$hba" ]]; then
    echo "postgres-auth: pg_hba.conf not found (got '$hba')" >&2
    exit 1
fi

if grep -qxF "$line" "$hba"; then
    echo "postgres-auth: $hba already has the toolkit_pw line"
else
    # pg_hba.conf is read top-down and the first match wins: the line must come before the
    # first `host` line (which trusts everyone on 127.0.0.1).
    tmp="$(mktemp)"
    awk -v line="$line" '
        !done && /^[[:space:]]*host/ { print line; done = 1 }
        { print }
        END { if (!done) print line }
    ' "$hba" >"$tmp"
    # Keep the file's owner and mode: only the contents change.
    cat "$tmp" >"$hba"
    rm -f "$tmp"
    echo "postgres-auth: added '$line' to $hba"
fi

psql_admin -qtAc 'select pg_reload_conf()' >/dev/null
# A line that does not parse is only reported in the server log; surface it here.
errors="$(psql_admin -tAc "select count(*) from pg_hba_file_rules where error is not null")"
if [[ "$errors" != "0" ]]; then
    psql_admin -c "select line_number, error from pg_hba_file_rules where error is not null" >&2
    exit 1
fi
