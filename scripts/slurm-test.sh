#!/usr/bin/env bash
# examples/slurm-batch.sh and examples/slurm-merge.sh on a real one-node
# Slurm cluster started on this machine (Debian's slurm-wlm and munge):
# the batch script as a 2-task job array, the merge chained with
# --dependency=afterany, one array task requeued (`scontrol requeue`) in the
# middle of its run. Checks that the requeued task resumed (its manifest has
# two runs, the first stopped by SIGTERM) and that the merged output has the
# records of a single-process run (timings aside).
#
#   bash scripts/slurm-test.sh          (needs root or sudo to install and start Slurm)
#
# Where Slurm cannot be installed or started (no root, no sudo, no package
# registry), it says why and exits 0: the shim test in tests/batch.rs still
# runs the scripts. Uses the default models (fetched by the tests before it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
skip() { echo "slurm-test: skipped: $*" >&2; exit 0; }

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  skip "not root and no passwordless sudo to install and start Slurm"
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-test: installing slurm-wlm and munge (Debian packages)" >&2
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      slurm-wlm munge >/tmp/slurm-test-apt.log 2>&1; then
    "${sudo[@]}" apt-get update >/dev/null 2>&1 || true
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      slurm-wlm munge >/tmp/slurm-test-apt.log 2>&1 \
      || skip "apt-get install slurm-wlm munge failed (see /tmp/slurm-test-apt.log)"
  fi
fi

cargo build --release --quiet
dich="$root/target/release/dich"
home="${DICH_HOME:-$HOME/.cache/dich}"
"$dich" models pull qwen2.5-coder-1.5b-instruct-q4_k_m >/dev/null
"$dich" models pull multilingual-e5-small >/dev/null

work="$(mktemp -d /tmp/dich-slurm.XXXXXX)"
chmod 755 "$work"
conf="$work/etc/slurm.conf"
mkdir -p "$work/etc" "$work/state" "$work/spool" "$work/run" "$work/jobs"
host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)"
cat >"$conf" <<EOF
ClusterName=dichtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=60
MinJobAge=3600
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$conf"

munge_pid=""
cleanup() {
  set +e
  [ -f "$work/run/slurmd.pid" ] && "${sudo[@]}" kill "$(cat "$work/run/slurmd.pid")" 2>/dev/null
  [ -f "$work/run/slurmctld.pid" ] && "${sudo[@]}" kill "$(cat "$work/run/slurmctld.pid")" 2>/dev/null
  [ -n "$munge_pid" ] && "${sudo[@]}" kill "$munge_pid" 2>/dev/null
  sleep 1
  [ -n "${KEEP:-}" ] || "${sudo[@]}" rm -rf "$work"
}
trap cleanup EXIT

# munge: a key of our own and a daemon on a socket of our own.
msock="$work/run/munge.socket"
"${sudo[@]}" mkdir -p "$work/munge"
"${sudo[@]}" mungekey --create --keyfile="$work/munge/munge.key" --force 2>/dev/null \
  || "${sudo[@]}" dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 2>/dev/null
"${sudo[@]}" chown -R munge:munge "$work/munge"
"${sudo[@]}" chmod 700 "$work/munge"
"${sudo[@]}" chmod 600 "$work/munge/munge.key"
"${sudo[@]}" chown munge:munge "$work/run"
"${sudo[@]}" -u munge true 2>/dev/null || true
runas_munge=(runuser -u munge --)
[ "$(id -u)" -eq 0 ] || runas_munge=(sudo -n -u munge)
"${runas_munge[@]}" /usr/sbin/munged --key-file="$work/munge/munge.key" \
  --socket="$msock" --pid-file="$work/run/munged.pid" \
  --log-file="$work/munge/munged.log" --seed-file="$work/munge/munge.seed" \
  || skip "munged would not start (see $work/munge/munged.log)"
for _ in $(seq 50); do [ -f "$work/run/munged.pid" ] && break; sleep 0.1; done
munge_pid="$(cat "$work/run/munged.pid")"
"${sudo[@]}" chown root:root "$work/run"
# Slurm finds munge's socket through its AuthInfo.
sed -i "s|^AuthType=auth/munge|AuthType=auth/munge\nAuthInfo=socket=$msock|" "$conf"
sed -i "s|^CredType=cred/munge|CredType=cred/munge|" "$conf"

"${sudo[@]}" env SLURM_CONF="$conf" /usr/sbin/slurmctld -i || skip "slurmctld would not start ($(tail -3 "$work/slurmctld.log" 2>/dev/null))"
"${sudo[@]}" env SLURM_CONF="$conf" /usr/sbin/slurmd || skip "slurmd would not start ($(tail -3 "$work/slurmd.log" 2>/dev/null))"
for _ in $(seq 100); do
  state="$(sinfo -h -N -o %t 2>/dev/null || true)"
  [ "$state" = "idle" ] && break
  sleep 0.3
done
[ "$state" = "idle" ] || skip "the node did not come up (state '$state'; $(tail -3 "$work/slurmd.log"))"
echo "slurm-test: one-node cluster up: $(sinfo -h -o '%P %D %c %t')" >&2

# Input: short real documents (a few seconds each with the default model).
input="$work/jobs/corpus.jsonl"
python3 - "$input" <<'PY'
import json, sys
docs = [
    "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội.",
    "Đại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết.",
    "Quyền được thông tin là một quyền mang tính Hiến định của công dân.",
    "Lễ mở ký diễn ra với sự tham gia của gần 70 nước.",
    "Công ước có hiệu lực sau khi được 40 quốc gia phê chuẩn.",
    "Hội nghị kéo dài hai ngày, từ 25 đến 26/10.",
    "Nhiều đại biểu đánh giá cao vai trò của Việt Nam.",
    "Tội phạm mạng gây thiệt hại hàng nghìn tỷ USD mỗi năm.",
    "The convention was signed in Hanoi on October 25.",
    "Delegates from nearly 70 countries attended the ceremony.",
]
with open(sys.argv[1], "w") as f:
    for i, t in enumerate(docs):
        f.write(json.dumps({"id": "doc-%d" % i, "text": t}, ensure_ascii=False) + "\n")
PY
out="$work/jobs/runs/corpus"
cd "$work/jobs"
# One document at a time, so that the requeue leaves records to do.
export DICH="$dich" DICH_HOME="$home" INPUT="$input" OUT="$out" DICH_ARGS="--max-batch 1"
jid="$(sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=3G --time=30:00 \
  --export=ALL "$root/examples/slurm-batch.sh")"
mid="$(sbatch --parsable --dependency="afterany:$jid" --cpus-per-task=1 --mem=1G \
  --export=ALL "$root/examples/slurm-merge.sh")"
echo "slurm-test: submitted array job $jid (2 tasks) and merge job $mid (afterany:$jid)" >&2

# Requeue task 0 once its first translated record is on disk.
shard0="$out.shard-0.jsonl"
t0=$(date +%s)
until [ -s "$shard0.part" ] || [ -s "$shard0" ]; do
  [ $(( $(date +%s) - t0 )) -lt 600 ] || { squeue; tail -20 "$work/slurmd.log"; echo "slurm-test: task 0 made no progress" >&2; exit 1; }
  sleep 0.2
done
scontrol requeue "${jid}_0"
echo "slurm-test: requeued ${jid}_0 after its first record ($(wc -l < "$shard0.part" 2>/dev/null || echo 0) in its part file)" >&2

# Wait for the merge.
t0=$(date +%s)
while squeue -h -j "$mid" 2>/dev/null | grep -q .; do
  [ $(( $(date +%s) - t0 )) -lt 1200 ] || { squeue; echo "slurm-test: the merge never ran" >&2; exit 1; }
  sleep 1
done
merge_state="$(scontrol show job "$mid" | grep -o 'JobState=[A-Z]*' | head -1)"
merge_exit="$(scontrol show job "$mid" | grep -o ' ExitCode=[0-9:]*' | head -1)"
task0_restarts="$(scontrol show job "${jid}_0" | grep -o 'Restarts=[0-9]*')"
echo "slurm-test: merge $merge_state$merge_exit; task 0 $task0_restarts" >&2
for log in dich-batch-*.log dich-merge-*.log; do
  echo "--- $log" >&2
  grep -E "stopped|batch:|merge:|shard|SIGTERM|error" "$log" | cut -c1-220 >&2 || true
done
[ "$merge_state" = "JobState=COMPLETED" ] || { echo "slurm-test: the merge job did not complete" >&2; exit 1; }
[ "$task0_restarts" != "Restarts=0" ] || { echo "slurm-test: task 0 was not requeued" >&2; exit 1; }

# The single-process run, and the comparison (timings and hosts aside).
"$dich" --offline --no-progress batch "$input" -o "$work/single.jsonl" --threads 1 2>/dev/null || [ $? -eq 3 ]
python3 - "$out.jsonl" "$work/single.jsonl" "$out.shard-0.manifest.json" <<'PY'
import json, sys
def load(p):
    rows = [json.loads(l) for l in open(p, encoding="utf-8")]
    for r in rows:
        r.pop("timings", None)
    return rows
merged, single = load(sys.argv[1]), load(sys.argv[2])
assert len(merged) == len(single) == 10, (len(merged), len(single))
assert merged == single, "merged output differs from the single-process run"
m = json.load(open(sys.argv[3]))
runs = m["runs"]
assert m["status"] == "complete", m["status"]
assert len(runs) >= 2, "task 0 ran once: %r" % runs
assert runs[0].get("interrupted") == "SIGTERM" or runs[0].get("ended") is None, runs[0]
assert 1 <= runs[-1]["done_before"] < 4 and runs[-1]["processed"] >= 1, runs
print("slurm-test: ok: merged output (10 records) equals the single-process run; "
      "task 0 ran %d times (first run: %s after %d records; the last resumed with %d done)" % (
          len(runs), runs[0].get("interrupted", "killed"), runs[0]["processed"], runs[-1]["done_before"]),
      file=sys.stderr)
PY
