#!/usr/bin/env python3
"""Benchmarks/osinfo-load.py - what osinfo-db costs a job, with the index in STATE/cache.

Tiny foreground jobs (the test guest, TCG, each deleted after) of four kinds: a family
(--os-type generic, no database), an osinfo-db id (--os-type fedora37), an ISO osinfo-db
recognises (volume id Fedora-S-dvd-x86_64-37) and the guest's own ISO, which it does not.
A job's osinfo cost is read from its log (millisecond timestamps): the index's own figure
("from the index in S s" or "index built with libosinfo in S s") plus the time from that
line to the OS line (recognition, from the cache or from the index; libosinfo for media the index cannot read). The index is built
first (the first --os-type list of the state directory, timed); the first job of each kind
then meets media not seen before; the next ROUNDS are what a batch's jobs pay. Then
`vm-install --os-type list` (the index read) against `vm-install --version`, and a database
change (OSINFO_USER_DIR with one more OS), which the next vm-install indexes again.

A benchmark, not a test: it prints a table and exits 0. Usage:
    Benchmarks/osinfo-load.py [ROUNDS]     (default 10; VMI_BIN_DIR, default .build-release/release)
"""
import os, re, statistics, subprocess, sys, tempfile, time

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin_dir = os.environ.get("VMI_BIN_DIR", os.path.join(repo, ".build-release/release"))
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
work = tempfile.mkdtemp(prefix="vmi-osinfo-")
state = os.path.join(work, "state")
subprocess.run(["bash", os.path.join(repo, "guests/build.sh"), os.path.join(work, "guest")], check=True,
               stdout=subprocess.DEVNULL)
guest_iso = os.path.join(work, "guest/install.iso")
os.mkdir(os.path.join(work, "iso"))
os.link(os.path.join(work, "guest/installer.bin"), os.path.join(work, "iso/installer.bin"))
fedora_iso = os.path.join(work, "f37.iso")
subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "Fedora-S-dvd-x86_64-37", "-b", "installer.bin",
                "-no-emul-boot", "-boot-load-size", "2", "-o", fedora_iso, os.path.join(work, "iso")],
               check=True, stderr=subprocess.DEVNULL)


def tool(name, *a, env=None):
    return subprocess.run([os.path.join(bin_dir, name), "--state-dir", state, *a], capture_output=True, text=True,
                          env=env)


def stamp(line):
    return time.mktime(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) + int(line[20:23]) / 1000


def job(n, source, extra, env=None):
    """Runs one job; returns its osinfo cost in ms (None: no database asked) and "built" or
    "index" (how its log says it had the database)."""
    r = tool("vm-install", "--name", f"o{n}", "--source", source, "--disk", f"{work}/o{n}.qcow2,size=16M",
             "--memory", "64", "--accel", "tcg", "--settle", "0", *extra, env=env)
    if r.returncode != 0:
        sys.exit(f"osinfo-load.py: the job failed: {r.stderr}")
    ids = tool("vm-install-jobs", "--list").stdout.split()
    log = open(os.path.join(state, "jobs", ids[-1], "log")).read().splitlines()
    tool("vm-install-jobs", "--delete", ids[-1])
    index = next((l for l in log if " systems, " in l and "osinfo-db" in l), None)
    if index is None:
        return None, ""
    seconds = float(re.search(r" in ([0-9.]+) s$", index).group(1))
    settled = next(l for l in log if re.search(r"Z (OS |OS of |recognised )", l))
    how = "built" if "built" in index else "index"
    return 1000 * seconds + 1000 * (stamp(settled) - stamp(index)), how


def timed(*a, env=None, runs=rounds * 2):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([os.path.join(bin_dir, "vm-install"), *a], stdout=subprocess.DEVNULL, env=env)
        samples.append(1000 * (time.perf_counter() - t))
    return statistics.median(samples)


# The index built: the first --os-type list of a state directory.
os.makedirs(state)
built = timed("--state-dir", state, "--os-type", "list", runs=1)

kinds = [
    ("--os-type generic (a family)", guest_iso, ["--os-type", "generic"]),
    ("--os-type fedora37 (an id)", guest_iso, ["--os-type", "fedora37"]),
    ("an ISO recognised as fedora37", fedora_iso, []),
    ("an ISO not recognised", guest_iso, []),
]
n = 0
rows = []
for label, source, extra in kinds:
    costs = []
    first = None
    for i in range(rounds + 1):
        n += 1
        cost, how = job(n, source, extra)
        if i == 0:
            first = (cost, how)
        else:
            costs.append(cost)
    rows.append((label, first, costs))

print(f"\n## osinfo-db's cost per job ({rounds} jobs after the first of each kind; load {os.getloadavg()[0]:.1f})\n")
print("| job | first of its kind | then: median | max |")
print("|---|---|---|---|")
for label, (cost, how), costs in rows:
    if cost is None:
        print(f"| {label} | no database | no database | |")
        continue
    print(f"| {label} | {cost:.1f} ms ({'index built' if how == 'built' else ('index read, media new' if 'ISO' in label else 'index read')}) | "
          f"{statistics.median(costs):.1f} ms | {max(costs):.1f} ms |")


print("\n| command | median |")
print("|---|---|")
print(f"| vm-install --version | {timed('--version'):.1f} ms |")
print(f"| vm-install --os-type list (the index) | {timed('--state-dir', state, '--os-type', 'list'):.1f} ms |")

# A database changed: one more OS in a user copy, as osinfo-db-import --user would add.
user = os.path.join(work, "osinfo-user/os/example.org")
os.makedirs(user)
open(os.path.join(user, "bench-1.xml"), "w").write(
    '<libosinfo version="0.0.1"><os id="http://example.org/bench/1"><short-id>bench1</short-id>'
    "<name>Bench 1</name><vendor>example.org</vendor><family>linux</family><distro>bench</distro>"
    "<version>1</version></os></libosinfo>\n")
env = dict(os.environ, OSINFO_USER_DIR=os.path.join(work, "osinfo-user"))
listing = ["--state-dir", state, "--os-type", "list"]
rebuilt = timed(*listing, env=env, runs=1)
print(f"| vm-install --os-type list, the first of the state directory (index built) | {built:.1f} ms |")
print(f"| the same after the database changed (index built again) | {rebuilt:.1f} ms |")
print(f"| then (the index) | {timed(*listing, env=env):.1f} ms |")
n += 1
after, how = job(n, guest_iso, ["--os-type", "fedora37"], env=env)
print(f"| a job after the change (its log: {'built' if how == 'built' else 'from the index'}) | {after:.1f} ms |")
subprocess.run(["rm", "-rf", "--", work])
