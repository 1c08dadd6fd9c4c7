#!/usr/bin/env bash
# The README's first command. Installs what the demo needs (scripts/packages, groups build, run
# and guests), builds, installs a VM from the tiny bundled guest in the background, shows the
# job's status before and after, and the installed guest's serial console. Fails when the job
# does not finish or the installed guest does not start. The state lives in ./out/state and
# the VM is left running; stop and remove it with
#   .build/debug/vm-install-jobs --state-dir out/state --delete ID
# With --cleanup (CI) the demo does that itself when it ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
cleanup=false
case "${1:-}" in
  "") ;;
  --cleanup) cleanup=true ;;
  *) echo "usage: scripts/demo.sh [--cleanup]" >&2; exit 2 ;;
esac
scripts/install-deps.sh build run guests
swift build -q
bin=.build/debug
out=$PWD/out
jobs=("$bin/vm-install-jobs" --state-dir "$out/state")
mkdir -p "$out"
guests/build.sh "$out/guest"
name="demo-$(date +%H%M%S)"
id=$("$bin/vm-install" --state-dir "$out/state" --name "$name" --source "$out/guest/install.iso" \
  --disk "$out/$name.qcow2,size=16M" --memory 64 --vnc --background)
if $cleanup; then
  # A job that still runs is canceled first: --delete takes ended jobs only.
  remove() {
    "${jobs[@]}" --cancel "$id" >/dev/null 2>&1 || true
    "${jobs[@]}" --wait "$id" --timeout 60 >/dev/null 2>&1 || true
    "${jobs[@]}" --delete "$id" && echo "deleted job $id, its VM and its disk"
  }
  trap remove EXIT
fi
echo "started job $id (VM $name)"
"${jobs[@]}" --status "$id"
echo "--- job $id when it has ended:"
if ! "${jobs[@]}" --wait "$id" --timeout 120; then
  echo "demo: job $id did not finish; its log is $("${jobs[@]}" --status "$id" | sed -n 's/^log=//p')" >&2
  exit 1
fi
serial="$out/state/vms/$name/serial.log"
# The installed guest prints its mark a moment after the job ends (seconds under nested KVM).
for _ in $(seq 1 300); do grep -q "RUNTIME OK" "$serial" 2>/dev/null && break; sleep 0.2; done
echo "--- the guest's serial console ($serial):"
cat "$serial"
grep -q "RUNTIME OK" "$serial" || { echo "demo: the installed guest did not start (no RUNTIME OK on its console)" >&2; exit 1; }
