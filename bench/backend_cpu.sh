#!/usr/bin/env bash
# Backend CPU time of the benchmark's statements on several builds side by
# side: each argument is a libpq connection string of a database holding
# the extension and bench_data (e.g. made by `pg_unlearn_bench --keep`), one
# per build; each statement runs ROUNDS times (default 5) per build, the
# builds alternating, and the minimum and median CPU time of the backend
# (perf stat -e task-clock) are printed. CPU time is what another process
# on a shared machine disturbs least; wall time is bench.cpp's business.
# The ratios issue 15 sets targets for close the table: train / scan and the
# 10% DELETE with a model / the same DELETE on bench_plain, a copy of
# bench_data without one (made here when missing).
#   bench/backend_cpu.sh "host=/tmp/a port=5433 dbname=unlearn_bench" "host=/tmp/b ..."
set -euo pipefail
rounds=${ROUNDS:-5}
features="ARRAY['f1','f2','f3','f4','f5','f6','f7','f8','f9','f10']"
declare -A sql=(
    [scan]="SELECT sum(f1), sum(f2), sum(f3), sum(f4), sum(f5), sum(f6), sum(f7), sum(f8), sum(f9), sum(f10), sum(y) FROM bench_data"
    [train_ols]="SELECT 1 FROM unlearn.train('cpu_ols', 'bench_data', 'y', $features); SELECT unlearn.drop_model('cpu_ols')"
    [train_nb]="SELECT 1 FROM unlearn.train('cpu_nb', 'bench_data', 'label', $features, algorithm => 'naive_bayes'); SELECT unlearn.drop_model('cpu_nb')"
    [predict_row]="SELECT sum(unlearn.predict('cpu_p', t)) FROM bench_data t"
    [predict_array]="SELECT sum(unlearn.predict('cpu_p', ARRAY[f1, f2, f3, f4, f5, f6, f7, f8, f9, f10])) FROM bench_data"
    [delete_10pct]="BEGIN; DELETE FROM bench_data WHERE id % 10 = 3; ROLLBACK"
    [delete_10pct_plain]="BEGIN; DELETE FROM bench_plain WHERE id % 10 = 3; ROLLBACK"
)
# STATEMENTS="scan train_ols" picks some of them
read -r -a order <<<"${STATEMENTS:-scan train_ols train_nb predict_row predict_array delete_10pct delete_10pct_plain}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for db in "$@"; do
    psql "$db" -qAtc "SELECT unlearn.drop_model('cpu_p') FROM unlearn.models WHERE name = 'cpu_p'" >/dev/null
    psql "$db" -qAtc "SELECT 1 FROM unlearn.train('cpu_p', 'bench_data', 'y', $features)" >/dev/null
    if [ -z "$(psql "$db" -qAtc "SELECT to_regclass('bench_plain')")" ]; then
        psql "$db" -qc "CREATE TABLE bench_plain (LIKE bench_data INCLUDING ALL)" \
            -c "INSERT INTO bench_plain SELECT * FROM bench_data" -c "VACUUM ANALYZE bench_plain" >/dev/null
    fi
done

# One statement in a fresh backend, timed from outside while it runs.
cpu_ms() {
    local db=$1 tag="backend_cpu $$ $RANDOM" pid=""
    psql "$db" -qX -c "SET max_parallel_workers_per_gather = 0" -c "SELECT pg_sleep(0.5) /* $tag */" -c "$2" >/dev/null &
    local client=$!
    for _ in $(seq 50); do
        pid=$(psql "$db" -qAtX -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%/* $tag */%' AND pid <> pg_backend_pid()")
        [ -n "$pid" ] && break
        sleep 0.01
    done
    perf stat -e task-clock -p "$pid" 2>&1 >/dev/null | awk '/task-clock/ {print $1}' | tr -d ,
    wait "$client"
}

for _ in $(seq "$rounds"); do
    for s in "${order[@]}"; do
        for i in $(seq $#); do cpu_ms "${!i}" "${sql[$s]}" >>"$out/$s.$i"; done
    done
done
printf '| statement |'; for i in $(seq $#); do printf ' build %d min / median ms |' "$i"; done; echo
for s in "${order[@]}"; do
    printf '| %s |' "$s"
    for i in $(seq $#); do
        printf ' %s / %s |' "$(sort -g "$out/$s.$i" | head -1)" "$(sort -g "$out/$s.$i" | sed -n "$(((rounds + 1) / 2))p")"
    done
    echo
done
# minimum over minimum (the least disturbed run of each side), then median over median
nth() { sort -g "$out/$1.$2" | sed -n "$3p"; }
ratio() {
    awk -v a="$(nth "$1" "$3" 1)" -v b="$(nth "$2" "$3" 1)" -v c="$(nth "$1" "$3" $(((rounds + 1) / 2)))" \
        -v d="$(nth "$2" "$3" $(((rounds + 1) / 2)))" 'BEGIN { printf "%.2f (median %.2f)", a / b, c / d }'
}
for pair in "train_ols scan" "train_nb scan" "delete_10pct delete_10pct_plain"; do
    [ -f "$out/${pair% *}.1" ] && [ -f "$out/${pair#* }.1" ] || continue
    set -- $pair "${@}"
    a=$1 b=$2
    shift 2
    printf '| %s / %s |' "$a" "$b"
    for i in $(seq $#); do printf ' %s |' "$(ratio "$a" "$b" "$i")"; done
    echo
done
