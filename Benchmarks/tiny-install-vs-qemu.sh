#!/usr/bin/env bash
# Benchmarks/tiny-install-vs-qemu.sh - the tiny guest installed, booted and removed, side by
# side, by vm-install (QEMU driver, foreground, --settle 0, then vm-install-jobs --delete) and
# by raw QEMU doing the same with the same guest and the same devices (qemu-img create, the
# install VM until the guest powers off, the installed VM until its serial console shows
# the mark, then kill and rm). Both rounds end when the installed guest has printed its mark
# and everything is removed. Also: `vm-install --background` alone (submission time).
#
# Usage: Benchmarks/tiny-install-vs-qemu.sh      (VMI_BENCH_ROUNDS=10, VMI_BIN_DIR=.build-release/release)
# A benchmark, not a test: it prints a table and exits 0 whatever the numbers are.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${VMI_BENCH_ROUNDS:-10}
bin=${VMI_BIN_DIR:-$repo/.build-release/release}
[ -x "$bin/vm-install" ] || (cd "$repo" && make build >/dev/null)
work=$(mktemp -d /tmp/vmi-bench-XXXXXX)
raw_pid=
cleanup() {
  [ -n "$raw_pid" ] && kill "$raw_pid" 2>/dev/null || true
  for id in $("$bin/vm-install-jobs" --state-dir "$work/state" --list 2>/dev/null); do
    "$bin/vm-install-jobs" --state-dir "$work/state" --cancel "$id" >/dev/null 2>&1 || true
    "$bin/vm-install-jobs" --state-dir "$work/state" --delete "$id" >/dev/null 2>&1 || true
  done
  rm -rf -- "$work"
}
trap cleanup EXIT
bash "$repo/guests/build.sh" "$work/guest"
iso="$work/guest/install.iso"
mark="VM-INSTALL RUNTIME OK"
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
# Waits until FILE holds the mark, looking every 5 ms (the same for both sides).
wait_mark() {
  local file=$1
  until grep -qs "$mark" "$file"; do sleep 0.005; done
}

# The same devices as vm-install's QEMU command line for this VM (QEMUCommandLine.swift).
qemu_common=(-machine pc,accel=tcg -m 64 -smp 1 -nodefaults -no-user-config -display none
  -netdev user,id=net0 -device virtio-net-pci,netdev=net0)
raw_round() {
  local disk=$work/raw.qcow2 serial=$work/raw-serial.log
  rm -f "$disk" "$serial"
  qemu-img create -q -f qcow2 "$disk" 16M
  qemu-system-x86_64 "${qemu_common[@]}" -chardev "file,id=s0,path=$serial" -serial chardev:s0 \
    -drive "if=none,id=disk0,file=$disk,format=qcow2" -device virtio-blk-pci,drive=disk0,bootindex=2 \
    -drive "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=$iso" -device ide-cd,drive=cd0,bootindex=1 \
    -no-reboot
  : >"$serial"
  qemu-system-x86_64 "${qemu_common[@]}" -chardev "file,id=s0,path=$serial" -serial chardev:s0 \
    -drive "if=none,id=disk0,file=$disk,format=qcow2" -device virtio-blk-pci,drive=disk0,bootindex=1 &
  raw_pid=$!
  wait_mark "$serial"
  kill "$raw_pid"
  wait "$raw_pid" 2>/dev/null || true
  raw_pid=
  rm -f "$disk" "$serial"
}
vmi_round() {
  local name=$1
  "$bin/vm-install" --state-dir "$work/state" --name "$name" --source "$iso" --disk "$work/$name.qcow2,size=16M" \
    --memory 64 --accel tcg --settle 0 --os-type generic 2>/dev/null
  wait_mark "$work/state/vms/$name/serial.log"
  "$bin/vm-install-jobs" --state-dir "$work/state" --delete "$("$bin/vm-install-jobs" --state-dir "$work/state" --list | tail -n 1)"
}

printf '%-6s %12s %12s %8s\n' round "raw QEMU ms" "vm-install ms" ratio
raw_all=() vmi_all=()
for i in $(seq "$rounds"); do
  t0=$(now); raw_round; t1=$(now); vmi_round "t$i"; t2=$(now)
  r=$(ms "$t0" "$t1") v=$(ms "$t1" "$t2")
  raw_all+=("$r") vmi_all+=("$v")
  printf '%-6s %12s %12s %8s\n' "$i" "$r" "$v" "$(awk -v a="$v" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
rm_=$(median "${raw_all[@]}") vm_=$(median "${vmi_all[@]}")
printf '%-6s %12s %12s %8s\n' median "$rm_" "$vm_" "$(awk -v a="$vm_" -v b="$rm_" 'BEGIN { printf "%.2f", a / b }')"

# Submission: vm-install --background alone, the job canceled and deleted after each.
subs=()
for i in $(seq "$rounds"); do
  t0=$(now)
  id=$("$bin/vm-install" --state-dir "$work/state" --name "b$i" --source "$iso" --disk "$work/b$i.qcow2,size=16M" \
    --memory 64 --accel tcg --settle 0 --os-type generic --background)
  t1=$(now)
  subs+=("$(ms "$t0" "$t1")")
  "$bin/vm-install-jobs" --state-dir "$work/state" --cancel "$id" >/dev/null
  "$bin/vm-install-jobs" --state-dir "$work/state" --wait "$id" >/dev/null 2>&1 || true
  "$bin/vm-install-jobs" --state-dir "$work/state" --delete "$id" >/dev/null
done
echo "vm-install --background: median $(median "${subs[@]}") ms (${subs[*]})"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
