#!/usr/bin/env python3
"""Benchmarks/batch-admission.py - 200 background jobs of the tiny guest under a memory budget
that admits 8 at a time (64 MiB VMs, --memory-budget 512). Each job is deleted as soon as it is
FINISHED (its running VM holds its share until then). Prints: the total time, the most VMs
that ran at once, the time from a slot freeing (a delete returning) to the next admitted job's
QEMU starting (its INSTALL line), and the CPU the waiting runners used while they waited.

A benchmark, not a test: it prints numbers and exits 0. Usage:
    Benchmarks/batch-admission.py [JOBS]      (VMI_BIN_DIR, default .build/debug)
"""
import json, os, subprocess, sys, tempfile, threading, time

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin_dir = os.environ.get("VMI_BIN_DIR", os.path.join(repo, ".build/debug"))
jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
budget, memory = 512, 64
work = tempfile.mkdtemp(prefix="vmi-batch-")
state = os.path.join(work, "state")
subprocess.run(["bash", os.path.join(repo, "guests/build.sh"), os.path.join(work, "guest")], check=True)
iso = os.path.join(work, "guest/install.iso")


def tool(name, *args, **kw):
    return subprocess.run([os.path.join(bin_dir, name), "--state-dir", state, *args], capture_output=True, text=True, **kw)


def log_time(text, marker):
    """Seconds since the epoch of the first log line containing `marker`."""
    for line in text.splitlines():
        if marker in line:
            return time.mktime(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + int(line[20:23]) / 1000
    return None


def running_vms():
    n = 0
    vms = os.path.join(state, "vms")
    for name in os.listdir(vms) if os.path.isdir(vms) else []:
        for f in ("qemu.pid", "install.pid"):
            try:
                pid = int(open(os.path.join(vms, name, f)).read())
                if b"qemu-system" in open(f"/proc/{pid}/cmdline", "rb").read():
                    n += 1
            except (OSError, ValueError):
                pass
    return n


most, stop = 0, False
def sampler():
    global most
    while not stop:
        most = max(most, running_vms())
        time.sleep(0.05)

os.makedirs(state)
watch = subprocess.Popen([os.path.join(bin_dir, "vm-install-jobs"), "--state-dir", state, "--watch"], stdout=subprocess.PIPE, text=True)
threading.Thread(target=sampler, daemon=True).start()
start = time.time()
for i in range(jobs):
    r = tool("vm-install", "--name", f"j{i}", "--source", iso, "--disk", f"{work}/j{i}.qcow2,size=16M", "--memory", str(memory),
             "--accel", "tcg", "--settle", "0", "--memory-budget", str(budget), "--background")
    assert r.returncode == 0, r.stderr
submitted = time.time()

# CPU of the runners that wait: their clock ticks over ten seconds.
def ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except OSError:
        return None
waiting = []
for i in range(1, jobs + 1):
    s = tool("vm-install-jobs", "--status", str(i)).stdout
    keys = dict(l.split("=", 1) for l in s.splitlines() if "=" in l)
    if keys.get("state") == "0" and "pid" in keys:
        waiting.append(int(keys["pid"]))
before = {p: ticks(p) for p in waiting}
time.sleep(10)
after = {p: ticks(p) for p in waiting}
still = [p for p in waiting if before[p] is not None and after[p] is not None]
cpu_ticks = sum(after[p] - before[p] for p in still)

frees, admissions, done = [], {}, 0
for line in watch.stdout:
    e = json.loads(line)
    if e["event"] in ("state", "present", "created") and e["state"] == 6:
        jid = str(e["id"])
        log = open(os.path.join(state, "jobs", jid, "log")).read()
        admissions[jid] = (log_time(log, " admitted: "), log_time(log, "state 2 (INSTALL)"))
        r = tool("vm-install-jobs", "--delete", jid)
        frees.append(time.time())
        done += 1
        if done == jobs:
            break
    elif e["event"] == "state" and e["state"] in (7, 8):
        print("job", e["id"], "ended in state", e["state"], file=sys.stderr)
        done += 1
        if done == jobs:
            break
end = time.time()
stop = True
watch.terminate()

# Slot freed -> next QEMU: each job admitted after a delete, from that delete to its INSTALL.
latencies = []
for jid, (admitted, install) in admissions.items():
    if admitted is None or install is None:
        continue
    earlier = [f for f in frees if f <= admitted + 0.002]
    if earlier and admitted - earlier[-1] < 2:
        latencies.append(install - earlier[-1])
latencies.sort()
hz = os.sysconf("SC_CLK_TCK")
print(f"jobs: {jobs}, budget {budget} MiB for VMs of {memory} MiB (8 at a time)")
print(f"submitting: {submitted - start:.1f} s; total to the last FINISHED and deleted: {end - start:.1f} s")
print(f"most VMs running at once: {most}")
if latencies:
    print(f"slot freed -> next QEMU started: median {1000 * latencies[len(latencies) // 2]:.0f} ms, worst {1000 * latencies[-1]:.0f} ms ({len(latencies)} admissions)")
print(f"CPU of {len(still)} waiting runners over 10 s: {cpu_ticks} ticks ({1000 * cpu_ticks / hz:.0f} ms)")
subprocess.run(["rm", "-rf", work])
