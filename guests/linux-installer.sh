#!/usr/bin/env bash
# linux-installer.sh - build the vm-install Linux test installer: a real Linux kernel (Debian's
# installer kernel) with an initrd whose /init prints its command line and the files added to
# its initrd on the serial console, then powers off (linux-installer-init.sh).
#
# Usage: linux-installer.sh OUTDIR
#
# Produces in OUTDIR:
#   vmlinuz     the kernel of debian-installer-12-netboot-amd64
#   initrd.img  a newc cpio archive: /init and /bin/busybox (busybox-static)
# Silent on success; errors go to stderr with a non-zero exit status.
set -euo pipefail

die() { echo "linux-installer.sh: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: linux-installer.sh OUTDIR"
src_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
kernel=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux
busybox=/bin/busybox
[[ -r $kernel ]] || die "$kernel is missing (Debian: apt-get install debian-installer-12-netboot-amd64)"
file_type=$(head -c 4 "$busybox" 2>/dev/null | od -An -c | tr -d ' ')
[[ $file_type == 177ELF ]] && ! grep -q /lib64/ld-linux-x86-64.so.2 "$busybox" \
    || die "$busybox is missing or not static (Debian: apt-get install busybox-static)"

mkdir -p -- "$1"
out_dir=$(cd -- "$1" && pwd)
stage=$out_dir/initrd-root
rm -rf -- "$stage"
mkdir -p -- "$stage/bin"
cp -- "$busybox" "$stage/bin/busybox"
cp -- "$src_dir/linux-installer-init.sh" "$stage/init"
chmod 755 "$stage/init" "$stage/bin/busybox"
(cd -- "$stage" && printf '%s\n' bin bin/busybox init | busybox cpio -o -H newc -R 0:0 >"$out_dir/initrd.img" 2>/dev/null) \
    || die "busybox cpio failed to build $out_dir/initrd.img"
rm -rf -- "$stage"
cp -- "$kernel" "$out_dir/vmlinuz"
