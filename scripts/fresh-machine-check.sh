#!/usr/bin/env bash
# Proves that the README's two commands set a fresh machine up by themselves: makes a new
# Debian 12 (bookworm) machine in a chroot, clones this repository's HEAD into it, and runs
# scripts/demo.sh, then scripts/test.sh there, with no other step. Whatever fails there is a
# step that the project's scripts miss. Slow (a fresh build and the whole suite: half an hour
# or more); CI does not run it. Needs root.
#
#   scripts/fresh-machine-check.sh [--demo-only] [--keep]
#
# The machine has what a fresh machine of the project's kind has before the scripts run:
# Debian's minimal base with the packages the Swift toolchain itself needs (toolchain_packages:
# the C library's headers and gcc's files for clang, the linker, git, the libraries its
# programs load); the host's toolchain (the folder of `swift` on the PATH) and the Swift
# package mirrors that git's url.*.insteadOf settings name, bind-mounted read-only at their
# paths, with the same git settings; apt with the host's mirror (scripts/lib.sh). It gets
# /proc, /dev (so /dev/kvm where there is one), a /run of its own, and a network namespace of
# its own with its own /sys, so that its libvirtd, loopback servers, tap devices and bridges
# never meet the host's; there the mirror's host name resolves to 127.0.0.1, where a forwarder
# (socat, through a socket in the work folder) reaches the mirror. The clone is /srv/vm-install,
# where the ordinary users that the tests make can reach it. The base is debootstrapped once and
# kept in /var/cache/vm-install-tests (made again when its definition changes); every run
# starts from a new copy of it.
#
# Logs and times go to out/fresh-machine-check/ (demo.log, test.log, summary). When the script
# ends, however it ends, it ends every process whose root is the chroot (the demo's VM, the
# chroot's libvirtd and virtlogd, ...: only this script started those) and its forwarders, by
# pid; unmounts everything, removes the network namespace and deletes the chroot (--keep leaves
# it, unmounted, for a look). --demo-only stops after the demo.
set -euo pipefail

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
repo=$(git -C "$here" rev-parse --show-toplevel)
suite=bookworm
toolchain_packages=(binutils gcc libc6-dev libgcc-12-dev libstdc++-12-dev git ca-certificates pkg-config tzdata
  libcurl4 libedit2 libxml2 libsqlite3-0 libncurses6 libz3-4)
cache=/var/cache/vm-install-tests
results=$repo/out/fresh-machine-check

say() { echo "fresh-machine-check: $*" >&2; }
die() {
  say "$*"
  exit 1
}
demo_only=false
keep=false
for arg in "$@"; do
  case $arg in
    --demo-only) demo_only=true ;;
    --keep) keep=true ;;
    *) die "usage: scripts/fresh-machine-check.sh [--demo-only] [--keep]" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot, network namespaces)"
# A signal ends the script through its EXIT trap, which cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The host's toolchain: swift in TOOLCHAIN/usr/bin.
swift=$(command -v swift) || die "no swift on the PATH"
swift_bin=$(dirname "$(readlink -f "$swift")")
[[ $swift_bin == */usr/bin ]] || die "swift ($swift_bin) is not in a toolchain folder of its own (TOOLCHAIN/usr/bin)"
toolchain=${swift_bin%/usr/bin}
# git's url.BASE.insteadOf settings (system and global), as "BASE VALUE" lines.
rewrites=$( (git config --system --get-regexp '^url\..*\.insteadof$' || true; git config --global --get-regexp '^url\..*\.insteadof$' || true) |
  sed 's/^url\.\(.*\)\.insteadof /\1 /')

"$here/install-deps.sh" chroot
mirror=$(debian_mirror)
[[ $mirror =~ ^(https?)://([^/:]+)(:([0-9]+))?(/.*)?$ ]] || die "the mirror $mirror is not an http or https URL"
mirror_host=${BASH_REMATCH[2]}
mirror_port=${BASH_REMATCH[4]:-$([ "${BASH_REMATCH[1]}" = https ] && echo 443 || echo 80)}

head=$(git -C "$repo" rev-parse --short HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  say "note: the check runs the committed HEAD ($head); the uncommitted changes are not in it"
mkdir -p "$results"
rm -f "$results"/*.log "$results/summary"

# The base, debootstrapped once per definition. A fresh machine has no apt lists yet.
key=$(printf '%s\n' "$suite" "$mirror" "${toolchain_packages[@]}" | sha256sum | cut -c1-16)
base=$cache/fresh-machine-$suite-$key.tar
mkdir -p "$cache"
exec 9>"$cache/fresh-machine.lock"
flock 9
if [ ! -f "$base" ]; then
  say "debootstrap $suite (minbase and the toolchain's packages) from $mirror, once (minutes)"
  build=$(mktemp -d "$cache/.fresh-machine.XXXXXX")
  trap 'remove_tree "$build"' EXIT
  debootstrap --variant=minbase --include="$(IFS=,; echo "${toolchain_packages[*]}")" "$suite" "$build/root" "$mirror" \
    >"$build/debootstrap.log" 2>&1 || {
    tail -n 20 "$build/debootstrap.log" >&2
    die "debootstrap failed"
  }
  rm -rf "$build/root/var/lib/apt/lists/"* "$build/root/var/cache/apt/archives/"*.deb
  tar -C "$build/root" -cf "$build/base.tar" .
  rm -f "$cache"/fresh-machine-"$suite"-*.tar
  mv "$build/base.tar" "$base"
  remove_tree "$build"
  trap - EXIT
fi
exec 9>&-

work=$(mktemp -d /var/tmp/vm-install-fresh.XXXXXX)
root=$work/root
ns=vmi-fresh-$$
forwarders=()

# The processes whose root is the chroot: all of them were started in it by this script.
# shellcheck disable=SC2317 # (called from the trap)
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}
# shellcheck disable=SC2317 # (the trap)
cleanup() {
  local rc=$? pids pid m
  set +e
  pids=$(chroot_pids)
  if [ -n "$pids" ]; then
    say "ending what still runs in the chroot: $(for pid in $pids; do cat "/proc/$pid/comm"; done 2>/dev/null | sort | uniq -c | xargs)"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 100); do [ -z "$(chroot_pids)" ] && break; sleep 0.1; done
    pids=$(chroot_pids)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
  fi
  for pid in "${forwarders[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  ip netns delete "$ns" 2>/dev/null
  if $keep; then
    for m in $(mounts_under "$root"); do umount "$m" 2>/dev/null || umount -l "$m"; done
    say "kept the chroot (unmounted): $root"
  else
    remove_tree "$work" || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT

say "a new machine from $(basename "$base") in $root"
mkdir "$root"
tar -C "$root" -xf "$base"
# A machine's / is a mount point; a plain directory is not, and `unshare --propagation private`
# (the libvirt test hosts) refuses to change the propagation of a root that is not a mount.
mount --bind "$root" "$root"
printf '127.0.0.1\tlocalhost %s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$mirror_host" >"$root/etc/hosts"
while read -r url value; do
  [ -n "$url" ] || continue
  git config --file "$root/etc/gitconfig" --add "url.$url.insteadOf" "$value"
done <<<"$rewrites"
# Read-only at the same paths: the toolchain and the local folders that git's rewrites name.
for dir in "$toolchain" $(awk '$1 ~ /^\// { print $1 }' <<<"$rewrites" | sort -u); do
  mkdir -p "$root$dir"
  mount -o bind,ro "$dir" "$root$dir"
done
ip netns add "$ns"
ip -n "$ns" link set lo up
mount -t proc proc "$root/proc"
# A sysfs mounted in the namespace shows the namespace's network devices in /sys/class/net.
nsenter --net="/run/netns/$ns" mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mkdir -m 1777 "$root/run/lock"
setsid socat UNIX-LISTEN:"$work/mirror.sock",fork,mode=600 TCP:"$mirror_host:$mirror_port" &
forwarders+=($!)
for _ in $(seq 100); do [ -S "$work/mirror.sock" ] && break; sleep 0.1; done
setsid nsenter --net="/run/netns/$ns" \
  socat TCP-LISTEN:"$mirror_port",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$work/mirror.sock" &
forwarders+=($!)
for _ in $(seq 100); do
  nsenter --net="/run/netns/$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$mirror_port" 2>/dev/null && break
  sleep 0.1
done

# Where every user can reach it, as the tests need (scripts/test.sh), not under /root.
clone=/srv/vm-install
git clone -q "$repo" "$root$clone"
say "cloned $repo at $head into the chroot's $clone"

# Runs a command in the chroot's clone as a newcomer would: root, a plain environment with the
# toolchain on the PATH, no input (at most two hours). Its output goes to results/NAME.log.
run() {
  local name=$1 command=$2 started=$SECONDS rc=0
  say "$name: $command (log: $results/$name.log)"
  timeout 7200 nsenter --net="/run/netns/$ns" chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
    LANG=C.UTF-8 TERM=dumb PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$swift_bin" \
    /bin/bash -c "cd $clone && $command" </dev/null >"$results/$name.log" 2>&1 &
  # In the background, so that a signal reaches the trap at once rather than when it ends.
  wait $! || rc=$?
  local line
  line="$name: $command: exit $rc after $((SECONDS - started)) s"
  echo "$line" >>"$results/summary"
  say "$line"
  return $rc
}
status=0
if ! run demo scripts/demo.sh; then
  tail -n 20 "$results/demo.log" >&2
  status=1
elif ! $demo_only; then
  run test scripts/test.sh || status=1
  # Swift Testing's own lines on what failed and how the run ended.
  grep -E '✘|^Test run with|failed after' "$results/test.log" | tail -n 40 >&2 || true
fi
cat "$results/summary" >&2
exit $status
