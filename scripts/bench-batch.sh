#!/usr/bin/env bash
# Batch throughput: the same corpus through `dich batch` one document at a
# time (--max-batch 1) and batched (the default, or $MAX_BATCH), greedy,
# --no-timings, then checks that both outputs are byte-identical and prints
# one table: documents/min, generated tokens/s end to end, mean batch
# occupancy, peak RSS, wall time.
#
#   bash scripts/bench-batch.sh                 # 50 documents (build-corpus.py)
#   DOCS=20 SENTENCES=2 bash scripts/bench-batch.sh
#   CORPUS=my.jsonl bash scripts/bench-batch.sh # an existing JSONL input
#
# Environment: DICH (the binary; default: target/release/dich, built if
# missing), DOCS, SENTENCES, CORPUS, MAX_BATCH (default: automatic),
# THREADS (default: all cores), KEEP (a directory to keep the outputs in).
# Uses the cached default models (--offline); fetch them first with
# `dich models pull` or any `dich translate` run.
set -euo pipefail

cd "$(dirname "$0")/.."
DOCS="${DOCS:-50}"
SENTENCES="${SENTENCES:-2}"
DICH="${DICH:-target/release/dich}"
if [ ! -x "$DICH" ]; then
    cargo build --release --bin dich >&2
fi
WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
CORPUS="${CORPUS:-$WORK/corpus.jsonl}"
if [ ! -s "$CORPUS" ]; then
    python3 scripts/build-corpus.py --docs "$DOCS" --sentences "$SENTENCES" -o "$CORPUS"
fi
threads=()
if [ -n "${THREADS:-}" ]; then threads=(--threads "$THREADS"); fi

run() { # name, extra args...
    local name="$1"; shift
    rm -f "$WORK/$name.jsonl" "$WORK/$name.manifest.json"
    /usr/bin/time -f '%M %e' -o "$WORK/$name.time" \
        "$DICH" --offline -q batch "$CORPUS" -o "$WORK/$name.jsonl" --no-timings \
        "${threads[@]}" "$@" 2> "$WORK/$name.stderr" || {
        code=$?
        # 3 = finished with failed records: still a run to compare.
        [ "$code" -eq 3 ] || { cat "$WORK/$name.stderr" >&2; exit "$code"; }
    }
}

echo "corpus: $CORPUS ($(wc -l < "$CORPUS") records)" >&2
echo "one at a time (--max-batch 1) ..." >&2
run one --max-batch 1
echo "batched (${MAX_BATCH:-automatic}) ..." >&2
if [ -n "${MAX_BATCH:-}" ]; then run batched --max-batch "$MAX_BATCH"; else run batched; fi

if cmp -s "$WORK/one.jsonl" "$WORK/batched.jsonl"; then same="identical"; else same="DIFFERENT"; fi

python3 - "$WORK" "$same" <<'EOF'
import json, sys
work, same = sys.argv[1], sys.argv[2]
rows = []
for name in ["one", "batched"]:
    m = json.load(open(f"{work}/{name}.manifest.json"))
    r = m["runs"][-1]
    rss_kb, wall = open(f"{work}/{name}.time").read().split()
    rows.append((name, r, int(rss_kb) / 1024 / 1024, float(wall)))
print("| run | documents | docs/min | generated tok/s (end to end) | decode tok/s | mean batch | peak RSS GB | wall s (whole command) |")
print("|---|---|---|---|---|---|---|---|")
for name, r, rss, wall in rows:
    label = "--max-batch 1" if name == "one" else f"batched (max {r.get('max_batch', 1)})"
    print(f"| {label} | {r['documents']} | {r['documents_per_min']:.2f} | {r['generated_tokens_per_s']:.2f} | "
          f"{r['decode_tokens_per_s']:.2f} | {r.get('mean_batch', 1.0)} | {rss:.2f} | {wall:.1f} |")
one, bat = rows[0][1], rows[1][1]
ratio = bat["documents_per_min"] / max(one["documents_per_min"], 1e-9)
print(f"\nbatched / one at a time: {ratio:.2f}x documents/min; records {same}")
if bat.get("prompt_pass_s") is not None:
    fwd, pp = bat["forward_s"], bat["prompt_pass_s"]
    passes, npp = bat["forward_passes"], bat["prompt_passes"]
    print("\nwhere the batched run's time went (seconds of its wall time):")
    print("| passes with prompts | prompt tokens | s | passes of decoding steps only | decoding steps (in all passes) | s | outside the passes (the documents' own work) s |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {npp} | {bat['prompt_pass_rows']} | {pp:.1f} | {passes - npp} | "
          f"{bat['forward_rows'] - bat['prompt_pass_rows']} | {fwd - pp:.1f} | {bat['wall_s'] - fwd:.1f} |")
EOF
[ "$same" = identical ]
