#!/usr/bin/env bash
# Installs what the tests need and runs them: unit tests and integration tests that boot
# tiny guests in real QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift test
