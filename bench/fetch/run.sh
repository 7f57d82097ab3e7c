#!/usr/bin/env bash
# Fetch engine alone vs the curl command line, both against MirrorServer on 127.0.0.1 (sendfile):
# one big file (hash-bound for the engine, copy-bound for curl) and many 4 KiB files (request-bound).
# Usage: bench/fetch/run.sh [MiB of the big file, default 1024] [number of small files, default 2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --build-tests > /dev/null
FETCH_BENCH=1 FETCH_BENCH_MB="${1:-1024}" FETCH_BENCH_FILES="${2:-2000}" \
    swift test --skip-build --filter FetchBenchmark 2>&1 | grep -E "FETCH-BENCH|✘|error" || true
