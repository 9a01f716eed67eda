#!/usr/bin/env bash
# Added latency of a single-row DELETE (committed, one client, pgbench) on a
# 200,000-row table: no model, an OLS model, a SISA logistic regression of
# 16 shards x 4 slices, a one-shard mlp. Side by side in one run: the tables
# are deleted from in turn, ROUNDS times. Uses the libpq environment.
# SECONDS_EACH (default 5) per table and round.
set -euo pipefail
seconds=${SECONDS_EACH:-5}
rounds=${ROUNDS:-2}
db=unlearn_latency
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d $db -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pg_unlearn;
CREATE TABLE plain (id int PRIMARY KEY, x1 float8, x2 float8, y float8, label int);
INSERT INTO plain SELECT i, sin(i), cos(i), 2 * sin(i) - cos(i), (sin(i) + cos(3 * i) > 0)::int FROM generate_series(1, 200000) i;
CREATE TABLE ols (LIKE plain INCLUDING ALL); INSERT INTO ols SELECT * FROM plain;
CREATE TABLE sisa (LIKE plain INCLUDING ALL); INSERT INTO sisa SELECT * FROM plain;
CREATE TABLE mlp (LIKE plain INCLUDING ALL); INSERT INTO mlp SELECT * FROM plain;
ANALYZE;
SELECT name FROM unlearn.train('ols', 'ols', 'y', ARRAY['x1', 'x2']);
SELECT name FROM unlearn.train('sisa', 'sisa', 'label', ARRAY['x1', 'x2'], 'logistic_regression', shards => 16, slices => 4);
SELECT name FROM unlearn.train('mlp', 'mlp', 'label', ARRAY['x1', 'x2'], 'mlp', options => '{"hidden": 16, "epochs": 20}');
SQL
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A sum
for t in plain ols sisa mlp; do
    printf '\\set id random(1, 200000)\nDELETE FROM %s WHERE id = :id;\n' "$t" >"$work/$t.sql"
    sum[$t]=""
done
for r in $(seq "$rounds"); do
    for t in plain ols sisa mlp; do
        ms=$(pgbench -n -c 1 -T "$seconds" -f "$work/$t.sql" $db 2>/dev/null | awk '/latency average/ {print $4}')
        sum[$t]="${sum[$t]} $ms"
    done
done
for t in plain ols sisa mlp; do printf '| single-row DELETE, %s | %s ms |\n' "$t" "${sum[$t]# }"; done
caught=$(psql -X -A -t -d $db -c "SELECT bool_and(unlearn.wait(name, 900)) FROM unlearn.models" 2>/dev/null || echo "n/a (no unlearn.wait before 0.6.0)")
verified=$(psql -X -A -t -d $db -c "SELECT bool_and(passed) FROM unlearn.models m, unlearn.verify(m.name)")
echo "caught up afterwards: $caught, verify: $verified"
psql -X -q -d postgres -c "DROP DATABASE $db"
