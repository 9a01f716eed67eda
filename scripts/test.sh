#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite on a throwaway
# cluster: unit tests (CTest), pg_regress + isolation, the scikit-learn
# cross-check, and the TAP tests (which start clusters of their own).
# Every suite runs even if one fails; the exit status says whether all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh

passed=0
failed=0
suite() {
    local name=$1
    shift
    echo "== $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "== $name: passed"
    else
        failed=$((failed + 1))
        echo "== $name: FAILED"
    fi
}

regress() {
    if make -s installcheck PG_CONFIG=${PGUL_PG:-/usr/lib/postgresql/15}/bin/pg_config; then return 0; fi
    for f in regression.diffs output_iso/regression.diffs; do [ -f "$f" ] && cat "$f"; done
    return 1
}

suite "unit tests" ctest --test-dir build --output-on-failure
suite "fuzz: state blobs, lineage blocks, options (20 s)" test/fuzz/run.sh

# If the script dies or is interrupted before the final stop, don't leave the
# server running (stopping twice is harmless: the second finds no directory).
trap 'bash scripts/cluster.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/cluster.sh start
source "${PGUL_DIR:-/tmp/pg_unlearn_cluster}/env"
suite "pg_regress" regress
if [ -x test/python/run.sh ]; then suite "scikit-learn cross-check" test/python/run.sh; fi
suite "progress seen from another session" /usr/bin/python3 test/python/check_progress.py
suite "report rendered in headless Chromium" /usr/bin/python3 test/python/check_report.py
suite "TAP: crash, dump/restore, WAL replay" test/t/run.sh
if [ "$failed" -gt 0 ]; then bash scripts/cluster.sh log | tail -n 50; fi
suite "no backend crashed" bash scripts/cluster.sh stop

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
