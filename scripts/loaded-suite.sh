#!/usr/bin/env bash
# Runs the whole test suite RUNS times in a row (default 3) while `stress-ng --cpu 2` loads
# the machine, and prints one line per run: its result, its time and the load average.
# The proof that the suite waits on events, not on how fast the machine is. Each run's
# output goes to DIR/run-K.log (DIR: $VMI_LOADED_DIR, else a new directory in /tmp).
#
#   scripts/loaded-suite.sh [RUNS]
#
# Installs what the tests need and stress-ng (scripts/packages, bench), builds first
# (swift build --build-tests) without load, and stops stress-ng by its pid whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
dir=${VMI_LOADED_DIR:-$(mktemp -d /tmp/vmi-loaded-XXXXXX)}
mkdir -p "$dir"
scripts/install-deps.sh build run guests test libvirtd bench
scripts/libvirtd.sh
swift build --build-tests
stress-ng --cpu 2 --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null || true; wait "$stress" 2>/dev/null || true' EXIT
failed=0
for k in $(seq 1 "$runs"); do
  start=$(date +%s)
  if swift test --skip-build >"$dir/run-$k.log" 2>&1; then result=passed; else result=FAILED; failed=1; fi
  summary=$(grep -E '^. Test run with' "$dir/run-$k.log" | tail -n 1 || true)
  echo "run $k: $result in $(($(date +%s) - start)) s, load $(cut -d' ' -f1-3 /proc/loadavg): ${summary:-no summary} ($dir/run-$k.log)"
done
exit $failed
