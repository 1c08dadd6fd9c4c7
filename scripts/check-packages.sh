#!/usr/bin/env bash
# Checks that what the build takes from the system comes from the packages the scripts install
# (scripts/packages): each header the C targets include (`#include <...>` in Sources/C*/, found
# as the toolchain's clang finds it), each -I path and apt provider in Package.swift from a
# package of the build group, each library loaded with dlopen and each program the tools run
# from one of the run group. The
# C library's and the kernel's headers (libc6-dev, linux-libc-dev) come with the toolchain, as
# do the compiler's own. One line for each thing that is not so, then exit 1.
#
# CI runs it after the demo has installed its packages: on a machine where earlier work
# installed more by hand, the build passes whether or not the list names what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A lists # group -> " package package ... "
for group in build run; do lists[$group]=" $(scripts/install-deps.sh --list $group | tr '\n' ' ') "; done
base=" libc6-dev linux-libc-dev "
multiarch=$(uname -m)-linux-gnu # as Package.swift names it
clang=$(dirname "$(readlink -f "$(command -v swift)")")/clang
resources=$("$clang" -print-resource-dir)
failures=0
checked=0
fail() {
  echo "check-packages: $*" >&2
  failures=$((failures + 1))
}

# The packages that installed a path (dpkg -S), one a line, without their architecture; a
# path below /lib is also looked up below /usr/lib, where Debian's packages put it.
owners() {
  local path found
  for path in "$1" "/usr${1#/usr}"; do
    found=$(dpkg -S "$path" 2>/dev/null | grep -v '^diversion ' | sed 's/: \/.*//' | tr ',' '\n' | sed 's/^ *//; s/:.*//') || true
    [ -z "$found" ] || { echo "$found"; return; }
  done
}
# Whether one of the packages (lines) is in a list (" a b c ").
in_list() {
  local p
  while read -r p; do [[ $1 == *" $p "* ]] && return 0; done <<<"$2"
  return 1
}
# Checks that PATH, which WHAT needs, comes from a package of GROUP (or of the base).
check_owner() {
  local what=$1 path=$2 group=$3 found
  found=$(owners "$path")
  if [ -z "$found" ]; then
    fail "$what: $path comes from no Debian package (installed by hand?): add the one that has it to group $group of scripts/packages"
  elif ! in_list "$base" "$found" && ! in_list "${lists[$group]}" "$found"; then
    fail "$what: $path comes from $(paste -sd, <<<"$found"), which group $group of scripts/packages lacks"
  fi
  checked=$((checked + 1))
}

# Package.swift's -I paths (with its multiarch directory) and the header search paths of the
# C targets' own include folders.
flags=()
while read -r dir; do
  dir=${dir//\\(multiarch)/$multiarch}
  if [[ $dir == *'\('* ]]; then
    fail "cannot read the -I path $dir in Package.swift"
  elif [ ! -d "$dir" ]; then
    fail "Package.swift's -I path $dir is missing: which package of group build brings it?"
  else
    check_owner "Package.swift's -I path" "$dir" build
    flags+=("-I$dir")
  fi
done < <(grep -oE '"-I[^"]+"' Package.swift | sed 's/^"-I//; s/"$//')
for dir in Sources/C*/include; do flags+=("-I$dir"); done

while read -r provider; do
  [[ ${lists[build]} == *" $provider "* ]] || fail "Package.swift names the apt provider $provider, which group build of scripts/packages lacks"
done < <(grep -oE '\.apt\(\[[^]]*\]' Package.swift | grep -oE '"[^"]+"' | tr -d '"')

# Each header as the toolchain's clang finds it: the first line of -H is the header itself.
while IFS=: read -r file header; do
  path=$(printf '#include <%s>\n' "$header" | "$clang" -x c -fsyntax-only -H "${flags[@]}" - 2>&1 | sed -n '1s/^\. //p' || true)
  if [ -z "$path" ]; then
    fail "<$header> ($file) is not found: add the Debian package that has it to group build of scripts/packages"
  elif [[ $path != "$resources"/* && $path != "$PWD"/* && $path != Sources/* ]]; then
    check_owner "<$header> ($file)" "$path" build
  fi
done < <(grep -roE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' Sources/C*/ | sed 's/:.*</:/; s/>$//' | sort -t: -k2 -u)

# The libraries loaded with dlopen, as the dynamic loader finds them.
while IFS=: read -r file library; do
  path=$(ldconfig -p | awk -v n="$library" '$1 == n && !found { print $NF; found = 1 }')
  if [ -z "$path" ]; then
    fail "$library ($file, dlopen) is not installed: add the Debian package that has it to group run of scripts/packages"
  else
    check_owner "$library ($file, dlopen)" "$path" run
  fi
done < <(grep -roE 'dlopen\("[^"]+"' Sources | sed 's/:dlopen("/:/; s/"$//' | sort -t: -k2 -u)

# The programs the tools run: each named by a `static let binary` (or `systemBinary`) in the
# sources, or by its absolute path, as the PATH finds it.
while IFS=: read -r file program; do
  if [[ $program == /* ]]; then path=$program; else path=$(command -v "$program" || true); fi
  if [ -z "$path" ] || [ ! -x "$path" ]; then
    fail "$program ($file) is not installed: add the Debian package that has it to group run of scripts/packages"
  else
    check_owner "$program ($file)" "$(readlink -f "$path")" run
  fi
done < <({
  grep -roE 'static let (binary|systemBinary) = "[^"]+"' Sources | sed -E 's/:.*= "/:/; s/"$//'
  grep -roE '"/usr/(lib|bin|sbin)/[^"]+/[^"/]+"' Sources | grep -v '\\' | sed 's/:"/:/; s/"$//'
} | sort -t: -k2 -u)

[ "$failures" -eq 0 ] || exit 1
echo "check-packages: $checked headers, -I paths, libraries and programs from the system, each from a package that scripts/packages lists (or from libc6-dev, linux-libc-dev)"
