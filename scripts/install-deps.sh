#!/usr/bin/env bash
# Installs the Debian packages vm-install needs (QEMU, qemu-img, OVMF for UEFI, curl for install trees,
# libosinfo's headers to build and osinfo-db for --os-type) and its tests need (nasm and xorriso
# for the tiny guests, python3 and pyftpdlib for loopback HTTP and FTP servers, Debian's
# installer images for the d-i tests and, with busybox-static, the Linux test installer; isolinux and
# syslinux-common for the d-i ISO that --boot-keys drives).
set -euo pipefail
packages=(qemu-system-x86 qemu-utils ovmf nasm xorriso curl libosinfo-1.0-dev osinfo-db python3 python3-pyftpdlib debian-installer-12-netboot-amd64 busybox-static isolinux syslinux-common)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
