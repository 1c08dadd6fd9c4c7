#!/usr/bin/env bash
# Installs what the tests need (scripts/packages, groups build run guests test libvirtd) and runs
# them: unit tests and integration tests that boot tiny guests in real QEMU, Debian's
# installer, and a real libvirtd (started here).
set -euo pipefail
cd "$(dirname "$0")/.."
# As root, tests also run the built tools as ordinary users (made with useradd), who must be
# able to enter every directory above .build: not so in a clone under /root.
if [ "$(id -u)" -eq 0 ]; then
  closed=()
  dir=$PWD
  while [ "$dir" != / ]; do
    [[ $(stat -c %A "$dir") == *[xt] ]] || closed+=("$dir")
    dir=$(dirname "$dir")
  done
  if [ ${#closed[@]} -gt 0 ]; then
    echo "scripts/test.sh: the tests run the built tools as an ordinary user too, who cannot enter ${closed[*]} (no o+x): clone the repository where every user can reach it (not under /root), or chmod o+x ${closed[*]}" >&2
    exit 1
  fi
fi
scripts/install-deps.sh build run guests test libvirtd
scripts/libvirtd.sh
swift test
