#!/usr/bin/env bash
# build.sh - build the vm-install test guests.
#
# Usage: build.sh OUTDIR [--delay-ticks N] [--never-finish] [--reboot] [--wait-key]
#
# Produces in OUTDIR:
#   runtime.bin    512-byte MBR boot sector ("the installed system")
#   installer.bin  1024-byte El Torito no-emulation boot image
#   install.iso    bootable ISO with installer.bin and README.TXT
# Silent on success; errors go to stderr with a non-zero exit status.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 1; }

usage() { die "usage: build.sh OUTDIR [--delay-ticks N] [--never-finish] [--reboot] [--wait-key]"; }

# Sources live next to this script, so callers may run it from anywhere.
src_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

[[ $# -ge 1 ]] || usage
out_dir=$1
shift
delay_ticks=0
never_finish=0
reboot=0
wait_key=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --delay-ticks)
            [[ $# -ge 2 ]] || usage
            # Plain decimal only: the value goes straight into nasm.
            [[ $2 =~ ^[0-9]+$ ]] && (( 10#$2 < 65536 )) \
                || die "--delay-ticks needs an integer 0..65535, got '$2'"
            delay_ticks=$((10#$2))
            shift 2 ;;
        --never-finish)
            never_finish=1
            shift ;;
        --reboot)
            reboot=1
            shift ;;
        --wait-key)
            wait_key=1
            shift ;;
        *) usage ;;
    esac
done

for tool in nasm xorriso; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "'$tool' not found in PATH (Debian/Ubuntu: apt-get install $tool)"
done

mkdir -p -- "$out_dir"
out_dir=$(cd -- "$out_dir" && pwd)   # absolute: nasm's incbin needs a usable path
case $out_dir in
    *'"'*) die "OUTDIR must not contain a double quote: $out_dir" ;;
esac

nasm -f bin -o "$out_dir/runtime.bin" "$src_dir/runtime.asm"
nasm -f bin -o "$out_dir/kernel.bin" "$src_dir/kernel.asm"

installer_defs=(-DINSTALL_DELAY_TICKS="$delay_ticks")
if (( never_finish )); then
    installer_defs+=(-DNEVER_FINISH)
fi
if (( reboot )); then
    installer_defs+=(-DREBOOT_AT_END)
fi
if (( wait_key )); then
    installer_defs+=(-DWAIT_KEY)
fi
# RUNTIME_BIN must reach nasm as a quoted string literal.
nasm -f bin "${installer_defs[@]}" -DRUNTIME_BIN="\"$out_dir/runtime.bin\"" \
    -o "$out_dir/installer.bin" "$src_dir/installer.asm"

# The ISO is built from a staging directory so it contains exactly the boot
# image and the README, nothing else that happens to be in OUTDIR.
stage="$out_dir/iso-root"
rm -rf -- "$stage"
mkdir -- "$stage"
cp -- "$out_dir/installer.bin" "$stage/installer.bin"
cat > "$stage/README.TXT" <<'TXT'
This is the vm-install test installer.

Booting this CD writes a tiny boot sector to the first hard disk and powers
the machine off. It is a test fixture, not an operating system.
TXT

# xorriso chatters on stderr even with -quiet in some versions: keep its
# output and show it only if it fails.
if ! log=$(xorriso -as mkisofs -quiet -R -V VMINSTALL \
        -b installer.bin -no-emul-boot -boot-load-size 2 \
        -o "$out_dir/install.iso" "$stage" 2>&1); then
    printf '%s\n' "$log" >&2
    die "xorriso failed to build $out_dir/install.iso"
fi
rm -rf -- "$stage"
