#!/usr/bin/env bash
# Builds the fuzz target with clang and runs it: briefly by default (the test
# suite), longer with FUZZ_SECONDS=600.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGUL_FUZZ=ON >/dev/null
cmake --build build-fuzz -j2 --target fuzz_blobs >/dev/null
mkdir -p build-fuzz/corpus
build-fuzz/fuzz_blobs -max_total_time="${FUZZ_SECONDS:-20}" -max_len=4096 -print_final_stats=1 build-fuzz/corpus 2>&1 | tail -n 3
