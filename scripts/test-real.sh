#!/usr/bin/env bash
# The slow tests with real operating systems under TCG (Tests/IntegrationTests/RealSystem/):
# installs the packages (scripts/packages, groups build run guests test image), builds their
# images (cached in /var/cache/vm-install-tests, so only the first run or a changed image script
# takes long), builds and runs them. scripts/test.sh skips these tests: they run only with
# VMI_REAL_TESTS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build run guests test image
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" scripts/debian-image.sh >/dev/null   # needs root only when it builds
VMI_REAL_TESTS=1 swift test --filter RealSystem
