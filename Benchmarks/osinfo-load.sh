#!/usr/bin/env bash
# Benchmarks/osinfo-load.sh - what loading osinfo-db costs vm-install, and that vm-install-jobs
# pays nothing for it. Not a test: it prints hyperfine's tables. See Benchmarks/README.md.
#
# Environment:
#   VMI_BIN_DIR       directory with vm-install and vm-install-jobs (default .build-release/release)
#   VMI_BASELINE_DIR  the same tools built from a commit before libosinfo, for --status (optional)
#   VMI_BENCH_RUNS    runs per command (default 20; --status gets 25 times as many)
set -euo pipefail

die() { echo "osinfo-load.sh: $*" >&2; exit 1; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
bin=${VMI_BIN_DIR:-$repo/.build-release/release}
runs=${VMI_BENCH_RUNS:-20}
[[ -x $bin/vm-install && -x $bin/vm-install-jobs ]] || die "no vm-install in $bin (make build)"
command -v hyperfine >/dev/null || die "hyperfine is missing (apt-get install hyperfine)"

work=$(mktemp -d -t vmi-osinfo-bench.XXXXXXXX)
trap 'rm -rf -- "$work"' EXIT
"$repo/guests/build.sh" "$work/guest"
# The tiny installer on an ISO with Fedora 37 Server's volume id, which osinfo-db recognises.
mkdir "$work/iso" && cp "$work/guest/installer.bin" "$work/iso/"
xorriso -as mkisofs -quiet -R -V Fedora-S-dvd-x86_64-37 -b installer.bin -no-emul-boot -boot-load-size 2 \
    -o "$work/f37.iso" "$work/iso" 2>/dev/null

# Each run stops in SETTINGS, after the OS is settled: the disk's directory does not exist.
state=$work/state
args="--state-dir $state --name x --vnc --disk $work/none/d.qcow2,size=1G"
echo "## SETTINGS (vm-install in the foreground, ending in SETTINGS)"
hyperfine -N -i -w 2 -r "$runs" --style basic \
    -n "os-type generic (no database)" "$bin/vm-install $args --os-type generic --source $work/guest/install.iso" \
    -n "os-type fedora37" "$bin/vm-install $args --os-type fedora37 --source $work/guest/install.iso" \
    -n "recognised as fedora37" "$bin/vm-install $args --source $work/f37.iso" \
    -n "not recognised" "$bin/vm-install $args --source $work/guest/install.iso"
echo "## --os-type list"
hyperfine -N -w 2 -r "$runs" --style basic \
    -n "vm-install --version" "$bin/vm-install --version" \
    -n "vm-install --os-type list" "$bin/vm-install --os-type list" \
    -n "vm-install --os-type list --json" "$bin/vm-install --os-type list --json"
echo "## vm-install-jobs --status (a job of the runs above)"
status=(-n "vm-install-jobs --status" "$bin/vm-install-jobs --state-dir $state --status 1")
if [[ -n ${VMI_BASELINE_DIR:-} ]]; then
    status+=(-n "baseline vm-install-jobs --status" "$VMI_BASELINE_DIR/vm-install-jobs --state-dir $state --status 1")
fi
hyperfine -N -w 30 -r $((runs * 25)) --style basic "${status[@]}"
for tool in vm-install vm-install-jobs; do
    echo "$tool: $(readelf -d "$bin/$tool" | grep -cE 'NEEDED.*(libosinfo|libglib-2|libgobject|libgio)') libosinfo/glib libraries linked"
done
