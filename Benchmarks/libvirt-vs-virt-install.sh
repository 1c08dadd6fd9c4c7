#!/usr/bin/env bash
# Benchmarks/libvirt-vs-virt-install.sh - the same tiny guest installed into the same libvirtd
# under TCG, end to end, by `vm-install --connect qemu:///system ... --settle 0` (foreground)
# and by `virt-install --cdrom ... --wait`: both end when the installed VM runs again. Also
# the time from the guest's power-off (POST_INSTALL) to RUNTIME, from vm-install's job log.
#
# Usage: Benchmarks/libvirt-vs-virt-install.sh        (VMI_BENCH_ROUNDS=5, VMI_BIN_DIR=.build-release/release)
# A benchmark, not a test: it prints a table and exits 0 whatever the numbers are.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${VMI_BENCH_ROUNDS:-5}
bin=${VMI_BIN_DIR:-$repo/.build-release/release}
uri=qemu:///system
[ -x "$bin/vm-install" ] || (cd "$repo" && make build >/dev/null)
"$repo/scripts/libvirtd.sh"
command -v virt-install >/dev/null || "$repo/scripts/install-deps.sh" bench

work=$(mktemp -d /tmp/vmi-bench-XXXXXX)
prefix="vmib$$"
cleanup() {
  for d in $(virsh -q -c "$uri" list --all --name | grep "^$prefix-" || true); do
    virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
    virsh -q -c "$uri" undefine --nvram "$d" >/dev/null 2>&1 || true
  done
  # virt-install makes a storage pool of each directory it is given files in.
  for p in $(virsh -q -c "$uri" pool-list --all --name); do
    if virsh -q -c "$uri" pool-dumpxml "$p" | grep -q "<path>$work"; then
      virsh -q -c "$uri" pool-destroy "$p" >/dev/null 2>&1 || true
      virsh -q -c "$uri" pool-undefine "$p" >/dev/null 2>&1 || true
    fi
  done
  rm -rf -- "$work"
}
trap cleanup EXIT
bash "$repo/guests/build.sh" "$work/guest"
iso="$work/guest/install.iso"
now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
# Milliseconds between two log lines' timestamps (2026-12-02T15:04:05.123Z).
logms() {
  awk -v a="$2" -v b="$3" '
    function t(s) { split(substr(s, 12, 12), p, ":"); return p[1] * 3600000 + p[2] * 60000 + p[3] * 1000 }
    index($0, a) { ta = t($1) } index($0, b) { tb = t($1) } END { printf "%d", tb - ta }' "$1"
}

printf '%-6s %14s %16s %8s %14s %22s\n' round "vm-install ms" "virt-install ms" ratio "qcow2 disk ms" "power-off→RUNTIME ms"
for i in $(seq "$rounds"); do
  a="$prefix-$i-a" b="$prefix-$i-b"
  t0=$(now)
  "$bin/vm-install" --state-dir "$work/state" --connect "$uri" --name "$a" --source "$iso" \
    --disk "$work/$a.qcow2,size=16M" --memory 64 --accel tcg --settle 0 --os-type generic >/dev/null 2>&1
  t1=$(now)
  virt-install --connect "$uri" --name "$b" --memory 64 --virt-type qemu --cdrom "$iso" \
    --disk "path=$work/$b.qcow2,size=0.016,format=qcow2" --osinfo generic --network user \
    --graphics none --noautoconsole --wait >/dev/null 2>&1
  t2=$(now)
  id=$("$bin/vm-install-jobs" --state-dir "$work/state" --list | tail -n 1)
  gap=$(logms "$work/state/jobs/$id/log" "state 3 (POST_INSTALL)" "state 5 (RUNTIME)")
  disk=$(logms "$work/state/jobs/$id/log" "creating disk" "starting the install VM")
  v=$(ms "$t0" "$t1") w=$(ms "$t1" "$t2")
  printf '%-6s %14s %16s %8s %14s %22s\n' "$i" "$v" "$w" "$(awk -v a="$v" -v b="$w" 'BEGIN { printf "%.2f", a / b }')" "$disk" "$gap"
  "$bin/vm-install-jobs" --state-dir "$work/state" --delete "$id" >/dev/null
  virsh -q -c "$uri" destroy "$b" >/dev/null 2>&1 || true
  virsh -q -c "$uri" undefine "$b" >/dev/null 2>&1 || true
done
