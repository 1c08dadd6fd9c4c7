#!/usr/bin/env bash
# Builds a small Debian 12 (bookworm) cloud image for the tests with real systems, with
# debootstrap from Debian's mirror: the stock kernel, systemd, udev, cloud-init set to the
# NoCloud datasource (the seed ISO vm-install --cloud-init attaches), extlinux on an ext4
# partition behind syslinux's MBR (SeaBIOS boots it), the console on ttyS0 (and tty0), root
# by UUID, root without a password. The result is a compressed qcow2.
#
#   scripts/debian-image.sh [OUTPUT]    default /var/cache/vm-install-tests/debian-12-cloud.qcow2
#
# Cached: OUTPUT is rebuilt only when it is missing or this script has changed (its sha256
# is kept in OUTPUT.script-sha256). The build happens in a folder beside OUTPUT and the
# image is renamed into place at the end, so an interrupted build never leaves a half image;
# loop devices and mounts are always released. Prints OUTPUT's path on stdout; progress on
# stderr. Needs root. The mirror is the host's own (its apt sources); DEBIAN_MIRROR overrides it.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
here=$(dirname "$self")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
output=$(readlink -m "${1:-/var/cache/vm-install-tests/debian-12-cloud.qcow2}")
size=4G   # the guest's disk; the qcow2 holds only what is written

say() { echo "debian-image: $*" >&2; }
hash=$(sha256sum "$self" | cut -d' ' -f1)
cached() { [ -f "$output" ] && [ "$(cat "$output.script-sha256" 2>/dev/null)" = "$hash" ]; }

if cached; then
  echo "$output"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { say "needs root (debootstrap, loop devices, mount)"; exit 1; }

# What the build runs on the host (scripts/packages, group image).
"$here/install-deps.sh" image

outdir=$(dirname "$output")
mkdir -p "$outdir"
# One build at a time per image; whoever waited finds the image the other one built.
exec 9>"$output.lock"
flock 9
if cached; then
  echo "$output"
  exit 0
fi

# Removes a build folder (remove_tree: never while anything is mounted below it), after
# unmounting its disk and detaching the loop devices on it.
remove_build() {
  local dir=$1 m l
  for m in $(mounts_under "$dir"); do umount "$m" || umount -l "$m" || true; done
  for l in $(losetup -j "$dir/disk.raw" -O NAME -n 2>/dev/null); do losetup -d "$l" || true; done
  remove_tree "$dir"
}
# Builds that were killed before their trap ran (we hold the lock, so none is running).
for stale in "$outdir"/.debian-image.*; do
  [ -d "$stale" ] || continue
  remove_build "$stale" || true
done

work=$(mktemp -d "$outdir/.debian-image.XXXXXX")
cleanup() {
  local rc=$?
  set +e
  remove_build "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

root=$work/root
log=$work/build.log
fail() {
  say "$1; the end of its log:"
  tail -n 40 "$log" >&2
  exit 1
}
started=$SECONDS

mirror=$(debian_mirror)
say "debootstrap bookworm from $mirror (minutes)"
include=linux-image-amd64,initramfs-tools,kmod,systemd-sysv,udev,e2fsprogs
# cloud-init's init and config stages set up SSH (host keys, authorized keys): a server is
# there for them, and for tests that log in through a forwarded port.
include+=,cloud-init,python3-cffi-backend,ifupdown,iproute2,netbase,openssh-server
debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" >"$log" 2>&1 \
  || fail "debootstrap failed"

kernel=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -f "$root/boot/initrd.img-$kernel" ] || fail "no initrd for kernel $kernel"
# What the guest needs to find its root, as modules in the initramfs or built into the kernel.
initramfs=$(chroot "$root" lsinitramfs "/boot/initrd.img-$kernel")
for module in virtio_pci virtio_blk ext4; do
  grep -q "/$module\.ko" <<<"$initramfs" || grep -q "/$module\.ko" "$root/lib/modules/$kernel/modules.builtin" \
    || fail "the initramfs lacks $module"
done

say "configuring (kernel $kernel)"
uuid=$(cat /proc/sys/kernel/random/uuid)
echo debian >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$root/etc/fstab"
mkdir -p "$root/boot/extlinux"
cat >"$root/boot/extlinux/extlinux.conf" <<EOF
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  LINUX /boot/vmlinuz-$kernel
  INITRD /boot/initrd.img-$kernel
  APPEND root=UUID=$uuid ro console=tty0 console=ttyS0,115200
EOF
cat >"$root/etc/cloud/cloud.cfg.d/90-vm-install-tests.cfg" <<'EOF'
# Written by vm-install's scripts/debian-image.sh: the seed comes from vm-install's NoCloud
# ISO (label cidata); probing network metadata services would cost minutes.
datasource_list: [ NoCloud, None ]
EOF
echo LANG=C.UTF-8 >"$root/etc/default/locale"
chroot "$root" passwd -q -d root
chroot "$root" apt-get clean
# Each VM gets its own machine id and SSH host keys (cloud-init) at its first boot; the
# resolver comes from DHCP there.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/resolv.conf" "$root"/etc/ssh/ssh_host_*

say "making the disk ($size, ext4 + extlinux)"
raw=$work/disk.raw
truncate -s "$size" "$raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$raw" >>"$log" 2>&1 || fail "sfdisk failed"
sectors=$(sfdisk -l -o Sectors "$raw" | tail -n 1 | tr -d ' ')
loop=$(losetup --find --show --offset $((2048 * 512)) --sizelimit $((sectors * 512)) "$raw")
mkfs.ext4 -q -L debian-root -U "$uuid" -d "$root" "$loop" >>"$log" 2>&1 || fail "mkfs.ext4 failed"
mkdir "$work/mnt"
mount "$loop" "$work/mnt"
extlinux --install "$work/mnt/boot/extlinux" >>"$log" 2>&1 || fail "extlinux failed"
umount "$work/mnt"
losetup -d "$loop"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none

say "compressing to qcow2"
qemu-img convert -c -O qcow2 "$raw" "$work/image.qcow2"
chmod 644 "$work/image.qcow2"
echo "$hash" >"$work/script-sha256"
mv -f "$work/image.qcow2" "$output"
mv -f "$work/script-sha256" "$output.script-sha256"
say "built in $((SECONDS - started)) s: $(du -h "$output" | cut -f1) on disk"
echo "$output"
