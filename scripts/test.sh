#!/usr/bin/env bash
# Runs every test file under test/ and src/ (middleware tests sit beside their code) with node's test runner (tsx loads TypeScript).
# Pass file paths to run only those. One file at a time: several tests run clusters and time their
# guarantees (lease expiry, fault schedules), and two such files at once on 2 cores starve each other.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test src -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
