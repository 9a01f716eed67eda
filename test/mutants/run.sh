#!/usr/bin/env bash
# Mutation check (issue 18): applies each one-line mutant of mutants.tsv, one
# at a time, in a scratch copy of the tree (never this checkout), rebuilds,
# runs only the tests named for it and prints mutant -> caught/survived.
#
#   PGUL_PG=/opt/pg-mine/usr/lib/postgresql/15 PGUL_DIR=/tmp/pgul-mut PGUL_PORT=55499 \
#       test/mutants/run.sh [mutant-id ...]
#
# PGUL_PG must be a PRIVATE copy of PostgreSQL (the mutant's library is
# installed into it; the unmutated one is installed again at the end).
# MUTANT_DIR (default /tmp/pgul-mutants) holds the scratch tree and builds;
# they are reused, so a second run recompiles only the mutated files.
# Slow (a rebuild and a cluster run per mutant); not part of CI.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${PGUL_PG:?PGUL_PG must name a private PostgreSQL copy}"
export PGUL_PG PGUL_DIR=${PGUL_DIR:-/tmp/pgul-mutants-cluster} PGUL_PORT=${PGUL_PORT:-55499}
work=${MUTANT_DIR:-/tmp/pgul-mutants}
tree=$work/tree
pg_config=$PGUL_PG/bin/pg_config
list=$here/mutants.tsv
mkdir -p "$work"

# The scratch tree: the checkout's files (committed or not), without git.
mkdir -p "$tree"
(cd "$repo" && tar --exclude=./.git --exclude=./build --exclude=./results --exclude=./output_iso \
    -cf - .) | (cd "$tree" && tar -xpf -)

build() {  # quiet; returns make's status
    make -C "$tree" -s -j2 PG_CONFIG="$pg_config" >"$work/build.log" 2>&1 &&
        make -C "$tree" -s install PG_CONFIG="$pg_config" >>"$work/build.log" 2>&1 &&
        cmake -S "$tree" -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release >>"$work/build.log" 2>&1 &&
        cmake --build "$work/cmake" -j2 --target unit_tests >>"$work/build.log" 2>&1
}

# Applies (or with "revert" undoes) one mutant: the original line nearest the hint.
mutate() {
    python3 - "$tree" "$@" <<'PY'
import sys
tree, action, path, hint, orig, mutated = sys.argv[1:7]
f = f"{tree}/{path}"
lines = open(f).read().split("\n")
want, put = (orig, mutated) if action == "apply" else (mutated, orig)
hits = [i for i, l in enumerate(lines) if l.strip() == want]
if not hits:
    sys.exit(f"{path}: line not found: {want}")
i = min(hits, key=lambda h: abs(h + 1 - int(hint)))
indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
lines[i] = indent + put
open(f, "w").write("\n".join(lines))
PY
}

# Runs the named tests; prints the failing ones (empty: all passed).
run_tests() {
    local failed="" spec kind names
    for spec in $1; do
        kind=${spec%%:*}
        names=${spec#*:}
        case $kind in
        unit)
            for filter in ${names//:/ }; do
                "$work/cmake/unit_tests" --gtest_filter="$filter" >"$work/unit.log" 2>&1 ||
                    failed+=" $(grep -o '^\[  FAILED  \] [A-Za-z0-9_./]*' "$work/unit.log" | awk '$4 ~ /\./ {print "unit:" $4}' | sort -u | head -3 | tr '\n' ' ')"
            done
            ;;
        regress | isolation)
            local var=REGRESS other=ISOLATION
            [ "$kind" = isolation ] && var=ISOLATION other=REGRESS
            local tests=${names//,/ }
            [ "$kind" = regress ] && tests="extension $tests"
            rm -f "$tree/regression.diffs" "$tree/output_iso/regression.diffs"
            if ! make -C "$tree" -s installcheck PG_CONFIG="$pg_config" "$var=$tests" "$other=" >"$work/regress.log" 2>&1; then
                local f
                f=$(grep -oE '[a-z_0-9]+ +\.\.\. FAILED' "$work/regress.log" | awk '{print "'"$kind"':" $1}' | sort -u | tr '\n' ' ')
                failed+=" ${f:-$kind:?}"
                cp "$work/regress.log" "$work/regress-$current.log"
                [ -f "$tree/regression.diffs" ] && cp "$tree/regression.diffs" "$work/diffs-$current.txt"
            fi
            ;;
        esac
    done
    echo "$failed" | xargs
}

bash "$tree/scripts/cluster.sh" start >/dev/null || exit 1
# shellcheck disable=SC1091
source "$PGUL_DIR/env"
trap 'bash "$tree/scripts/cluster.sh" stop >/dev/null' EXIT

echo "building the unmutated tree" >&2
build || { echo "the unmutated tree does not build: see $work/build.log" >&2; exit 1; }

results=()
while IFS=$'\t' read -r id path hint orig mutated tests what; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    if [ $# -gt 0 ] && [[ " $* " != *" $id "* ]]; then continue; fi
    current=$id
    echo "== $id: $what" >&2
    if ! mutate apply "$path" "$hint" "$orig" "$mutated"; then
        results+=("$id|not applied|-"); continue
    fi
    if ! build; then
        verdict="caught|build fails"
    else
        caught=$(run_tests "$tests")
        if [ -n "$caught" ]; then verdict="caught|$caught"; else verdict="SURVIVED|(ran: $tests)"; fi
    fi
    mutate revert "$path" "$hint" "$orig" "$mutated"
    results+=("$id|$verdict")
    echo "   ${verdict}" >&2
done <"$list"

echo "rebuilding the unmutated tree" >&2
build || echo "warning: the unmutated rebuild failed (see $work/build.log)" >&2

printf '%-28s %-10s %s\n' mutant verdict "failing tests"
for r in "${results[@]}"; do
    IFS='|' read -r a b c <<<"$r"
    printf '%-28s %-10s %s\n' "$a" "$b" "$c"
done
