#!/usr/bin/env bash
# Installs from Debian packages what capstan needs on a node: the container runtime (containerd,
# runc, the CNI plugins) and the network tools (iptables, nftables, iproute2, conntrack, socat,
# ethtool, kmod), and busybox-static, which the e2e tests pack into their busybox image.
#
# Usage: hack/setup.sh --for run|test
#
# Idempotent: when everything is installed it prints nothing and runs no apt-get. Otherwise,
# as root, it installs what is missing and says what; not as root, it names what is missing and
# fails for `run` but only warns for `test` (tests that need the runtime skip themselves).
# It never starts containerd as a service: capstan's agent supervises its own.
set -euo pipefail

packages=(containerd runc containernetworking-plugins iptables nftables iproute2 conntrack socat ethtool kmod busybox-static)

usage() {
  echo "usage: $0 --for run|test"
}

purpose=""
while [ $# -gt 0 ]; do
  case "$1" in
    --for) purpose=${2:-}; shift; [ $# -gt 0 ] && shift ;;
    --for=*) purpose=${1#--for=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case "$purpose" in
  run|test) ;;
  *) usage >&2; exit 2 ;;
esac

# fail_or_warn stops `make run` but lets `make test` go on.
fail_or_warn() {
  if [ "$purpose" = run ]; then
    echo "hack/setup.sh: error: $*" >&2
    exit 1
  fi
  echo "hack/setup.sh: warning: $*" >&2
  exit 0
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  fail_or_warn "this script installs with apt-get (Debian, Ubuntu); install by hand: ${packages[*]}"
fi

missing() {
  local p
  for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
      echo "$p"
    fi
  done
}
mapfile -t todo < <(missing)
[ ${#todo[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  fail_or_warn "missing packages: ${todo[*]}; install them as root: sudo $0 --for $purpose"
fi

echo "hack/setup.sh: installing ${todo[*]}"
export DEBIAN_FRONTEND=noninteractive

# Keep the packages' maintainer scripts from starting services (containerd) while we install,
# unless the machine already has a policy of its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# hack/setup.sh: start no services while installing\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

apt-get -qq -o Acquire::Retries=3 update
apt-get -qq -o Acquire::Retries=3 install -y --no-install-recommends "${todo[@]}" </dev/null

mapfile -t still < <(missing)
if [ ${#still[@]} -gt 0 ]; then
  echo "hack/setup.sh: error: still not installed: ${still[*]}" >&2
  exit 1
fi

# containerd must not run as a system service on boot either.
if [[ " ${todo[*]} " == *" containerd "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --quiet containerd.service || true
  echo "hack/setup.sh: disabled containerd.service; capstan's agent runs its own containerd"
fi

for cmd in "containerd --version" "runc --version"; do
  if ! out=$($cmd 2>&1); then
    echo "hack/setup.sh: error: '$cmd' fails after installing: $out" >&2
    exit 1
  fi
  echo "hack/setup.sh: $(head -n 1 <<<"$out")"
done
