#!/bin/busybox sh
# /init of the vm-install Linux test installer (see linux-installer.sh): prints, on
# /dev/ttyS0, the kernel command line and every file added to its initrd at the top of /
# (its own are /init and /bin), then powers off, as an installer does at its end.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /dev
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
exec >/dev/ttyS0 2>&1
echo "VMI-LINUX-INSTALLER CMDLINE $(cat /proc/cmdline)"
for file in /*; do
    [ -f "$file" ] && [ "$file" != /init ] || continue
    echo "VMI-LINUX-INSTALLER FILE $file"
    cat "$file"
    echo "VMI-LINUX-INSTALLER END $file"
done
echo "VMI-LINUX-INSTALLER DONE"
poweroff -f
