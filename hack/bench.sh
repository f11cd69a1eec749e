#!/usr/bin/env bash
# `make bench`: runs every benchmark and keeps the output in _output/bench.txt. Record results
# worth keeping in docs/benchmarks.md with the machine and the command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p _output
go test -run '^$' -bench . -benchmem ./... | tee _output/bench.txt
echo "Benchmark output: _output/bench.txt" >&2
