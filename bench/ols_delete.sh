#!/usr/bin/env bash
# What an OLS model adds to a single-row DELETE (issue 15's +0.15 ms), on
# several builds side by side: each argument is a libpq connection string of
# a server with pg_unlearn installed, one per build (e.g. two PostgreSQL
# copies with their own clusters). In each, a database with two copies of a
# 200,000-row table, one with an OLS model and one without; then, ROUNDS
# times (default 3), the builds alternating, for each table:
#   - backend CPU per DELETE: DELETES (default 2000) single-row DELETEs of
#     distinct ids, each its own transaction, in one backend (perf stat -e
#     task-clock; rounds take their own ids);
#   - latency: pgbench, one client, SECONDS_EACH (default 4) of committed
#     random-id DELETEs on a second pair of tables (their own, so that the
#     CPU rounds never meet an id already deleted).
# Prints per build the medians over rounds, and the model's addition (OLS
# minus plain), each round's figures in brackets.
#   bench/ols_delete.sh "host=/tmp/a port=5433" "host=/tmp/b port=5434"
set -euo pipefail
rounds=${ROUNDS:-3}
deletes=${DELETES:-2000}
seconds=${SECONDS_EACH:-4}
db=unlearn_ols_delete
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for conn in "$@"; do
    psql "$conn dbname=postgres" -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    psql "$conn dbname=$db" -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION pg_unlearn;
CREATE TABLE plain (id int PRIMARY KEY, x1 float8, x2 float8, y float8);
INSERT INTO plain SELECT i, sin(i), cos(i), 2 * sin(i) - cos(i) FROM generate_series(1, 200000) i;
CREATE TABLE ols (LIKE plain INCLUDING ALL); INSERT INTO ols SELECT * FROM plain;
CREATE TABLE plain_l (LIKE plain INCLUDING ALL); INSERT INTO plain_l SELECT * FROM plain;
CREATE TABLE ols_l (LIKE plain INCLUDING ALL); INSERT INTO ols_l SELECT * FROM plain;
SELECT 1 FROM unlearn.train('ols', 'ols', 'y', ARRAY['x1', 'x2']);
SELECT 1 FROM unlearn.train('ols_l', 'ols_l', 'y', ARRAY['x1', 'x2']);
VACUUM ANALYZE;
SQL
done

source "$(dirname "$0")/cpu_per_delete.sh"

# Average latency in ms of pgbench's one client deleting random ids of `table`.
latency() {
    local conn=$1 table=$2
    printf '\\set id random(1, 200000)\nDELETE FROM %s WHERE id = :id;\n' "$table" >"$work/$table.pgbench"
    pgbench "$conn dbname=$db" -n -c 1 -T "$seconds" -f "$work/$table.pgbench" 2>/dev/null | awk '/latency average/ {print $4}'
}

for r in $(seq "$rounds"); do
    for i in $(seq $#); do
        conn=${!i}
        for t in plain ols; do cpu_per_delete "$conn dbname=$db" "$t" "$r" "$deletes" "$work" | awk '{printf "%.1f\n", $1}' >>"$work/cpu.$t.$i"; done
        for t in plain ols; do latency "$conn" "${t}_l" >>"$work/lat.$t.$i"; done
    done
done

median() { sort -g "$1" | sed -n "$(((rounds + 1) / 2))p"; }
added() { paste "$1" "$2" | awk -v s="$3" '{ printf "%.*f\n", s, $2 - $1 }' >"$4"; }
echo "| build | CPU per DELETE, plain (µs) | with OLS (µs) | added by OLS (µs) | latency plain (ms) | with OLS (ms) | added (ms) |"
echo "|---|---|---|---|---|---|---|"
for i in $(seq $#); do
    added "$work/cpu.plain.$i" "$work/cpu.ols.$i" 1 "$work/cpu.added.$i"
    added "$work/lat.plain.$i" "$work/lat.ols.$i" 3 "$work/lat.added.$i"
    row="| $i"
    for f in cpu.plain cpu.ols cpu.added lat.plain lat.ols lat.added; do
        row="$row | $(median "$work/$f.$i") ($(paste -sd' ' "$work/$f.$i"))"
    done
    echo "$row |"
done
verified=$(for conn in "$@"; do psql "$conn dbname=$db" -X -qAt -c "SELECT bool_and(passed) FROM unlearn.models m, unlearn.verify(m.name)"; done | paste -sd' ')
echo "verify afterwards, per build: $verified"
for conn in "$@"; do psql "$conn dbname=postgres" -X -q -c "DROP DATABASE $db"; done
