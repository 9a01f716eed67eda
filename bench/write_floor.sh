#!/usr/bin/env bash
# What a single-row DELETE costs the backend (CPU per DELETE, committed one
# by one) on four tables side by side: no model; a *floor* table whose
# statement trigger makes only the three writes a forgetting model cannot do
# without (one lineage block, one state row, one audit row) for four
# "models", in PL/pgSQL, computing nothing; one OLS model; the four models of
# bench/load.sh. The floor bounds what any design that keeps lineage, state
# and audit in tables, written inside the deleting transaction, can reach:
# issue 15's 0.8x mixed-load target asks the four models to cost a quarter
# of a plain DELETE. Uses the libpq environment and perf (task-clock).
# DELETES per table and round (default 2000), ROUNDS (default 3).
set -euo pipefail
deletes=${DELETES:-2000}
rounds=${ROUNDS:-3}
db=unlearn_floor
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d $db -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION pg_unlearn;
CREATE TABLE plain (id int PRIMARY KEY, x1 float8, x2 float8, y float8, label int);
INSERT INTO plain SELECT i, sin(i), cos(i), 2 * sin(i) - cos(i), i % 3 FROM generate_series(1, 200000) i;
CREATE TABLE floor (LIKE plain INCLUDING ALL); INSERT INTO floor SELECT * FROM plain;
CREATE TABLE one (LIKE plain INCLUDING ALL); INSERT INTO one SELECT * FROM plain;
CREATE TABLE four (LIKE plain INCLUDING ALL); INSERT INTO four SELECT * FROM plain;
ANALYZE;
-- the floor: per "model", a 1.8 kB block rewritten, a state row rewritten, an audit row added
CREATE TABLE floor_lineage (m int, bucket int, block bytea, PRIMARY KEY (m, bucket));
INSERT INTO floor_lineage SELECT m, b, decode(repeat('ab', 1800), 'hex') FROM generate_series(1, 4) m, generate_series(0, 1023) b;
CREATE TABLE floor_state (m int PRIMARY KEY, state bytea);
INSERT INTO floor_state SELECT m, decode(repeat('cd', 200), 'hex') FROM generate_series(1, 4) m;
CREATE TABLE floor_audit (id bigserial PRIMARY KEY, m int, rows int, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION floor_forget() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE b int; n int;
BEGIN
    SELECT min(id) % 1024, count(*) INTO b, n FROM gone;
    FOR i IN 1..4 LOOP
        UPDATE floor_lineage SET block = block WHERE m = i AND bucket = b;
        UPDATE floor_state SET state = state WHERE m = i;
        INSERT INTO floor_audit (m, rows) VALUES (i, n);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER floor_forget AFTER DELETE ON floor REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION floor_forget();
SELECT 1 FROM unlearn.train('one_ols', 'one', 'y', ARRAY['x1', 'x2'], options => '{"on_insert": "learn"}');
SELECT 1 FROM unlearn.train('ols', 'four', 'y', ARRAY['x1', 'x2'], options => '{"on_insert": "learn"}');
SELECT 1 FROM unlearn.train('nb', 'four', 'label', ARRAY['x1', 'x2'], 'naive_bayes', shards => 4);
SELECT 1 FROM unlearn.train('sisa_lr', 'four', 'label', ARRAY['x1', 'x2'], 'logistic_regression', shards => 16, slices => 4);
SELECT 1 FROM unlearn.train('nn', 'four', 'label', ARRAY['x1', 'x2'], 'mlp', shards => 4,
                            options => '{"hidden": 16, "epochs": 20}');
SQL
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

source "$(dirname "$0")/cpu_per_delete.sh"

tables=(plain floor one four)
for r in $(seq "$rounds"); do
    for t in "${tables[@]}"; do cpu_per_delete "dbname=$db" "$t" "$r" "$deletes" "$work" | awk '{printf "%.0f\n", $1}' >>"$work/$t.cpu"; done
done
median() { sort -g "$1" | sed -n "$(((rounds + 1) / 2))p"; }
base=$(median "$work/plain.cpu")
echo "| single-row DELETE, $deletes per round, $rounds rounds | CPU per DELETE (median, all rounds) | plain / this |"
echo "|---|---|---|"
for t in "${tables[@]}"; do
    printf '| %s | %s µs (%s) | %.2f |\n' "$t" "$(median "$work/$t.cpu")" "$(sort -g "$work/$t.cpu" | paste -sd' ')" \
        "$(echo "$base / $(median "$work/$t.cpu")" | bc -l)"
done
psql -X -q -d postgres -c "DROP DATABASE $db"
