#!/usr/bin/env bash
# Builds bin/capstan with the version stamped in (hack/version.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CGO_ENABLED=0 go build -trimpath -ldflags "$(hack/version.sh)" -o bin/capstan ./cmd/capstan
