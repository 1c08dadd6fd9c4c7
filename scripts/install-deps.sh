#!/usr/bin/env bash
# Installs the Debian packages of the given groups of scripts/packages (the one list of what
# vm-install needs to build, to run, to boot its test guests and for its tests), only those
# that are missing, with one `apt-get update` first when any is. Quiet when nothing is missing.
#
#   scripts/install-deps.sh GROUP...          install (as root, or through sudo)
#   scripts/install-deps.sh --list GROUP...   print the groups' packages, one a line
set -euo pipefail
list=$(dirname "$0")/packages

usage() {
  echo "usage: scripts/install-deps.sh [--list] GROUP... (groups: $(sed -n 's/^\([a-z0-9-]*\):.*/\1/p' "$list" | sort -u | tr '\n' ' '| sed 's/ $//'))" >&2
  exit 2
}
print=false
if [ "${1:-}" = --list ]; then
  print=true
  shift
fi
[ $# -gt 0 ] || usage

# The packages of the groups, in the list's order, each once; a group the list lacks is an error.
names=$(awk -v want=" $* " '
  { sub(/#.*/, "") }
  /^[ \t]*$/ { next }
  !match($0, /^[a-z0-9-]+:/) { printf "%s:%d: not GROUP: PACKAGE...\n", FILENAME, FNR > "/dev/stderr"; bad = 1; exit }
  {
    group = substr($0, 1, RLENGTH - 1)
    seen[group] = 1
    if (index(want, " " group " ")) {
      n = split(substr($0, RLENGTH + 1), p, " ")
      for (i = 1; i <= n; i++) if (!(p[i] in done)) { done[p[i]] = 1; print p[i] }
    }
  }
  END {
    if (bad) exit 2
    n = split(want, w, " ")
    for (i = 1; i <= n; i++) if (!(w[i] in seen)) { printf "%s has no group %s\n", FILENAME, w[i] > "/dev/stderr"; bad = 1 }
    exit bad ? 2 : 0
  }' "$list") || usage
mapfile -t packages <<<"$names"

if $print; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null | awk '$2 == "ii" { print $1 }' || true)
missing=()
for p in "${packages[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "installing: ${missing[*]}" >&2
# apt's output is shown only when it fails.
quietly() {
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; echo "failed: $*" >&2; exit 1; }
}
quietly "${sudo[@]}" apt-get update -qq
quietly "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
