#!/usr/bin/env bash
# Prints the -ldflags that stamp the build's version into capstan (internal/version) and into
# the Kubernetes libraries that report one: k8s.io/component-base/version (`kubectl version
# --client`) and k8s.io/client-go/pkg/version (the client User-Agent).
#
# The version is v<Kubernetes version>-capstan.<short commit>[-dirty]: the Kubernetes version is
# the one of the k8s.io/api module in go.mod (v0.X.Y is Kubernetes v1.X.Y), the API we implement.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

api=$(go list -m -f '{{.Version}}' k8s.io/api)  # v0.37.2
kube="v1.${api#v0.}"                             # v1.37.2
major=1
minor=$(cut -d. -f2 <<<"$kube")

if commit=$(git rev-parse HEAD 2>/dev/null); then
  if [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    tree=clean
    suffix=""
  else
    tree=dirty
    suffix="-dirty"
  fi
  git_version="${kube}-capstan.$(git rev-parse --short=7 HEAD)${suffix}"
else # not a git checkout (e.g. a source tarball)
  commit=unknown
  tree=unknown
  git_version="${kube}-capstan.dev"
fi
build_date=$(date -u +'%Y-%m-%dT%H:%M:%SZ')

flags=()
for pkg in capstan/internal/version k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=("-X '${pkg}.gitVersion=${git_version}'"
          "-X '${pkg}.gitCommit=${commit}'"
          "-X '${pkg}.gitTreeState=${tree}'"
          "-X '${pkg}.buildDate=${build_date}'")
done
# Upstream's version packages also carry major and minor; ours derives them from gitVersion.
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=("-X '${pkg}.gitMajor=${major}'" "-X '${pkg}.gitMinor=${minor}'")
done
echo "${flags[*]}"
