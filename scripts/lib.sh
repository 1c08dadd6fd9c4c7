# Shell functions the scripts share; source it (`. "$(dirname "$0")/lib.sh"`), do not run it.
# shellcheck shell=bash

# The Debian mirror this host's apt uses, for debootstrap: DEBIAN_MIRROR if set, else the first
# URI of an enabled deb entry with the main component outside a -security suite, from
# /etc/apt/sources.list.d/*.sources (deb822), else from /etc/apt/sources.list (one-line form).
# Fails with one line when there is none: the scripts never name a mirror of their own.
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    echo "$DEBIAN_MIRROR"
    return
  fi
  local mirror=""
  local sources=(/etc/apt/sources.list.d/*.sources)
  if [ -e "${sources[0]}" ]; then
    mirror=$(awk '
      # Whether a Suites: value names a suite that is not a -security one.
      function any_suite(list, n, w, i) { n = split(list, w, " "); for (i = 1; i <= n; i++) if (w[i] !~ /-security$/) return 1; return 0 }
      function flush() {
        if (!found && uri != "" && (" " types " ") ~ / deb / && enabled != "no" && (" " comps " ") ~ / main / \
            && any_suite(suites)) {
          print uri
          found = 1
        }
        uri = types = suites = comps = enabled = ""
      }
      FNR == 1 { flush() }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { field = tolower($1); value = $0; sub(/^[^:]*:[ \t]*/, "", value) }
      field == "types:" { types = value }
      field == "uris:" { uri = $2 }
      field == "suites:" { suites = value }
      field == "components:" { comps = value }
      field == "enabled:" { enabled = tolower($2) }
      END { flush() }
    ' "${sources[@]}")
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
        if ($(i + 1) ~ /-security$/) next
        for (c = i + 2; c <= NF; c++) if ($c == "main") { print $i; exit }
      }
    ' /etc/apt/sources.list)
  fi
  if [ -z "$mirror" ]; then
    echo "no Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list: set DEBIAN_MIRROR" >&2
    return 1
  fi
  echo "$mirror"
}

# The mount points at or below a folder, deepest first.
mounts_under() { awk -v d="${1%/}" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r; }

# Removes a folder that scripts mount things in, but never while anything is mounted below it
# (a bind mount would let rm reach the host's files): unmounts everything there first.
remove_tree() {
  local dir=$1 m
  for m in $(mounts_under "$dir"); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  if [ -n "$(mounts_under "$dir")" ]; then
    echo "left $dir: something is still mounted below it" >&2
    return 1
  fi
  rm -rf "$dir"
}
