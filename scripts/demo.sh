#!/usr/bin/env bash
# Sets everything up (scripts/packages, groups build run guests), then installs a VM from the
# tiny bundled guest in the background and shows the job's status as it goes. The state lives in ./out/state; the VM is left running:
# stop and remove it with: .build/debug/vm-install-jobs --state-dir out/state --delete ID
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build run guests
swift build -q
bin=.build/debug
out=$PWD/out
mkdir -p "$out"
guests/build.sh "$out/guest"
name="demo-$(date +%H%M%S)"
id=$("$bin/vm-install" --state-dir "$out/state" --name "$name" --source "$out/guest/install.iso" \
  --disk "$out/$name.qcow2,size=16M" --memory 64 --vnc --background)
echo "started job $id (VM $name)"
"$bin/vm-install-jobs" --state-dir "$out/state" --status "$id"
for _ in $(seq 1 300); do
  state=$("$bin/vm-install-jobs" --state-dir "$out/state" --status "$id" | sed -n 's/^state=//p')
  [ "$state" -ge 6 ] && break
  sleep 0.2
done
echo "--- job $id now:"
"$bin/vm-install-jobs" --state-dir "$out/state" --status "$id"
serial="$out/state/vms/$name/serial.log"
# The installed guest prints its mark a moment after the job ends (seconds under nested KVM).
for _ in $(seq 1 100); do grep -q "RUNTIME OK" "$serial" 2>/dev/null && break; sleep 0.2; done
echo "--- the guest's serial console ($serial):"
cat "$serial"
