# Sourced by bench/write_floor.sh and bench/ols_delete.sh: the backend CPU,
# in µs, of one single-row DELETE.
#   cpu_per_delete CONNINFO TABLE ROUND DELETES WORKDIR
# runs DELETES single-row DELETEs of distinct ids of TABLE (round ROUND takes
# its own ids), each its own transaction, in one backend, and prints its CPU
# time (perf stat -e task-clock, timed from outside while they run) divided
# by DELETES, unrounded. The backend is found by a tagged pg_sleep first.
cpu_per_delete() {
    local conn=$1 table=$2 round=$3 n=$4 work=$5 tag="cpu_per_delete $$ $RANDOM" pid=""
    awk -v t="$table" -v r="$round" -v n="$n" \
        'BEGIN { print "SELECT pg_sleep(0.5) /* '"$tag"' */;"; for (i = 0; i < n; i++) printf "DELETE FROM %s WHERE id = %d;\n", t, 1 + (r * n + i) * 7 % 199999 }' \
        >"$work/$table.sql"
    psql "$conn" -X -q -f "$work/$table.sql" >/dev/null &
    local client=$!
    for _ in $(seq 50); do
        pid=$(psql "$conn" -X -qAt -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%/* $tag */%' AND pid <> pg_backend_pid()")
        [ -n "$pid" ] && break
        sleep 0.01
    done
    perf stat -e task-clock -p "$pid" 2>&1 >/dev/null | awk -v n="$n" '/task-clock/ {gsub(",", "", $1); print $1 * 1000 / n}'
    wait "$client"
}
