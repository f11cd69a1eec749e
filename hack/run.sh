#!/usr/bin/env bash
# `make run`: installs what the server needs, builds, and runs `bin/capstan server` in the
# foreground (Ctrl-C stops it). Arguments are passed to `capstan server`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "make run needs root: capstan server runs containers and programs netfilter." >&2
  echo "Run it again as root, e.g. sudo make run" >&2
  exit 1
fi
hack/setup.sh --for run
hack/build.sh
exec bin/capstan server "$@"
