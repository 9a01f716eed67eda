#!/usr/bin/env bash
# Random forest (strategy dare) side by side in one run, against a running
# server (PG* environment, e.g. `source $PGUL_DIR/env`):
#   training time vs scikit-learn's RandomForestClassifier(n_jobs=1) fit on
#   the same rows; single-row DELETE cost (median, p99, each its own
#   statement and transaction, minus the same DELETE on a table without a
#   model) vs the retrain of the same run; a 1% DELETE in one statement;
#   scoring every row vs a plain scan; the state's size.
#   ROWS=200000 FEATURES=20 TREES=100 DEPTH=10 DELETES=200 bench/forest.sh
# RANDOM_DEPTH=n draws the top n levels' splits at random (DaRE's d_rmax;
# unset: the option's default, 2);
# CELL_BITS=b sets the threshold cells' mantissa bits (52: every value its
# own cell, the rule before cells); SKLEARN=0 skips scikit-learn's fit.
set -euo pipefail
ROWS=${ROWS:-200000} FEATURES=${FEATURES:-20} TREES=${TREES:-100} DEPTH=${DEPTH:-10} DELETES=${DELETES:-200}
RANDOM_DEPTH=${RANDOM_DEPTH:-} SKLEARN=${SKLEARN:-1} CELL_BITS=${CELL_BITS:-}
DB=${DB:-unlearn_forest_bench}
psql -X -q -d "${PGDATABASE:-postgres}" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
cols=$(seq -s, -f 'f%g float8' 1 "$FEATURES")
feats=$(seq -s, -f "'f%g'" 1 "$FEATURES")
# features N(0,1) (Box-Muller on a seeded random()), label from the first five
normal='sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())'
gen="SELECT i$(for _ in $(seq "$FEATURES"); do printf ', %s' "$normal"; done) FROM generate_series(1, $ROWS) i"
q <<SQL
CREATE EXTENSION pg_unlearn;
SELECT setseed(0.5);
CREATE TABLE data (id int PRIMARY KEY, $cols, y int);
INSERT INTO data SELECT *, 0 FROM ($gen) s;
UPDATE data SET y = (f1 + f2 + f3 + f4 + f5 + 0.3 * f6 > 0)::int;
CREATE TABLE plain AS SELECT * FROM data;
ALTER TABLE plain ADD PRIMARY KEY (id);
VACUUM ANALYZE data; VACUUM ANALYZE plain;
SET unlearn.max_memory = '4GB';
SQL
more=${RANDOM_DEPTH:+, \"random_depth\": $RANDOM_DEPTH}${CELL_BITS:+, \"cell_bits\": $CELL_BITS}
opts="{\"n_estimators\": $TREES, \"max_depth\": $DEPTH$more, \"seed\": 1}"
[ "$DEPTH" = 0 ] && opts="{\"n_estimators\": $TREES$more, \"seed\": 1}"
train_ms=$(q -c "SET unlearn.max_memory = '4GB'" -c "SELECT extract(epoch FROM clock_timestamp()) * 1000" \
             -c "SELECT 1 FROM unlearn.train('rf', 'data', 'y', ARRAY[$feats], 'random_forest', options => '$opts')" \
             -c "SELECT extract(epoch FROM clock_timestamp()) * 1000" | awk 'NR==1{a=$1} NR==3{print $1-a}')
state_mb=$(q -c "SELECT round(length(state) / 1e6, 1) FROM unlearn.state")
# scikit-learn on the same rows, fitted in the same run
sk_ms=nan
[ "$SKLEARN" = 1 ] && sk_ms=$(q -c "COPY (SELECT * FROM data ORDER BY id) TO STDOUT WITH (FORMAT csv)" | /usr/bin/python3 -c "
import sys, time, numpy as np
from sklearn.ensemble import RandomForestClassifier
a = np.loadtxt(sys.stdin, delimiter=',')
depth = $DEPTH or None
t = time.time()
RandomForestClassifier(n_estimators=$TREES, max_depth=depth, n_jobs=1, random_state=0).fit(a[:, 1:-1], a[:, -1])
print((time.time() - t) * 1000)")
# per-statement cost of single-row DELETEs, with and without the model: each
# DELETE its own statement and transaction (psql's \timing), the same
# distinct random ids on both tables
victims=$(shuf -i 1-"$ROWS" -n "$DELETES" --random-source=<(yes))
per_row() {
    { echo "SET unlearn.max_memory = '4GB';"; echo '\timing on'
      for v in $victims; do echo "DELETE FROM $1 WHERE id = $v;"; done; } |
        q | awk '/^Time:/ {print $2}' | sort -n |
        awk '{a[NR] = $1} END {i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; printf "%.3f %.3f %.3f\n", a[int((NR + 1) / 2)], a[i], a[NR]}'
}
read -r med p99 max <<<"$(per_row data)"
read -r base_med base_p99 base_max <<<"$(per_row plain)"
# scoring every row against a plain scan of the same columns, in one session
# without parallel workers (a worker is a fresh process: it would load the
# forest again in every query): a one-row predict loads the forest into the
# session's cache (the load), then scan and predict alternate twice, the
# faster of each counted
sum_cols=$(seq -s+ -f 'f%g' 1 "$FEATURES")
arr_cols=$(seq -s, -f 'f%g' 1 "$FEATURES")
read -r load_ms scan_ms predict_ms <<<"$(q -c "SET unlearn.max_memory = '4GB'" -c "SET max_parallel_workers_per_gather = 0" -c '\timing on' \
    -c "SELECT unlearn.predict('rf', ARRAY[$arr_cols]) FROM data LIMIT 1" \
    -c "SELECT sum($sum_cols) FROM data" -c "SELECT sum(unlearn.predict('rf', ARRAY[$arr_cols])) FROM data" \
    -c "SELECT sum($sum_cols) FROM data" -c "SELECT sum(unlearn.predict('rf', ARRAY[$arr_cols])) FROM data" |
    awk '/^Time:/ {t[++n] = $2} END {s = t[2] < t[4] ? t[2] : t[4]; p = t[3] < t[5] ? t[3] : t[5]; print t[1], s, p}')"
bulk=$((ROWS / 100))
bulk_ms=$(q -c "SET unlearn.max_memory = '4GB'" -c "SELECT extract(epoch FROM clock_timestamp()) * 1000" \
            -c "DELETE FROM data WHERE id IN (SELECT id FROM data ORDER BY id DESC LIMIT $bulk)" \
            -c "SELECT extract(epoch FROM clock_timestamp()) * 1000" | awk 'NR==1{a=$1} NR==2{print $1-a}')
verify=$(q -c "SET unlearn.max_memory = '4GB'" -c "SELECT string_agg(check_name, ',') FROM unlearn.verify('rf') WHERE NOT passed")
retrained=$(q -c "SELECT sum((details->>'subtrees_retrained')::int) FROM unlearn.audit WHERE model = 'rf' AND event = 'unlearn'")
recounted=$(q -c "SELECT coalesce(sum((details->>'nodes_recounted')::int), 0) FROM unlearn.audit WHERE model = 'rf' AND event = 'unlearn'")
awk -v r="$ROWS" -v f="$FEATURES" -v t="$TREES" -v d="$DEPTH" -v tr="$train_ms" -v sk="$sk_ms" -v st="$state_mb" \
    -v m="$med" -v p="$p99" -v mx="$max" -v bm="$base_med" -v bp="$base_p99" -v b="$bulk" -v bk="$bulk_ms" -v v="${verify:-all passed}" \
    -v n="$DELETES" -v subtrees="$retrained" -v recounted="$recounted" -v sc="$scan_ms" -v pr="$predict_ms" -v ld="$load_ms" -v rd="${RANDOM_DEPTH:-default}" -v cb="${CELL_BITS:-default}" 'BEGIN {
    printf "random_forest %d rows x %d features, %d trees, max_depth %s, random_depth %s, cell_bits %s; state %s MB\n", r, f, t, d, rd, cb, st
    printf "train: %.0f ms; scikit-learn RandomForestClassifier(n_jobs=1) fit: %.0f ms (ours / theirs %.2f)\n", tr, sk, tr / sk
    printf "single-row DELETE (%d statements): median %.2f ms (plain table %.2f ms, added %.2f ms), p99 %.2f ms (plain %.2f), max %.2f ms\n", n, m, bm, m - bm, p, bp, mx
    printf "retrain / added median: %.0fx; retrain / added p99: %.0fx\n", tr / (m - bm), tr / (p - bp)
    printf "1%% DELETE (%d rows, one statement): %.0f ms, retrain / it: %.1fx\n", b, bk, tr / bk
    printf "predict every row (warm, one process): %.0f ms, plain scan of the same columns %.0f ms (%.1fx); loading the forest %.0f ms\n", pr, sc, pr / sc, ld
    printf "subtrees retrained over all DELETEs: %s, nodes recounted: %s; verify after: %s\n", subtrees, recounted, v
}'
