#!/usr/bin/env bash
# boot-keys.sh - measures --boot-keys and the installer's log with Debian's real installer (d-i):
#   1. typed characters per second, and how many of ~1,000 typed into d-i's isolinux boot: prompt
#      were lost (d-i's early command prints /proc/cmdline on the serial console, which is
#      compared with what was typed);
#   2. the time from the install VM starting to run to d-i fetching its preseed from the job's
#      answer server (and from the last key typed to the fetch);
#   3. the time for an installer's syslog line to reach `vm-install-jobs --log ID --follow`
#      (from the runner writing it, as stamped in the job's log, to the follower printing it).
# A benchmark, not a test: it prints its numbers and exits 0 when it could measure.
#
# Usage: Benchmarks/boot-keys.sh   (VMI_BIN_DIR=.build/debug, VMI_TYPED_CHARACTERS=1000,
#   VMI_PROMPT_INTERVALS="100 50 20 10" ms for the prompt runs, VMI_BOOT_KEY_INTERVAL=100 ms for
#   the d-i run, VMI_SKIP_DI=1 for the prompt runs only)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VMI_BIN_DIR:-.build/debug}
interval=${VMI_BOOT_KEY_INTERVAL:-100}
count=${VMI_TYPED_CHARACTERS:-1000}
images=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
for f in "$bin/vm-install" "$bin/vm-install-jobs" /usr/lib/ISOLINUX/isolinux.bin \
    /usr/lib/syslinux/modules/bios/ldlinux.c32 "$images/linux"; do
    [[ -e $f ]] || { echo "boot-keys.sh: $f is missing (swift build; apt-get install isolinux syslinux-common debian-installer-12-netboot-amd64)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vmi-bench-keys-XXXXXX)
follower=
cleanup() {
    [[ -n $follower ]] && kill "$follower" 2>/dev/null || true
    for j in $(ls "$work/state/jobs" 2>/dev/null); do
        "$bin/vm-install-jobs" --state-dir "$work/state" --delete "$j" >/dev/null 2>&1 || true
    done
    rm -rf -- "$work"
}
trap cleanup EXIT

# The ISO: isolinux waiting at boot: (also on the serial console), d-i's netboot kernel and initrd.
mkdir -p "$work/iso/isolinux" "$work/iso/d-i"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
cp "$images/linux" "$images/initrd.gz" "$work/iso/d-i/"
printf 'serial 0 115200\nprompt 1\ntimeout 0\ndefault install\nlabel install\n  kernel /d-i/linux\n  append initrd=/d-i/initrd.gz\n' \
    >"$work/iso/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -R -J -V VMI_BENCH -o "$work/di.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$work/iso"

cat >"$work/preseed.cfg" <<'EOF'
d-i debian-installer/locale string en_US.UTF-8
d-i keyboard-configuration/xkb-keymap select us
d-i preseed/early_command string logger -t vmi-bench one; logger -t vmi-bench two; echo "cmdline: $(cat /proc/cmdline)" > /dev/ttyS0; sleep 2; echo o > /proc/sysrq-trigger
EOF

# A payload of every character a kernel command line word can carry, shifted and not, to fill
# the line to $count typed characters in all.
prefix='install auto=true priority=critical url=http://{{http}}/preseed.cfg log_host={{syslogIP}} log_port={{syslogPort}} console=ttyS0,115200n8 vmi='
alphabet=${VMI_ALPHABET:-'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:,/+@%^!~*()[]=#$&;?|'}
payload=
typed_prefix=$((${#prefix} - 7)) # {{http}}, {{syslogIP}}, {{syslogPort}} (34) become 10.0.2.2:PORT, 10.0.2.2, PORT (27)
while ((${#payload} + typed_prefix < count)); do payload+=$alphabet; done
payload=${payload:0:$((count - typed_prefix))}
prompt_payload=
while ((${#prompt_payload} < count)); do prompt_payload+=$alphabet; done
prompt_payload=${prompt_payload:0:$count}

# Phase A: ~$count characters into isolinux's boot: prompt at each interval, without <enter>;
# what arrived is isolinux's echo on the serial console (its line wraps are taken out).
for ms in ${VMI_PROMPT_INTERVALS:-100 50 20 10}; do
    name=prompt-$ms
    pid=$("$bin/vm-install" --state-dir "$work/state" --name "$name" --source "$work/di.iso" \
        --disk "$work/$name.qcow2,size=16M" --memory 256 --accel tcg --install-timeout 900 --stall-timeout 0 \
        --boot-wait-for 'boot:' --boot-key-interval "$ms" --boot-keys "$prompt_payload" --background)
    for ((i = 0; i < 900; i++)); do
        grep -q "boot keys: typed" "$work/state/jobs/$pid/log" 2>/dev/null && break
        sleep 1
    done
    sleep 2; [[ -n ${VMI_DEBUG_DIR:-} ]] && cp "$work/state/vms/$name/serial.log" "$VMI_DEBUG_DIR/serial-$ms.log"
    python3 - "$work/state/jobs/$pid/log" "$work/state/vms/$name/serial.log" "$prompt_payload" "$ms" <<'EOF2'
import re, sys
log, serial, payload, ms = sys.argv[1:5]
m = re.search(r"typed (\d+) key presses \((\d+) characters\) in ([\d.]+) s", open(log).read())
raw = open(serial, errors="replace").read()
echo = raw.split("boot: ", 1)[1] if "boot: " in raw else ""
echo = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", echo).replace("\r", "").replace("\n", "")
import difflib
lost = len(payload) - sum(b.size for b in difflib.SequenceMatcher(None, payload, echo, autojunk=False).get_matching_blocks())
if m:
    print(f"interval {ms} ms: {m.group(2)} characters in {float(m.group(3)):.1f} s = {int(m.group(2))/float(m.group(3)):.1f} characters/s; at the boot: prompt {len(echo)} arrived, {lost} lost or wrong (not in the longest matching sequence)")
EOF2
    "$bin/vm-install-jobs" --state-dir "$work/state" --cancel "$pid" >/dev/null 2>&1 || true
    "$bin/vm-install-jobs" --state-dir "$work/state" --wait "$pid" --timeout 60 >/dev/null 2>&1 || true
    "$bin/vm-install-jobs" --state-dir "$work/state" --delete "$pid" >/dev/null 2>&1 || true
done

[[ ${VMI_SKIP_DI:-} == 1 ]] && exit 0

# Phase B: the whole line with <enter> at --boot-key-interval $interval: d-i boots with it, fetches
# its preseed and logs to the job; its early command prints /proc/cmdline.
start=$(date +%s.%N)
id=$("$bin/vm-install" --state-dir "$work/state" --name bench-keys --source "$work/di.iso" \
    --autoinstall "$work/preseed.cfg" --disk "$work/d.qcow2,size=1G" --memory 1024 --accel tcg --settle 0.5 \
    --install-timeout 1200 --boot-wait-for 'boot:' --boot-key-interval "$interval" \
    --boot-keys "$prefix$payload<enter>" --background)

# The follower's lines, stamped as they arrive.
python3 -u -c '
import sys, time
for line in sys.stdin:
    sys.stdout.write("%.3f %s" % (time.time(), line))
' < <("$bin/vm-install-jobs" --state-dir "$work/state" --log "$id" --follow) >"$work/followed" &
follower=$!

"$bin/vm-install-jobs" --state-dir "$work/state" --wait "$id" --timeout 1500 >/dev/null || true
sleep 1
log=$work/state/jobs/$id/log
serial=$work/state/vms/bench-keys/serial.log
python3 - "$log" "$serial" "$work/followed" "$payload" "$start" <<'EOF'
import re, sys, datetime
log, serial, followed, payload, start = sys.argv[1:6]
text = open(log).read()
def stamp(line):
    t = line.split(" ", 1)[0].rstrip("Z")
    return datetime.datetime.fromisoformat(t).replace(tzinfo=datetime.timezone.utc).timestamp()
lines = text.splitlines()
def first(pattern):
    for l in lines:
        if re.search(pattern, l): return l
    return None
typed = first(r"boot keys: typed")
m = re.search(r"typed (\d+) key presses \((\d+) characters\) in ([\d.]+) s", typed or "")
cmd = [l for l in open(serial, errors="replace").read().splitlines() if l.startswith("cmdline: ")]
arrived = cmd[-1].split(" vmi=", 1)[1].strip() if cmd and " vmi=" in cmd[-1] else ""
import difflib
lost = len(payload) - sum(b.size for b in difflib.SequenceMatcher(None, payload, arrived, autojunk=False).get_matching_blocks())
print("state:", first(r"job \d+ (finished|failed)") or "?")
if m:
    presses, chars, secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
    print(f"typed: {chars} characters ({presses} key presses) in {secs:.1f} s = {chars/secs:.1f} characters/s")
print(f"payload of {len(payload)} characters: {len(arrived)} arrived in /proc/cmdline, {lost} lost or wrong (not in the longest matching sequence)")
run = first(r"state 2 \(INSTALL\)")
fetch = first(r"answer server: GET /preseed.cfg 200")
if run and fetch and typed:
    print(f"preseed fetched {stamp(fetch) - stamp(run):.1f} s after the VM started, {stamp(fetch) - stamp(typed):.1f} s after the last key")
lat = []
stamps = {l.split(" ", 1)[1]: float(l.split(" ", 1)[0]) for l in open(followed).read().splitlines() if " " in l}
for l in lines:
    if " installer: " in l and l in stamps:
        lat.append(stamps[l] - stamp(l))
if lat:
    lat.sort()
    print(f"installer lines: {len(lat)}; log line to --follow: median {lat[len(lat)//2]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
EOF
