#!/usr/bin/env bash
# Installs what the tests need (scripts/packages, groups build run guests test libvirtd) and runs
# them: unit tests and integration tests that boot tiny guests in real QEMU, Debian's
# installer, and a real libvirtd (started here).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build run guests test libvirtd
scripts/libvirtd.sh
swift test
