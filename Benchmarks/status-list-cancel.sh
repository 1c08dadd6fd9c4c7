#!/usr/bin/env bash
# Benchmarks/status-list-cancel.sh - how fast vm-install-jobs answers --status, --list and --cancel.
#
# Usage: Benchmarks/status-list-cancel.sh
#
# Not a test: it prints a small table and exits 0 even when a target is missed
# (non-zero only when the benchmark itself could not run). See Benchmarks/README.md.
#
# Environment:
#   VMI_BIN_DIR             directory holding vm-install and vm-install-jobs
#                           (default: .build-release/release, built with `make build` if missing)
#   VMI_BENCH_JOBS          jobs in the state directory        (default 10000)
#   VMI_BENCH_RUNS          timed runs per command              (default 200)
#   VMI_BENCH_CANCELS       cancel rounds                        (default 5)
#   VMI_BENCH_NO_HYPERFINE  set to 1 to use the built-in timing loop even if hyperfine exists
#   VMI_BENCH_VERBOSE       set to 1 to show hyperfine's own report on stderr
set -euo pipefail

die() { echo "status-list-cancel.sh: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
jobs_wanted=${VMI_BENCH_JOBS:-10000}
runs=${VMI_BENCH_RUNS:-200}
cancels=${VMI_BENCH_CANCELS:-5}
[[ $jobs_wanted =~ ^[0-9]+$ ]] && (( jobs_wanted >= 2 )) || die "VMI_BENCH_JOBS must be an integer >= 2"
[[ $runs =~ ^[0-9]+$ ]] && (( runs >= 3 )) || die "VMI_BENCH_RUNS must be an integer >= 3"
[[ $cancels =~ ^[0-9]+$ ]] || die "VMI_BENCH_CANCELS must be an integer"
probe_id=$(( jobs_wanted / 2 ))   # 5000 for 10,000 jobs

# --- binaries ---------------------------------------------------------------------------
if [[ -n ${VMI_BIN_DIR:-} ]]; then
    bin_dir=$(cd -- "$VMI_BIN_DIR" && pwd) || die "VMI_BIN_DIR=$VMI_BIN_DIR is not a directory"
else
    bin_dir=$repo/.build-release/release
    if [[ ! -x $bin_dir/vm-install || ! -x $bin_dir/vm-install-jobs ]]; then
        note "release binaries missing: running make build"
        make -C "$repo" build >&2 || die "make build failed"
    fi
fi
VMI=$bin_dir/vm-install
JOBS=$bin_dir/vm-install-jobs
[[ -x $VMI && -x $JOBS ]] || die "no vm-install / vm-install-jobs in $bin_dir"
for tool in nasm xorriso qemu-system-x86_64 qemu-img; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found in PATH"
done

# --- scratch space and cleanup ----------------------------------------------------------
# The benchmark runs in a worker process (its own process group); this shell only waits
# for it and cleans up. Bash runs traps safely while it sits in `wait`, whereas a trap
# that fires in the middle of `read` or a command substitution can crash bash 5.2
# (seen here: a segfault and a corrupted trap string). Cleanup therefore never depends
# on the worker's memory: it finds what to undo in the state directory.
work=$(mktemp -d -t vmi-bench.XXXXXXXX)
D=$work/state
worker=""

# "Gone": no /proc entry, or a zombie (which still answers kill -0; reaping it is up to its parent).
process_gone() {
    local stat
    [[ -e /proc/$1 ]] || return 0
    stat=$(< "/proc/$1/stat") 2>/dev/null || return 0
    stat=${stat##*) }
    [[ ${stat:0:1} == Z ]]
}

job_state() {   # prints the job's state number, or nothing if the job cannot be read
    local out
    out=$("$JOBS" --state-dir "$D" --status "$1" 2>/dev/null) || return 0
    [[ $'\n'$out$'\n' =~ $'\n'state=([0-9]+)$'\n' ]] && echo "${BASH_REMATCH[1]}"
    return 0
}

# A QEMU of this run: its pid file is in our state directory and its command line names it.
our_qemu() {
    [[ -n $1 ]] && ! process_gone "$1" \
        && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$D/"
}

cleanup() {
    local rc=$? id st i f pid dir ids=() qemus=()
    trap - EXIT INT TERM HUP
    set +e
    # Stop the worker and whatever it was running (its own process group, so only
    # processes this script started; job runners live in their own sessions).
    if [[ -n $worker ]] && kill -0 "$worker" 2>/dev/null; then
        kill -TERM -- "-$worker" 2>/dev/null
        wait "$worker" 2>/dev/null
    fi
    for f in "$D"/vms/*/qemu.pid "$D"/vms/*/install.pid; do
        [[ -f $f ]] && { pid=$(< "$f"); qemus+=("${pid//[!0-9]/}"); }
    done
    # Jobs that may own something: job 1 (the real one, unless already replaced by an
    # inert clone) and every job above the clones (the cancel rounds).
    [[ -f $D/jobs/1/job ]] && grep -q '^vm-directory=' "$D/jobs/1/job" && ids+=(1)
    for dir in "$D"/jobs/*; do
        id=${dir##*/}
        [[ $id =~ ^[0-9]+$ ]] && (( id > jobs_wanted )) && ids+=("$id")
    done
    for id in "${ids[@]}"; do
        st=$(job_state "$id")
        [[ -z $st ]] && continue
        if (( st < 6 )); then
            "$JOBS" --state-dir "$D" --cancel "$id" >/dev/null 2>&1
            for (( i = 0; i < 100; i++ )); do
                st=$(job_state "$id")
                [[ -z $st ]] || (( st >= 6 )) && break
                sleep 0.05
            done
        fi
        "$JOBS" --state-dir "$D" --delete "$id" >/dev/null 2>&1 \
            || echo "status-list-cancel.sh: could not delete job $id" >&2
    done
    # A stopped QEMU may take a moment to exit; one still there after 5 s is killed, by pid.
    for pid in "${qemus[@]}"; do
        for (( i = 0; i < 50; i++ )); do our_qemu "$pid" || break; sleep 0.1; done
        if our_qemu "$pid"; then
            echo "status-list-cancel.sh: killing leftover QEMU pid $pid" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    rm -rf -- "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- timing helpers ---------------------------------------------------------------------
nap_fd=""
nap() {   # sleep without forking: wait on a pipe that never gets data
    [[ -n $nap_fd ]] || exec {nap_fd}<> <(:)
    read -r -t "$1" -u "$nap_fd" _ || true
}

now_ns() {   # wall clock in ns, without forking when bash has EPOCHREALTIME
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        local t=${EPOCHREALTIME/[.,]/}
        echo $(( 10#$t * 1000 ))
    else
        date +%s%N
    fi
}

median_of() {   # numbers on stdin -> median
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Median wall time in ms of one command over $runs runs (plus 10 untimed warm-up runs),
# stdout and stderr discarded.
loop_median_ms() {
    local i t0 t1
    for (( i = 0; i < 10; i++ )); do "$@" >/dev/null 2>&1; done
    for (( i = 0; i < runs; i++ )); do
        t0=$(now_ns); "$@" >/dev/null 2>&1; t1=$(now_ns)
        echo $(( t1 - t0 ))
    done | median_of | awk '{ printf "%.3f\n", $1 / 1e6 }'
}

bench() {
# --- 1. one real job ---------------------------------------------------------------------
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
note "binaries: $bin_dir ($("$VMI" --version 2>/dev/null || echo '?'))"
note "work directory: $work"
"$repo/guests/build.sh" "$work/guest"
"$repo/guests/build.sh" "$work/guest-never" --never-finish

note "creating job 1 with a real install (TCG)"
mkdir -p "$D"  # the disk goes in it: vm-install refuses a disk whose directory is missing
"$VMI" --state-dir "$D" --name bench --source "$work/guest/install.iso" \
    --disk "$D/disk.qcow2,size=16M" --memory 64 --accel tcg --settle 0.2 \
    > "$work/job1.out" 2>&1 || { cat "$work/job1.out" >&2; die "the real job failed"; }
[[ $(job_state 1) == 6 ]] || die "job 1 did not end FINISHED"

# --- 2. clone it to jobs 2..N -------------------------------------------------------------
# Every clone is job 1's directory with its own id in the record and without the lines
# that claim job 1's VM (vm-directory=) and disk (created-disk=), so no clone ever stops
# or removes anything. Written with shell built-ins only: 10,000 cp/sed pairs would take
# most of a minute.
note "cloning job 1 into jobs 2..$jobs_wanted"
src=$D/jobs/1
record_head="" record_tail="" seen_id=0
while IFS= read -r line || [[ -n $line ]]; do
    case $line in
        vm-directory=*|created-disk=*) continue ;;
        id=*) seen_id=1; continue ;;
    esac
    if (( seen_id )); then record_tail+=$line$'\n'; else record_head+=$line$'\n'; fi
done < "$src/job"
(( seen_id )) || die "job 1's record has no id= line"
declare -A file_text=()
clone_files=()
for f in "$src"/*; do
    [[ -f $f ]] || continue
    name=${f##*/}
    [[ $name == job ]] && continue
    clone_files+=("$name")
    IFS= read -r -d '' file_text[$name] < "$f" || true
done
write_clone() {   # id
    local dir=$D/jobs/$1 name
    mkdir "$dir"
    for name in "${clone_files[@]}"; do printf '%s' "${file_text[$name]}" > "$dir/$name"; done
    printf '%sid=%s\n%s' "$record_head" "$1" "$record_tail" > "$dir/job"
}
(
    umask 077
    for (( i = 2; i <= jobs_wanted; i++ )); do write_clone "$i"; done
)

# Job 1 has done its part: stop its VM and remove its disk through the tool, then put an
# inert clone in its place, so the timings run with no QEMU in the background.
"$JOBS" --state-dir "$D" --delete 1 || die "could not delete job 1 (its VM may still run)"
( umask 077; write_clone 1 )
printf '%s\n' "$jobs_wanted" > "$D/last-id"
have=$("$JOBS" --state-dir "$D" --list | wc -l)
(( have == jobs_wanted )) || die "--list shows $have jobs, expected $jobs_wanted"
[[ $(job_state "$probe_id") == 6 ]] || die "--status $probe_id does not work on a clone"

# --- 3. status/cat and list/ls -----------------------------------------------------------
declare -A med=()
if [[ ${VMI_BENCH_NO_HYPERFINE:-0} != 1 ]] && command -v hyperfine >/dev/null 2>&1; then
    method="hyperfine -N, $runs runs + 10 warm-up"
    q() { printf '%q' "$1"; }
    # Not "> /dev/stderr": when stderr is a file, that reopens it at offset 0.
    if [[ ${VMI_BENCH_VERBOSE:-0} == 1 ]]; then exec {hf_fd}>&2; else exec {hf_fd}>/dev/null; fi
    hyperfine -N --warmup 10 --runs "$runs" --style basic --export-csv "$work/times.csv" \
        -n status "$(q "$JOBS") --state-dir $(q "$D") --status $probe_id" \
        -n cat "cat $(q "$D/jobs/$probe_id/job")" \
        -n list "$(q "$JOBS") --state-dir $(q "$D") --list" \
        -n ls "ls $(q "$D/jobs")" >&"$hf_fd" 2>&1 || die "hyperfine failed"
    exec {hf_fd}>&-
    # CSV columns: command,mean,stddev,median,user,system,min,max (seconds)
    while IFS=, read -r cmd _ _ median _; do
        [[ $cmd == command ]] && continue
        med[$cmd]=$(awk -v m="$median" 'BEGIN { printf "%.3f", m * 1000 }')
    done < "$work/times.csv"
else
    method="shell loop, $runs runs + 10 warm-up"
    med[status]=$(loop_median_ms "$JOBS" --state-dir "$D" --status "$probe_id")
    med[cat]=$(loop_median_ms cat "$D/jobs/$probe_id/job")
    med[list]=$(loop_median_ms "$JOBS" --state-dir "$D" --list)
    med[ls]=$(loop_median_ms ls "$D/jobs")
fi

# --- 4. cancel latency ---------------------------------------------------------------------
# From the start of `vm-install-jobs --cancel ID` until --status shows state=8 and the
# install QEMU (pid read from vms/NAME/install.pid before cancelling) is gone.
cancel_ms=()
cancel_fail=0
for (( round = 1; round <= cancels; round++ )); do
    name=cancel$round
    id=$("$VMI" --state-dir "$D" --name "$name" --source "$work/guest-never/install.iso" \
        --disk "$work/$name.qcow2,size=16M" --memory 64 --accel tcg --background) \
        || die "vm-install --background failed in cancel round $round"
    [[ $id =~ ^[0-9]+$ ]] || die "vm-install --background printed '$id', not a job id"
    pidfile=$D/vms/$name/install.pid
    qemu_pid=""
    deadline=$(( $(now_ns) + 30000000000 ))
    while :; do
        if [[ $(job_state "$id") == 2 && -s $pidfile ]]; then
            qemu_pid=$(< "$pidfile"); qemu_pid=${qemu_pid//[!0-9]/}
            [[ -n $qemu_pid ]] && ! process_gone "$qemu_pid" && break
        fi
        (( $(now_ns) < deadline )) || die "job $id did not reach INSTALL with a running QEMU within 30 s"
        nap 0.02
    done
    t0=$(now_ns)
    "$JOBS" --state-dir "$D" --cancel "$id" || die "--cancel $id failed"
    deadline=$(( t0 + 10000000000 ))
    while :; do
        if process_gone "$qemu_pid" && [[ $(job_state "$id") == 8 ]]; then
            t1=$(now_ns)
            cancel_ms+=("$(awk -v d=$(( t1 - t0 )) 'BEGIN { printf "%.1f", d / 1e6 }')")
            break
        fi
        nap 0.002
        if (( $(now_ns) >= deadline )); then
            echo "status-list-cancel.sh: round $round: job $id not CANCELED with QEMU $qemu_pid gone after 10 s" >&2
            cancel_fail=$(( cancel_fail + 1 ))
            break
        fi
    done
    "$JOBS" --state-dir "$D" --delete "$id" >/dev/null 2>&1 \
        || echo "status-list-cancel.sh: could not delete job $id" >&2
done

# --- 5. report -------------------------------------------------------------------------------
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
    ok = (op == "le") ? (v <= t) : (v < t); print ok ? "ok" : "MISSED" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }

r_status=$(ratio "${med[status]}" "${med[cat]}")
r_list=$(ratio "${med[list]}" "${med[ls]}")
static=yes
ldd "$JOBS" 2>/dev/null | grep -qE 'libswift|libFoundation' && static=no
echo
echo "binaries: $VMI, $JOBS (version $("$JOBS" --version 2>/dev/null || echo '?'), static Swift stdlib: $static)"
echo "host: $(nproc) CPUs, load average at start: $load_at_start"
echo "state directory: $jobs_wanted jobs; timing: $method (median wall time)"
echo
printf '%-46s %10s\n' "command" "median ms"
printf '%-46s %10s\n' "vm-install-jobs --status $probe_id" "${med[status]}"
printf '%-46s %10s\n' "cat jobs/$probe_id/job" "${med[cat]}"
printf '%-46s %10s\n' "vm-install-jobs --list >/dev/null" "${med[list]}"
printf '%-46s %10s\n' "ls jobs >/dev/null" "${med[ls]}"
echo
printf '%-22s %8s %8s  %s\n' "ratio" "value" "target" "result"
printf '%-22s %8s %8s  %s\n' "status / cat" "$r_status" "<= 4" "$(verdict "$r_status" 4 le)"
printf '%-22s %8s %8s  %s\n' "list / ls" "$r_list" "<= 3" "$(verdict "$r_list" 3 le)"
echo
if (( ${#cancel_ms[@]} > 0 )); then
    c_med=$(printf '%s\n' "${cancel_ms[@]}" | median_of)
    c_max=$(printf '%s\n' "${cancel_ms[@]}" | sort -g | tail -n 1)
    printf '%-22s %8s %8s  %s\n' "cancel median ms" "$c_med" "< 1000" "$(verdict "$c_med" 1000 lt)"
    printf '%-22s %8s %8s  %s\n' "cancel max ms" "$c_max" "< 1000" "$(verdict "$c_max" 1000 lt)"
    echo "cancel rounds (ms): ${cancel_ms[*]}"
fi
(( cancel_fail == 0 )) || echo "cancel rounds that did not complete within 10 s: $cancel_fail"
}

set -m              # the worker gets its own process group: Ctrl-C reaches only this shell
bench &
worker=$!
set +m
rc=0
wait "$worker" || rc=$?
worker=""
exit "$rc"
