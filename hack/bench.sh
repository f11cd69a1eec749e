#!/usr/bin/env bash
# `make bench`: runs every benchmark and keeps the output in _output/bench.txt. Record results
# worth keeping in docs/benchmarks.md with the machine and the command.
#
# First the package micro-benchmarks (go test -bench in every package but test/bench), then
# the control-plane benchmarks in test/bench, once each: they start `capstan server`
# subprocesses and do a fixed amount of work per run (see test/bench/doc.go).
# BENCH=<regexp> narrows the control-plane benchmarks, e.g. BENCH=PodList make bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p _output
out=_output/bench.txt
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
  echo "# $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | cut -d' ' -f3)"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

mapfile -t pkgs < <(go list ./... | grep -v '^capstan/test/bench$')
go test -run '^$' -bench . -benchmem "${pkgs[@]}" 2>&1 | grep -v 'no test files' | tee -a "$out"
go test ./test/bench/ -run '^$' -bench "${BENCH:-.}" -benchtime 1x -timeout 30m 2>&1 | tee -a "$out"

echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo "Benchmark output: $out" >&2
