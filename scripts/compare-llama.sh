#!/usr/bin/env bash
# dich vs llama.cpp on the same GGUF file, the same thread count and the same
# prompts (token ids written by `dich bench --prompts-out`), in one run.
# Needs an idle machine: both engines spin their worker threads, and a busy
# core distorts either one badly.
#
#   bash scripts/compare-llama.sh [THREADS]        (default 2)
#
# Installs llama-cpp-python into $DICH_HOME/venv-llama on first use
# (scripts/setup-llama-cpp.sh, a local build from PyPI, several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
home="${DICH_HOME:-$HOME/.cache/dich}"
bash scripts/setup-llama-cpp.sh >&2
cargo build --release --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
./target/release/dich bench --no-seed --format json --threads "$threads" \
  --prompts-out "$work/prompts.json" > "$work/dich.json"
# The same build on candle's own quantized kernels (the state before
# src/backend/kquant.rs), for the before/after columns.
DICH_KERNELS=candle ./target/release/dich bench --no-seed --format json \
  --threads "$threads" > "$work/dich-candle.json"
model="$(./target/release/dich models path qwen2.5-coder-1.5b-instruct-q4_k_m 2>/dev/null || true)"
if [ -z "$model" ] || [ ! -f "$model" ]; then
  model="$(ls "$home"/models/qwen2.5-coder-1.5b-instruct-q4_k_m/*.gguf | head -1)"
fi
"$home/venv-llama/bin/python" scripts/llama-compare.py --model "$model" \
  --threads "$threads" --prompts "$work/prompts.json" --gen 64 --repeats 3 \
  --format json > "$work/llama.json"
python3 - "$work/dich.json" "$work/llama.json" "$work/dich-candle.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); l = json.load(open(sys.argv[2]))["results"]
c = json.load(open(sys.argv[3]))
rows = [
    ("prompt tokens/s, %d tokens" % d["prompt_tokens_short"], "prompt_tps_short", l["short"]["prompt_tps"]),
    ("prompt tokens/s, %d tokens" % d["prompt_tokens_long"], "prompt_tps_long", l["long"]["prompt_tps"]),
    ("generated tokens/s after %d" % d["prompt_tokens_short"], "decode_tps_short", l["short"]["decode_tps"]),
    ("generated tokens/s after %d" % d["prompt_tokens_long"], "decode_tps_long", l["long"]["decode_tps"]),
    ("batch 1 through the batch-invariant path", "batch1_decode_tps", l["short"]["decode_tps"]),
    ("batch 8, generated tokens/s summed", "batch8_decode_tps", l["short"]["decode_tps"]),
]
print("| threads %d | dich, candle kernels | dich | llama.cpp | dich / llama.cpp |" % d["threads"])
print("|---|---|---|---|---|")
for name, key, b in rows:
    print("| %s | %.1f | %.1f | %.1f | %.2fx |" % (name, c[key], d[key], b, d[key] / b))
print("| peak RSS MiB | %.0f | %.0f | | |" % (c["peak_rss_mb"], d["peak_rss_mb"]))
print(json.dumps({"dich": d, "dich_candle_kernels": c, "llama_cpp": l}), file=sys.stderr)
PY
