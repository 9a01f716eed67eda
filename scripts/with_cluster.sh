#!/usr/bin/env bash
# Runs a command against a throwaway cluster that it starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'bash scripts/cluster.sh stop' EXIT
bash scripts/cluster.sh start
source "${PGUL_DIR:-/tmp/pg_unlearn_cluster}/env"
"$@"
