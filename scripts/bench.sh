#!/usr/bin/env bash
# Builds everything and runs the benchmark driver on a throwaway cluster.
# Arguments go to the driver, e.g. --rows 100000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
trap 'bash scripts/cluster.sh stop' EXIT
bash scripts/cluster.sh start
source "${PGUL_DIR:-/tmp/pg_unlearn_cluster}/env"
build/bench/pg_unlearn_bench "$@"
SECONDS_EACH=${SECONDS_EACH:-20} bench/load.sh
