#!/usr/bin/env bash
# Runs every test file under test/ with node's test runner (tsx loads TypeScript).
# Pass file paths to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
