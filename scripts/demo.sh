#!/usr/bin/env bash
# Installs what is missing, builds, installs, and runs demo/demo.sql on a
# throwaway cluster that it starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
bash scripts/with_cluster.sh psql -X -q -v ON_ERROR_STOP=1 -f demo/demo.sql
