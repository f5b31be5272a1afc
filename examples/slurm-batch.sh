#!/bin/bash
# dich batch as a Slurm job array: each array task translates one shard of
# the input (chosen by a stable hash of the record ids), and a final merge
# joins the shards. Submit from the directory that holds the input:
#
#   sbatch --export=ALL,INPUT=corpus.jsonl,OUT=runs/corpus examples/slurm-batch.sh
#   # when every task has finished:
#   dich batch merge runs/corpus.shard-*.jsonl -o runs/corpus.jsonl
#
# or chain the merge: sbatch --dependency=afterany:<jobid> examples/slurm-merge.sh
#
# Requeued, preempted or resubmitted tasks resume: each shard's output keeps
# what it finished and only the rest is translated. Slurm's SIGTERM (requeue,
# preemption, scancel, time limit) makes dich finish the records in flight,
# write the manifest and exit 143; a requeued task's log is appended to.
# DICH_ARGS adds options (e.g. DICH_ARGS="--task summarize"). Pull the models once on
# a node with network first (`dich models pull qwen2.5-coder-1.5b-instruct-q4_k_m`
# and `dich models pull multilingual-e5-small`) into a DICH_HOME every node
# can read; the tasks themselves run with --offline.
#
#SBATCH --job-name=dich-batch
#SBATCH --array=0-7
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=12:00:00
#SBATCH --requeue
#SBATCH --output=dich-batch-%A_%a.log
#SBATCH --open-mode=append

set -euo pipefail

INPUT=${INPUT:?set INPUT to a JSONL file or a directory of .txt files}
OUT=${OUT:-runs/dich}
DICH=${DICH:-dich}
export DICH_HOME=${DICH_HOME:-$HOME/.cache/dich}
mkdir -p "$(dirname "$OUT")"

# --shard auto reads SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT (and
# SLURM_ARRAY_TASK_MIN/STEP, so --array=1-8 works too); {shard} in the
# output name becomes the shard index.
set +e
srun "$DICH" --offline --no-progress batch "$INPUT" \
    -o "$OUT.shard-{shard}.jsonl" \
    --shard auto \
    --threads "${SLURM_CPUS_PER_TASK:-1}" ${DICH_ARGS:-}
rc=$?
set -e
# Exit code 3: the shard finished and some records failed; their `error`
# objects are in the output and `dich batch merge` counts them. The task
# itself succeeded. Any other non-zero code is a real failure (rerun: it resumes).
if [ "$rc" -eq 3 ]; then
    echo "shard finished with failed records (see the error objects in $OUT.shard-*.jsonl)" >&2
    exit 0
fi
exit "$rc"
