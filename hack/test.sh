#!/usr/bin/env bash
# `make test`: lint (gofmt, go vet), then every test. Unit and integration tests run with one
# package per core; the e2e packages (test/e2e/...) share the host's containerd and netfilter,
# so they run one package at a time, after the rest. e2e tests skip themselves when not root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

hack/lint.sh

all=$(go list ./...)
pkgs=()
e2e=()
for p in $all; do
  case "$p" in
    capstan/test/e2e | capstan/test/e2e/*) e2e+=("$p") ;;
    *) pkgs+=("$p") ;;
  esac
done

# Both halves run even when the first fails, so one run shows every failure.
status=0
if [ ${#pkgs[@]} -gt 0 ]; then
  go test -count=1 -timeout 40m -p "$(nproc)" "${pkgs[@]}" || status=1
fi
if [ ${#e2e[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "e2e: not root, so the e2e packages skip themselves (they need containerd and netfilter)"
  fi
  go test -count=1 -timeout 40m -p 1 "${e2e[@]}" || status=1
fi
exit $status
