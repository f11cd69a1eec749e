#!/usr/bin/env bash
# Fails on Go files gofmt would change, then runs go vet.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tracked and new files, not ignored ones (outside git: every file); testdata may hold
# deliberately odd Go.
list_go_files() {
  git ls-files --cached --others --exclude-standard -- '*.go' 2>/dev/null ||
    find . -name '*.go' -not -path './.git/*' -not -path './_output/*' -not -path './bin/*'
}
mapfile -t files < <(list_go_files | grep -v '/testdata/' || true)
existing=()
for f in "${files[@]}"; do
  [ -f "$f" ] && existing+=("$f")
done
if [ ${#existing[@]} -gt 0 ]; then
  unformatted=$(gofmt -l "${existing[@]}")
  if [ -n "$unformatted" ]; then
    echo "gofmt would change these files (run gofmt -w on them):" >&2
    echo "$unformatted" >&2
    exit 1
  fi
fi
go vet ./...
