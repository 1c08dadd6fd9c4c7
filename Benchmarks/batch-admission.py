#!/usr/bin/env python3
"""Benchmarks/batch-admission.py - JOBS background jobs of the tiny guest (64 MiB VMs) under a
memory budget that admits 8 at a time (--memory-budget 512), each deleted as soon as it is
FINISHED and its installed guest has printed its mark (its running VM holds its share until
then). Beside it, the limit of the machine: the same JOBS raw QEMU install+boot runs (qemu-img,
the install VM to its power-off, the installed VM to its mark), 8 at a time with xargs -P 8.

Prints: submission time (total, median and worst per `vm-install --background`), the total
time against the raw limit, the most VMs that ran at once, the time from a slot freeing (a
delete returning) to the next admitted job's QEMU starting (its INSTALL line), and what the
waiting runners cost (CPU over ten seconds, PSS from /proc/PID/smaps_rollup).

With --hosts N the jobs go to N libvirt test hosts instead (scripts/libvirt-hosts.sh, each
with a budget of 512 MiB in a hosts file: 8 per host at a time), the ISO uploaded once per
host; the bytes uploaded per host are printed. Jobs end at FINISHED there (a remote domain's
console is not on this machine).

A benchmark, not a test: it prints numbers and exits 0. Usage:
    Benchmarks/batch-admission.py [JOBS] [--hosts N] [--no-raw]  (VMI_BIN_DIR, default .build-release/release)
"""
import json, os, re, statistics, subprocess, sys, tempfile, threading, time

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin_dir = os.environ.get("VMI_BIN_DIR", os.path.join(repo, ".build-release/release"))
args = sys.argv[1:]
hosts = int(args[args.index("--hosts") + 1]) if "--hosts" in args else 0
raw = "--no-raw" not in args and hosts == 0
numbers = [a for i, a in enumerate(args) if a.isdigit() and (i == 0 or args[i - 1] != "--hosts")]
jobs = int(numbers[0]) if numbers else 200
budget, memory, mark = 512, 64, b"VM-INSTALL RUNTIME OK"
work = tempfile.mkdtemp(prefix="vmi-batch-")
state = os.path.join(work, "state")
subprocess.run(["bash", os.path.join(repo, "guests/build.sh"), os.path.join(work, "guest")], check=True)
iso = os.path.join(work, "guest/install.iso")


def tool(name, *a, **kw):
    return subprocess.run([os.path.join(bin_dir, name), "--state-dir", state, *a], capture_output=True, text=True, **kw)


def log_time(text, marker):
    """Seconds since the epoch of the first log line containing `marker`."""
    for line in text.splitlines():
        if marker in line:
            return time.mktime(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + int(line[20:23]) / 1000
    return None


def qemu_processes():
    """The VMs with a QEMU process (a VM's directory or libvirt's guest= name; QEMU's
    -daemonize has two processes for a VM while it starts) and the processes."""
    n, vms = 0, set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if cmd.startswith(b"/usr/bin/qemu-system") or cmd.startswith(b"qemu-system"):
                if work.encode() in cmd or (hosts and b"vmib-" in cmd):
                    n += 1
                    vm = re.search(rb"/vms/([^/\x00]+)/|guest=([^,\x00]+)", cmd)
                    vms.add(vm.group(0) if vm else pid.encode())
    return len(vms), n


def raw_limit():
    """The same install+boot runs by raw QEMU, 8 at a time: the machine's limit."""
    script = f"""
set -e
d={work}/raw-$1; mkdir -p $d
common="-machine pc,accel=tcg -m {memory} -smp 1 -nodefaults -no-user-config -display none -netdev user,id=n0 -device virtio-net-pci,netdev=n0"
qemu-img create -q -f qcow2 $d/disk.qcow2 16M
qemu-system-x86_64 $common -chardev file,id=s0,path=$d/install.log -serial chardev:s0 \\
  -drive if=none,id=d0,file=$d/disk.qcow2,format=qcow2 -device virtio-blk-pci,drive=d0,bootindex=2 \\
  -drive if=none,id=c0,media=cdrom,readonly=on,format=raw,file={iso} -device ide-cd,drive=c0,bootindex=1 -no-reboot
qemu-system-x86_64 $common -chardev file,id=s0,path=$d/serial.log -serial chardev:s0 \\
  -drive if=none,id=d0,file=$d/disk.qcow2,format=qcow2 -device virtio-blk-pci,drive=d0,bootindex=1 2>/dev/null &
q=$!
until grep -qs "{mark.decode()}" $d/serial.log; do sleep 0.005; done
kill $q; wait $q 2>/dev/null || true
rm -rf $d
"""
    path = os.path.join(work, "raw-one.sh")
    open(path, "w").write(script)
    t = time.time()
    subprocess.run(f"seq {jobs} | xargs -P 8 -n 1 bash {path}", shell=True, check=True)
    return time.time() - t


extra = []
if hosts:
    uris = subprocess.run(["bash", os.path.join(repo, "scripts/libvirt-hosts.sh"), "start", str(hosts)],
                          capture_output=True, text=True, check=True).stdout.split()
    open(os.path.join(work, "hosts"), "w").write("".join(f"bench {u} memory-budget={budget}\n" for u in uris))
    extra = ["--hosts-file", os.path.join(work, "hosts"), "--host-group", "bench", "--disk", "pool=default,size=16M"]

os.makedirs(state)
limit = raw_limit() if raw else None

most, most_processes, stop = 0, 0, False
def sampler():
    global most, most_processes
    while not stop:
        vms, processes = qemu_processes()
        most, most_processes = max(most, vms), max(most_processes, processes)
        time.sleep(0.05)

watch = subprocess.Popen([os.path.join(bin_dir, "vm-install-jobs"), "--state-dir", state, "--watch"],
                         stdout=subprocess.PIPE, text=True)
threading.Thread(target=sampler, daemon=True).start()
start = time.time()
submissions = []
for i in range(jobs):
    disk = [] if hosts else ["--disk", f"{work}/j{i}.qcow2,size=16M"]
    t = time.time()
    r = tool("vm-install", "--name", f"vmib-{i}", "--source", iso, *disk, *extra, "--memory", str(memory),
             "--accel", "tcg", "--settle", "0", "--memory-budget", str(budget), "--os-type", "generic", "--background")
    submissions.append(time.time() - t)
    assert r.returncode == 0, r.stderr
submitted = time.time()

# What the runners that wait cost: their clock ticks over ten seconds, and their PSS.
def ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None
def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return None
waiting = []
for i in range(1, jobs + 1):
    s = tool("vm-install-jobs", "--status", str(i)).stdout
    keys = dict(l.split("=", 1) for l in s.splitlines() if "=" in l)
    if keys.get("state") == "0" and "pid" in keys:
        waiting.append(int(keys["pid"]))
pss = [p for p in (pss_kib(pid) for pid in waiting) if p is not None]
before = {p: ticks(p) for p in waiting}
time.sleep(10)
after = {p: ticks(p) for p in waiting}
still = [p for p in waiting if before[p] is not None and after[p] is not None]
cpu_ticks = sum(after[p] - before[p] for p in still)

def booted(jid):
    if hosts:
        return True
    name = f"vmib-{int(jid) - 1}"
    try:
        return mark in open(os.path.join(state, "vms", name, "serial.log"), "rb").read()
    except OSError:
        return False

frees, admissions, done, uploads = [], {}, 0, {}
finished = []
lock = threading.Lock()
def reap():
    """Deletes each FINISHED job once its guest has printed its mark."""
    global done
    while done < jobs:
        with lock:
            pending = list(finished)
        for jid in pending:
            if booted(jid):
                log = open(os.path.join(state, "jobs", jid, "log")).read()
                admissions[jid] = (log_time(log, " admitted: "), log_time(log, "starting the install VM"),
                                   log_time(log, "state 2 (INSTALL)"))
                for m in re.finditer(r"uploading .* \((\d+) bytes\) to pool \S+ at (\S+) as", log):
                    uploads[m.group(2)] = uploads.get(m.group(2), 0) + int(m.group(1))
                tool("vm-install-jobs", "--delete", jid)
                frees.append(time.time())
                with lock:
                    finished.remove(jid)
                    done += 1
        time.sleep(0.005)
reaper = threading.Thread(target=reap, daemon=True)
reaper.start()
for line in watch.stdout:
    e = json.loads(line)
    if e["event"] in ("state", "present", "created") and e["state"] == 6:
        with lock:
            finished.append(str(e["id"]))
    elif e["event"] == "state" and e["state"] in (7, 8):
        print("job", e["id"], "ended in state", e["state"], file=sys.stderr)
        with lock:
            done += 1
    with lock:
        if done + len(finished) >= jobs:
            break
reaper.join()
end = time.time()
stop = True
watch.terminate()

# Slot freed -> next QEMU: each job admitted right after a delete, from that delete to its INSTALL.
latencies, launches = [], []
for jid, (admitted, launch, install) in admissions.items():
    if admitted is None or install is None or launch is None:
        continue
    earlier = [f for f in frees if f <= admitted + 0.002]
    if earlier and admitted - earlier[-1] < 2:
        latencies.append(install - earlier[-1])
        launches.append(launch - earlier[-1])
latencies.sort()
launches.sort()
hz = os.sysconf("SC_CLK_TCK")
where = f"{hosts} libvirt test host(s), budget {budget} MiB each" if hosts else f"this machine, budget {budget} MiB"
print(f"jobs: {jobs} VMs of {memory} MiB on {where} (8 at a time per budget)")
ms = [1000 * s for s in submissions]
print(f"submitting: {submitted - start:.1f} s in all; per vm-install --background: median {statistics.median(ms):.0f} ms, worst {max(ms):.0f} ms")
print(f"total to the last job deleted: {end - start:.1f} s" + (f"; raw QEMU, 8 at a time (xargs -P 8): {limit:.1f} s; ratio {(end - start) / limit:.2f}" if limit else ""))
print(f"most VMs with a QEMU process at once: {most} (most QEMU processes: {most_processes})")
if latencies:
    print(f"slot freed -> next QEMU started (its INSTALL line, QEMU up): median {1000 * latencies[len(latencies) // 2]:.0f} ms, worst {1000 * latencies[-1]:.0f} ms ({len(latencies)} admissions)")
    print(f"slot freed -> next install VM launched (disk made, QEMU exec'd): median {1000 * launches[len(launches) // 2]:.0f} ms, worst {1000 * launches[-1]:.0f} ms")
print(f"{len(still)} waiting runners: CPU over 10 s {cpu_ticks} ticks ({1000 * cpu_ticks / hz:.0f} ms); PSS {sum(pss) / 1024:.0f} MiB in all, {statistics.median(pss) if pss else 0:.0f} KiB median each")
for uri, b in sorted(uploads.items()):
    print(f"uploaded to {uri}: {b} bytes (the ISO is {os.path.getsize(iso)} bytes)")
print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
subprocess.run(["rm", "-rf", work])
