#!/usr/bin/env bash
# Throughput of a mixed workload (8 clients deleting, inserting, updating and
# predicting on random rows) on a table with models vs the same table
# without, side by side. Uses the libpq environment; SECONDS_EACH=20 default;
# KEEP=1 keeps the database (unlearn_load) for profiling the same mix.
set -euo pipefail
seconds=${SECONDS_EACH:-20}
db=unlearn_load
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d $db -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION pg_unlearn;
CREATE TABLE with_models (id int PRIMARY KEY, x1 float8, x2 float8, y float8, label int);
INSERT INTO with_models SELECT i, sin(i), cos(i), 2 * sin(i) - cos(i), i % 3 FROM generate_series(1, 100000) i;
CREATE TABLE without_models AS SELECT * FROM with_models;
ALTER TABLE without_models ADD PRIMARY KEY (id);
SELECT name FROM unlearn.train('ols', 'with_models', 'y', ARRAY['x1', 'x2'], options => '{"on_insert": "learn"}');
SELECT name FROM unlearn.train('nb', 'with_models', 'label', ARRAY['x1', 'x2'], 'naive_bayes', shards => 4);
SELECT name FROM unlearn.train('sisa_lr', 'with_models', 'label', ARRAY['x1', 'x2'], 'logistic_regression',
                               shards => 16, slices => 4);
SELECT name FROM unlearn.train('nn', 'with_models', 'label', ARRAY['x1', 'x2'], 'mlp', shards => 4,
                               options => '{"hidden": 16, "epochs": 20}');
SQL
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {
    local table=$1 predict=$2
    cat >"$work/mix.sql" <<SQL
\set id random(1, 200000)
\set op random(1, 4)
DELETE FROM $table WHERE id = :id AND :op = 1;
INSERT INTO $table SELECT :id, random(), random(), random(), :id % 3 WHERE :op = 2 ON CONFLICT (id) DO NOTHING;
UPDATE $table SET y = y + 1 WHERE id = :id AND :op = 3;
SELECT $predict FROM $table t WHERE id = :id AND :op = 4;
SQL
    pgbench -n -c 8 -j 2 -T "$seconds" -f "$work/mix.sql" $db 2>/dev/null | awk '/^tps/ {print $3; exit}'
}
plain=$(run without_models "x1 + x2")
model=$(run with_models "unlearn.predict('ols', t)")
caught_up=$(psql -X -A -t -d $db -c "SELECT bool_and(unlearn.wait(name, 900)) FROM unlearn.models" 2>/dev/null || echo "n/a")
verified=$(psql -X -A -t -d $db -c "SELECT bool_and(passed) FROM unlearn.models m, unlearn.verify(m.name)")
printf '| mixed workload, 8 clients, %s s each (ols, nb, SISA logistic S=16 R=4, mlp S=4) | %s tps | %s tps | %.2f | caught up %s, verify %s |\n' \
    "$seconds" "$model" "$plain" "$(echo "$model / $plain" | bc -l)" "$caught_up" "$verified"
[ -n "${KEEP:-}" ] || psql -X -q -d postgres -c "DROP DATABASE $db"
