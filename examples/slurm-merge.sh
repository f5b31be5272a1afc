#!/bin/bash
# Merges the shard outputs of examples/slurm-batch.sh once every array task
# has finished:
#
#   jid=$(sbatch --parsable --export=ALL,INPUT=corpus.jsonl,OUT=runs/corpus examples/slurm-batch.sh)
#   sbatch --dependency=afterany:$jid --export=ALL,OUT=runs/corpus examples/slurm-merge.sh
#
# Exit code 4 lists missing or repeated records (rerun the shards named:
# they resume); 3 means merged, with failed records.
#
#SBATCH --job-name=dich-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=00:30:00
#SBATCH --output=dich-merge-%j.log

set -euo pipefail
OUT=${OUT:-runs/dich}
DICH=${DICH:-dich}
exec "$DICH" batch merge "$OUT".shard-*.jsonl -o "$OUT.jsonl"
