#!/usr/bin/env bash
# Several independent libvirt "hosts" on this one machine, for tests and benchmarks of jobs
# placed over a group of hosts (issue 17). Runs as root, on a machine without systemd.
#
#   scripts/libvirt-hosts.sh start N [--ssh]  hosts K = 2..N+1; a host that answers is left alone.
#                                             Prints one URI a line: qemu+tcp://127.0.0.K/system,
#                                             or qemu+ssh://root@127.0.0.K/system?command=ROOT/ssh
#   scripts/libvirt-hosts.sh uris [--ssh]     the same URIs, of the hosts that answer
#   scripts/libvirt-hosts.sh status           per host: answering or not, pids, both URIs, directory
#   scripts/libvirt-hosts.sh stop [K...]      stops all hosts (or hosts K...), removes their files
#
#   virsh -c "$(scripts/libvirt-hosts.sh start 2 --ssh | tail -n 1)" list --all
#
# Runs of the script take turns (a lock, /run/lock/vmi-test-hosts.lock). Tests get hosts
# through Tests/IntegrationTests/Support/LibvirtHosts.swift.
#
# Host K is a libvirtd in a mount and UTS namespace of its own (unshare), where its own
# directories are bound over /run/libvirt, /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt: its own sockets, configuration, domains, QEMU state, logs and capabilities
# cache, its own virtlogd (whose socket is in /run/libvirt), hostname vmi-test-hostK and host UUID.
# The QEMU processes it starts inherit the namespace. It listens on 127.0.0.K:16509 (TCP, no
# authentication) and runs an sshd on 127.0.0.K:22 in the same namespace, so that
# qemu+ssh://root@127.0.0.K/system reaches the same libvirtd (libvirt runs virt-ssh-helper there).
# Its storage pool "default" is the directory ROOT/hostK/images, the same path inside and
# outside the namespace. VNC ports: 6000+200*(K-2) to 6199+200*(K-2), listening on 127.0.0.K by
# default. CPUs, memory and the network are the machine's.
#
# ROOT is $VMI_TEST_HOSTS_DIR, else /var/lib/vmi-test-hosts. It holds hostK/ per host (the
# bound directories, the configuration, pid files, sshd's log), and for ssh: a client key
# (id_ed25519), the hosts' one host key, authorized_keys (that key only), known_hosts, and
# `ssh`, a wrapper that runs ssh with ROOT/ssh_config. The ssh URIs name it
# (?command=ROOT/ssh), so they need no prompt and touch no ~/.ssh; ROOT/ssh 127.0.0.K CMD also
# works by hand. The mounts exist only inside the hosts' namespaces and go with them.
# $VMI_TEST_HOSTS_BASE moves the first K (default 2); $VMI_TEST_HOSTS_SSH_PORT moves sshd (22).
#
# start never removes anything: a host whose libvirtd died gets a new one in its namespace,
# with its domains (running ones included) and pool as they were.
# stop destroys the domains still running on a host, ends its sshd, libvirtd and virtlogd by
# the pids they recorded (each checked to be in the host's namespace), waits for them to end,
# ends anything else left in that namespace (ssh sessions, a QEMU whose libvirtd had died),
# then removes hostK/; ROOT goes once no host is left. The machine's own libvirtd
# (scripts/libvirtd.sh, 127.0.0.1) is never touched. Needs libvirt-daemon-system,
# libvirt-clients, openssh-server and openssh-client.
set -euo pipefail

root=${VMI_TEST_HOSTS_DIR:-/var/lib/vmi-test-hosts}
base=${VMI_TEST_HOSTS_BASE:-2}
ssh_port=${VMI_TEST_HOSTS_SSH_PORT:-22}
lock_file=/run/lock/vmi-test-hosts.lock

die() {
  echo "libvirt-hosts: $*" >&2
  exit 1
}
usage() { die "usage: $0 start N [--ssh] | uris [--ssh] | status | stop [K...]"; }

[ "$(id -u)" -eq 0 ] || die "runs as root (libvirtd, unshare and mounts need it)"
case $root in
  /*) ;;
  *) die "VMI_TEST_HOSTS_DIR must be an absolute path: $root" ;;
esac
root=${root%/}
case $root/ in
  / | /run/libvirt/* | /etc/libvirt/* | /var/lib/libvirt/* | /var/log/libvirt/* | /var/cache/libvirt/*)
    die "VMI_TEST_HOSTS_DIR may not be / or under a directory the hosts bind over: $root" ;;
esac
if ! [[ $base =~ ^[0-9]+$ ]] || [ "$base" -lt 2 ] || [ "$base" -gt 254 ]; then die "VMI_TEST_HOSTS_BASE must be 2 to 254"; fi
[[ $ssh_port =~ ^[0-9]+$ ]] || die "VMI_TEST_HOSTS_SSH_PORT must be a port number"

# --- names -------------------------------------------------------------------------------
dir_of() { echo "$root/host$1"; }
address_of() { echo "127.0.0.$1"; }
tcp_uri() { echo "qemu+tcp://$(address_of "$1")/system"; }
ssh_uri() {
  local port=""
  [ "$ssh_port" = 22 ] || port=":$ssh_port"
  echo "qemu+ssh://root@$(address_of "$1")$port/system?command=$root/ssh"
}
# The host's own socket, reached from outside its namespace: for stop and for setting up.
socket_uri() { echo "qemu:///system?socket=$(dir_of "$1")/run/libvirt-sock"; }
# The K of every host directory under ROOT.
hosts() {
  local d
  for d in "$root"/host*; do
    if [ -f "$d/.vmi-test-host" ]; then echo "${d##*/host}"; fi
  done | sort -n
}

answers() { timeout 10 virsh -q -c "$1" uri >/dev/null 2>&1; }

# --- processes ---------------------------------------------------------------------------
# Ended: gone, or a zombie waiting for PID 1 (which reaps late here; never kill -0).
ended() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [ "${stat%% *}" = Z ]
}
wait_ended() { # pid seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    ended "$1" && return 0
    sleep 0.1
  done
  return 1
}
# The pid in a host's pid file, when that process runs in the host's namespace as NAME.
recorded_pid() { # K name
  local h pid
  h=$(dir_of "$1")
  pid=$(cat "$h/$2.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && ! ended "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  [ -n "$(namespace_of "$1")" ] && [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$(namespace_of "$1")" ] || return 1
  echo "$pid"
}
namespace_of() { cat "$(dir_of "$1")/mntns" 2>/dev/null || true; }
# Every live process in a host's namespace.
processes_in() { # K
  local ns p
  ns=$(namespace_of "$1")
  [ -n "$ns" ] || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && ! ended "${p#/proc/}" && echo "${p#/proc/}"
  done
  return 0
}
# Any sshd alive on the machine (pgrep would count the zombies of ours that PID 1 has not reaped).
sshd_runs() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = sshd ] && ! ended "${p#/proc/}" && return 0
  done
  return 1
}
terminate() { # pid...
  local pid
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for pid in "$@"; do
    wait_ended "$pid" 30 || { kill -KILL "$pid" 2>/dev/null || true; wait_ended "$pid" 10 || true; }
  done
}

# --- files -------------------------------------------------------------------------------
# The key material the hosts' sshds and the ssh URIs share, made once.
ssh_files() {
  [ -f "$root/ssh_config" ] && return 0
  rm -f "$root"/id_ed25519* "$root"/ssh_host_ed25519_key*
  ssh-keygen -q -t ed25519 -N '' -C vmi-test-hosts -f "$root/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C vmi-test-host -f "$root/ssh_host_ed25519_key"
  echo "restrict $(cat "$root/id_ed25519.pub")" >"$root/authorized_keys"
  echo "vmi-test-host $(cut -d' ' -f1,2 "$root/ssh_host_ed25519_key.pub")" >"$root/known_hosts"
  cat >"$root/ssh" <<EOF
#!/bin/sh
# ssh to the test hosts of $root, without prompts and without ~/.ssh.
exec /usr/bin/ssh -F '$root/ssh_config' "\$@"
EOF
  chmod 755 "$root/ssh"
  cat >"$root/ssh_config.tmp" <<EOF
Host 127.0.0.*
  User root
  Port $ssh_port
  IdentityFile $root/id_ed25519
  IdentitiesOnly yes
  IdentityAgent none
  HostKeyAlias vmi-test-host
  UserKnownHostsFile $root/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
EOF
  mv "$root/ssh_config.tmp" "$root/ssh_config"
}

# A host's configuration: libvirtd, virtlogd, QEMU's driver, sshd.
host_files() { # K
  local k=$1 h address ports
  h=$(dir_of "$k")
  address=$(address_of "$k")
  ports=$((6000 + 200 * (k - 2)))
  mkdir -p "$h"/{run,etc,lib,log,cache/qemu,images}
  touch "$h/.vmi-test-host"
  [ -f "$h/uuid" ] || cat /proc/sys/kernel/random/uuid >"$h/uuid"
  cat >"$h/etc/libvirtd.conf" <<EOF
listen_tcp = 1
listen_tls = 0
listen_addr = "$address"
auth_tcp = "none"
host_uuid = "$(cat "$h/uuid")"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  cat >"$h/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
  cat >"$h/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
stdio_handler = "file"
vnc_listen = "$address"
spice_listen = "$address"
remote_display_port_min = $ports
remote_display_port_max = $((ports + 199))
EOF
  cat >"$h/sshd_config" <<EOF
ListenAddress $address:$ssh_port
HostKey $root/ssh_host_ed25519_key
AuthorizedKeysFile $root/authorized_keys
PidFile $h/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
# ROOT may be under /tmp, which StrictModes refuses for authorized_keys.
StrictModes no
EOF
  # The machine's QEMU capabilities, if valid, spare each new libvirtd probing QEMU again.
  if [ -d /var/cache/libvirt/qemu/capabilities ] && [ ! -d "$h/cache/qemu/capabilities" ]; then
    cp -a /var/cache/libvirt/qemu/capabilities "$h/cache/qemu/"
  fi
}

# --- start -------------------------------------------------------------------------------
# sshd inside host K's namespace (where /run/libvirt is the host's), unless it runs.
ensure_sshd() { # K
  local k=$1 h pid
  h=$(dir_of "$k")
  recorded_pid "$k" sshd >/dev/null && return 0
  pid=$(recorded_pid "$k" libvirtd) || die "host $k has no libvirtd to put sshd beside"
  # sshd's privilege separation directory; removed by stop when this script made it.
  [ -d /run/sshd ] || { mkdir -m 0755 /run/sshd && touch "$root/made-run-sshd"; }
  nsenter -t "$pid" -m -u -r -- /usr/sbin/sshd -f "$h/sshd_config" -E "$h/log/sshd.log" \
    </dev/null >>"$h/log/start.log" 2>&1 {lock}>&- ||
    die "sshd of host $k did not start (see $h/log/sshd.log, $h/log/start.log)"
  local i
  for ((i = 0; i < 300; i++)); do
    recorded_pid "$k" sshd >/dev/null && return 0
    sleep 0.1
  done
  die "sshd of host $k did not start (see $h/log/sshd.log)"
}

start_host() { # K
  local k=$1 h tcp sock i
  h=$(dir_of "$k")
  tcp=$(tcp_uri "$k")
  sock=$(socket_uri "$k")
  if recorded_pid "$k" libvirtd >/dev/null && answers "$tcp"; then
    ensure_sshd "$k"
    return 0
  fi
  answers "$tcp" && die "$tcp answers but is no host of this script (ROOT $root)"
  recorded_pid "$k" libvirtd >/dev/null && die "host $k: libvirtd runs but does not answer (see $h/log/libvirtd.log)"
  host_files "$k"
  # The daemons that are missing, in the host's namespace. When that namespace still lives (a
  # libvirtd that died, its virtlogd or QEMU still there), they join it and the new libvirtd
  # finds the host's state and its running domains; else a new one gets the host's directories
  # over libvirt's and its hostname. The daemons get /dev/null and a log: not the caller's
  # pipes, nor the lock.
  local enter=(unshare --mount --uts --propagation private --) fresh=1 virtlogd=1 alive
  alive=$(processes_in "$k")
  if [ -n "$alive" ]; then
    enter=(nsenter -t "${alive%%$'\n'*}" -m -u -r --)
    fresh=0
  fi
  recorded_pid "$k" virtlogd >/dev/null && virtlogd=0
  # shellcheck disable=SC2016 # expanded by the inner shell
  "${enter[@]}" /bin/sh -euc '
    h=$1
    if [ "$3" = 1 ]; then
      mount --bind "$h/run" /run/libvirt
      mount --bind "$h/etc" /etc/libvirt
      mount --bind "$h/lib" /var/lib/libvirt
      mount --bind "$h/log" /var/log/libvirt
      mount --bind "$h/cache" /var/cache/libvirt
      hostname "vmi-test-host$2"
      readlink /proc/self/ns/mnt >"$h/mntns"
    fi
    if [ "$4" = 1 ]; then virtlogd --daemon --pid-file "$h/virtlogd.pid"; fi
    libvirtd --daemon --listen --pid-file "$h/libvirtd.pid"
  ' sh "$h" "$k" "$fresh" "$virtlogd" </dev/null >>"$h/log/start.log" 2>&1 {lock}>&- ||
    die "host $k did not start (see $h/log/start.log, $h/log/libvirtd.log)"
  for ((i = 0; i < 600; i++)); do
    answers "$sock" && answers "$tcp" && break
    sleep 0.1
  done
  answers "$tcp" || die "host $k does not answer at $tcp (see $h/log/libvirtd.log)"
  if ! virsh -q -c "$sock" pool-info default >/dev/null 2>&1; then
    virsh -q -c "$sock" pool-define-as default dir --target "$h/images" >/dev/null
    virsh -q -c "$sock" pool-autostart default >/dev/null
  fi
  # A libvirtd that is starting may be autostarting the pool itself: running in the end counts.
  local info
  if ! virsh -q -c "$sock" pool-start default >/dev/null 2>&1; then
    info=$(virsh -q -c "$sock" pool-info default 2>&1) || true
    grep -q 'State: *running' <<<"$info" || die "the storage pool default of host $k does not start: $info"
  fi
  ensure_sshd "$k"
}

# --- stop --------------------------------------------------------------------------------
stop_host() { # K
  local k=$1 h sock name pid rest
  h=$(dir_of "$k")
  [ -f "$h/.vmi-test-host" ] || die "$h is not a host of this script"
  sock=$(socket_uri "$k")
  if recorded_pid "$k" libvirtd >/dev/null && answers "$sock"; then
    for name in $(virsh -q -c "$sock" list --name); do
      virsh -q -c "$sock" destroy "$name" >/dev/null || echo "host $k: cannot destroy $name" >&2
    done
  fi
  for name in sshd libvirtd virtlogd; do
    if pid=$(recorded_pid "$k" "$name"); then terminate "$pid"; fi
  done
  # Anything else in the namespace: ssh sessions, QEMU of a libvirtd that had died.
  # shellcheck disable=SC2046 # one pid a word
  terminate $(processes_in "$k")
  rest=$(processes_in "$k")
  [ -z "$rest" ] || die "host $k: processes $rest do not end; $h is kept"
  rm -rf -- "$h"
}

# ROOT, once no host is left; /run/sshd, when this script made it and no sshd runs.
remove_root() {
  [ -z "$(hosts)" ] || return 0
  if [ -f "$root/made-run-sshd" ] && ! sshd_runs; then rmdir /run/sshd 2>/dev/null || true; fi
  [ -d "$root" ] || return 0
  rm -f -- "$root"/id_ed25519 "$root"/id_ed25519.pub "$root"/ssh_host_ed25519_key "$root"/ssh_host_ed25519_key.pub \
    "$root"/authorized_keys "$root"/known_hosts "$root"/ssh "$root"/ssh_config "$root"/made-run-sshd \
    "$root"/.vmi-test-hosts
  rmdir -- "$root" 2>/dev/null || echo "libvirt-hosts: $root holds files of others; kept" >&2
}

# --- commands ----------------------------------------------------------------------------
command=${1:-}
[ -n "$command" ] || usage
shift
mkdir -p /run/lock
exec {lock}>"$lock_file"
flock "$lock"

case $command in
  start)
    n=${1:-}
    if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ]; then usage; fi
    shift
    form=tcp_uri
    [ "${1:-}" = --ssh ] && form=ssh_uri && shift
    [ $# -eq 0 ] || usage
    [ $((base + n - 1)) -le 254 ] || die "at most $((255 - base)) hosts from 127.0.0.$base"
    for tool in libvirtd virtlogd virsh /usr/sbin/sshd ssh ssh-keygen virt-ssh-helper unshare nsenter; do
      command -v "$tool" >/dev/null || die "$tool is missing (libvirt-daemon-system, libvirt-clients, openssh-server, openssh-client)"
    done
    mkdir -p "$root"
    touch "$root/.vmi-test-hosts"
    ssh_files
    for ((k = base; k < base + n; k++)); do start_host "$k"; done
    for ((k = base; k < base + n; k++)); do "$form" "$k"; done
    ;;
  uris)
    form=tcp_uri
    [ "${1:-}" = --ssh ] && form=ssh_uri && shift
    [ $# -eq 0 ] || usage
    for k in $(hosts); do
      if answers "$(tcp_uri "$k")"; then "$form" "$k"; fi
    done
    ;;
  status)
    [ $# -eq 0 ] || usage
    for k in $(hosts); do
      state="not answering"
      answers "$(tcp_uri "$k")" && state=answering
      pids=""
      for name in libvirtd virtlogd sshd; do
        pids+=" $name=$(recorded_pid "$k" "$name" || echo -)"
      done
      echo "host $k: $state$pids $(tcp_uri "$k") $(ssh_uri "$k") $(dir_of "$k")"
    done
    ;;
  stop)
    targets=("$@")
    [ $# -gt 0 ] || mapfile -t targets < <(hosts)
    for k in "${targets[@]}"; do
      [[ $k =~ ^[0-9]+$ ]] || usage
      [ -d "$(dir_of "$k")" ] || continue
      stop_host "$k"
    done
    remove_root
    ;;
  *) usage ;;
esac
