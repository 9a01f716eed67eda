#!/usr/bin/env bash
# Builds everything and runs the benchmarks on a throwaway cluster: the
# driver (arguments go to it, e.g. --rows 100000), the SISA benchmark, then
# the mixed workload.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
bash scripts/with_cluster.sh bash -c 'build/bench/pg_unlearn_bench "$@" && build/bench/pg_unlearn_sisa_bench &&
    SECONDS_EACH=${SECONDS_EACH:-20} bench/load.sh' bench "$@"
