#!/usr/bin/env bash
# Inputs at the limits (issue 21), timed with peak memory: a 200,000-record
# JSONL plus one 5 MB record through `dich batch` (no model: the records are
# blank or too long, answered as error records), a resume of that output,
# and the segmenter on a 50 MB line and a 3,000-sentence paragraph
# (tests/limits.rs, which also checks every span).
#
#   bash scripts/limits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/big.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        f.write('{"id": %d, "text": " "}\n' % i)
    f.write('{"id": "huge", "text": "%s"}\n' % ("Một câu dài. " * (5000000 // 14)))
PY
measure() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null 2> "$work/err" || true
  read -r secs kb < <(tail -1 "$work/time")
  printf '| %s | %s s | %d MB |\n' "$label" "$secs" "$((kb / 1024))"
}
echo "| input | wall | peak RSS |"
echo "|---|---|---|"
printf '| (input file: %d MB) | | |\n' "$(( $(stat -c %s "$work/big.jsonl") >> 20 ))"
measure "200,001 records, checkpoint every second" \
  ./target/release/dich --offline batch "$work/big.jsonl" -o "$work/out.jsonl" --no-timings --checkpoint-secs 1
measure "the same output resumed (nothing to do)" \
  ./target/release/dich --offline batch "$work/big.jsonl" -o "$work/out.jsonl" --no-timings
rm -f "$work/out.jsonl" "$work/out.manifest.json"
head -c 2000000 "$work/big.jsonl" > "$work/part.jsonl"
measure "a run of 200,001 records killed (SIGKILL) after 0.5 s, then resumed" bash -c "
  ./target/release/dich --offline batch '$work/big.jsonl' -o '$work/out.jsonl' --no-timings & pid=\$!
  sleep 0.5; kill -9 \$pid; wait \$pid 2>/dev/null
  ./target/release/dich --offline batch '$work/big.jsonl' -o '$work/out.jsonl' --no-timings"
test "$(wc -l < "$work/out.jsonl")" = 200001
CI=true cargo test --release --quiet --test limits -- --nocapture 2>&1 | grep -E "bytes|records:" | sed "s|^|tests/limits.rs: |"
