#!/usr/bin/env bash
# Builds and installs the extension (PGXS) and builds the CMake targets
# (core library, unit tests, benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
pg_config=${PGUL_PG:-/usr/lib/postgresql/15}/bin/pg_config
make -s -j2 PG_CONFIG=$pg_config
make -s install PG_CONFIG=$pg_config >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 >/dev/null
