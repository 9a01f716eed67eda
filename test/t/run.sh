#!/usr/bin/env bash
# Runs the TAP tests (PostgreSQL::Test::Cluster). initdb refuses root, so as
# root they run as the unprivileged 'postgres' user in a scratch directory.
set -euo pipefail
pgxs=${PGUL_PG:-/usr/lib/postgresql/15}/lib/pgxs
work=$(mktemp -d /tmp/pg_unlearn_tap.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$(dirname "$0")"/${TAP_TESTS:-*.pl} "$work/"
run=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres "$work"
    run=(runuser -u postgres --)
fi
cd "$work"
status=0
"${run[@]}" env PERL5LIB="$pgxs/src/test/perl" TESTDIR="$work" PATH="${PGUL_PG:-/usr/lib/postgresql/15}/bin:$PATH" \
    PG_REGRESS="$pgxs/src/test/regress/pg_regress" prove --timer -v ./*.pl || status=$?
if [ "$status" -ne 0 ]; then
    for f in "$work"/tmp_check/log/*; do echo "== $f"; tail -n 40 "$f"; done
fi
exit "$status"
