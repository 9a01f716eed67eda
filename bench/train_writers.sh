#!/usr/bin/env bash
# How long writers wait while a model trains: one pgbench client deletes,
# inserts and updates single rows of a 200,000-row table for as long as an
# mlp trains on it (in runs of 20 transactions, until the training ends) and
# reports its slowest transaction; then as many runs on a table with no
# model. Side by side in one run. Uses the libpq environment. After the
# training the model must hold exactly the table's rows (verify, counts).
set -euo pipefail
db=unlearn_train_writers
rows=${ROWS:-200000}
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d $db -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION pg_unlearn;
CREATE TABLE t (id int PRIMARY KEY, x1 float8, x2 float8, label int);
INSERT INTO t SELECT i, sin(i), cos(i), (sin(i) + cos(3 * i) > 0)::int FROM generate_series(1, $rows) i;
CREATE TABLE u (LIKE t INCLUDING ALL); INSERT INTO u SELECT * FROM t;
CREATE SEQUENCE fresh START $((rows + 1));
ANALYZE;
SQL
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tab in t u; do
    cat >"$work/write_$tab.sql" <<SQL
\\set id random(1, $rows)
DELETE FROM $tab WHERE id = :id;
INSERT INTO $tab SELECT nextval('fresh'), random(), random(), (random() > 0.5)::int;
UPDATE $tab SET x1 = x1 + 0.5 WHERE id = :id + 1;
SQL
done
runs() {  # $1: table, $2: runs or a PID to outlive; prints transactions and the slowest one (ms)
    rm -f "$work"/log.*
    local n=0
    while if [ "$2" -lt 1000 ]; then [ $n -lt "$2" ]; else kill -0 "$2" 2>/dev/null; fi; do
        (cd "$work" && pgbench -n -c 1 -t 20 -f "write_$1.sql" -l --log-prefix=log.$n $db >/dev/null 2>&1)
        n=$((n + 1))
    done
    echo "$n $(cat "$work"/log.* | wc -l) $(cat "$work"/log.* | awk 'BEGIN {m = 0} {if ($3 > m) m = $3} END {printf "%.1f", m / 1000}')"
}
start=$(date +%s.%N)
psql -X -q -d $db -c "SELECT rows_trained FROM unlearn.train('m', 't', 'label', ARRAY['x1', 'x2'], 'mlp', options => '{\"hidden\": 32, \"epochs\": ${EPOCHS:-20}, \"n_iter_no_change\": 1000, \"on_insert\": \"learn\"}')" >"$work/train" 2>&1 &
trainer=$!
read -r n during slow_during < <(runs t $trainer)
took=$(echo "$(date +%s.%N) - $start" | bc)
grep -q rows_trained "$work/train" || { echo "training failed:"; cat "$work/train"; }
read -r _ without slow_without < <(runs u "$n")
echo "| writes while an mlp trains (${took%.*} s) | $during transactions | slowest $slow_during ms |"
echo "| the same writes on a table with no model | $without transactions | slowest $slow_without ms |"
psql -X -A -t -d $db -c "SELECT unlearn.wait('m', 900)" >/dev/null 2>&1 || true
echo "table rows $(psql -X -A -t -d $db -c 'SELECT count(*) FROM t'), model rows $(psql -X -A -t -d $db -c "SELECT rows_held FROM unlearn.models WHERE name = 'm'"), verify $(psql -X -A -t -d $db -c "SELECT bool_and(passed) FROM unlearn.verify('m')")"
psql -X -q -d postgres -c "DROP DATABASE $db"
