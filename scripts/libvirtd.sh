#!/usr/bin/env bash
# Sets up and starts the libvirtd the libvirt tests use, on a machine without systemd (a
# container, CI): libvirt's QEMU driver as root without cgroups, namespaces or a security
# driver, virtlogd for the VMs' consoles, TCP on 127.0.0.1 only (no auth: loopback tests
# of remote URIs), and the storage pool "default". Safe to run again: a running libvirtd is
# left as it is once it answers. The packages are scripts/packages' group libvirtd.
set -euo pipefail
"$(dirname "$0")/install-deps.sh" libvirtd
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

# key = value in a libvirt config file: replaced where set, added where not.
set_key() {
  local file=$1 key=$2 value=$3
  if "${sudo[@]}" grep -qE "^${key} *=" "$file"; then
    "${sudo[@]}" sed -i -E "s|^${key} *=.*|${key} = ${value}|" "$file"
  else
    echo "${key} = ${value}" | "${sudo[@]}" tee -a "$file" >/dev/null
  fi
}
qemu=/etc/libvirt/qemu.conf
set_key $qemu user '"root"'
set_key $qemu group '"root"'
set_key $qemu dynamic_ownership 0
set_key $qemu remember_owner 0
set_key $qemu cgroup_controllers '[ ]'
set_key $qemu namespaces '[ ]'
set_key $qemu security_driver '"none"'
set_key $qemu stdio_handler '"file"'
daemon=/etc/libvirt/libvirtd.conf
set_key $daemon listen_tcp 1
set_key $daemon listen_tls 0
set_key $daemon listen_addr '"127.0.0.1"'
set_key $daemon auth_tcp '"none"'
log=/var/log/libvirt/libvirtd.log   # warnings and errors: why a libvirtd did not start
set_key $daemon log_outputs "\"3:file:$log\""

answers() { timeout 10 virsh -q -c qemu:///system version >/dev/null 2>&1; }
# Whether the daemon NAME that wrote /run/NAME.pid runs: a process of that name, not a zombie.
# Not pgrep: in a container or chroot it also sees the daemons of the host, whose sockets are
# elsewhere.
runs() {
  local pid
  pid=$(cat "/run/$1.pid" 2>/dev/null) && [ -n "$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}
if ! answers; then
  runs virtlogd || "${sudo[@]}" virtlogd --daemon
  runs libvirtd || "${sudo[@]}" libvirtd --daemon --listen
  for _ in $(seq 100); do answers && break; sleep 0.1; done
  if ! answers; then
    echo "libvirtd did not start; the end of $log:" >&2
    "${sudo[@]}" tail -n 5 "$log" >&2 || true
    exit 1
  fi
fi

virsh=(virsh -q -c qemu:///system)
if ! "${virsh[@]}" pool-info default >/dev/null 2>&1; then
  "${sudo[@]}" mkdir -p /var/lib/libvirt/images
  "${virsh[@]}" pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
  "${virsh[@]}" pool-autostart default >/dev/null
fi
# A libvirtd that is starting may be autostarting the pool itself: running in the end is what counts.
running() { local info; info=$("${virsh[@]}" pool-info default 2>/dev/null) && grep -q 'State: *running' <<<"$info"; }
running || "${virsh[@]}" pool-start default >/dev/null 2>&1 || running || { echo "the storage pool default does not start" >&2; exit 1; }
