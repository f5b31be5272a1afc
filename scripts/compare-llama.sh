#!/usr/bin/env bash
# dich vs llama.cpp on the same GGUF file, the same thread count and the same
# prompts (token ids written by `dich bench --prompts-out`), in one run.
# Needs an idle machine: both engines spin their worker threads, and a busy
# core distorts either one badly.
#
#   ROUNDS=3 bash scripts/compare-llama.sh [THREADS]   (default 2 threads, 3 rounds)
#   MODEL=gemma-3-270m-q4_k_m bash scripts/compare-llama.sh   (another catalog model)
#   BEFORE=0 ...   skips the column on candle's kernels (slow for Q5_0 models)
#   DICH_KERNELS=avx2 ...   both engines on AVX2+FMA only, on an AVX-512
#                  machine: dich's AVX2 kernels against llama.cpp built
#                  with LLAMA_SIMD=avx2 (venv-llama-avx2)
#
# Installs llama-cpp-python into $DICH_HOME/venv-llama on first use
# (scripts/setup-llama-cpp.sh, a local build from PyPI, several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
home="${DICH_HOME:-$HOME/.cache/dich}"
venv="$home/venv-llama"
if [ "${DICH_KERNELS:-}" = avx2 ]; then
  export LLAMA_SIMD=avx2
  venv="$home/venv-llama-avx2"
fi
bash scripts/setup-llama-cpp.sh >&2
cargo build --release --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
name="${MODEL:-qwen2.5-coder-1.5b-instruct-q4_k_m}"
./target/release/dich models pull "$name" >/dev/null
model="$(./target/release/dich models path "$name" 2>/dev/null || true)"
if [ -z "$model" ] || [ ! -f "$model" ]; then
  model="$(ls "$home"/models/"$name"/*.gguf | head -1)"
fi
# Rounds alternate the engines (dich, llama.cpp, dich on candle's kernels) so
# that a slow spell of this shared machine hits all of them alike; each
# number reported is the median over the rounds.
rounds="${ROUNDS:-3}"
./target/release/dich bench --model "$name" --no-seed --format json --threads "$threads" \
  --prompts-out "$work/prompts.json" > "$work/dich.0.json"
for r in $(seq 1 "$rounds"); do
  echo "round $r of $rounds" >&2
  if [ "$r" -gt 1 ]; then
    ./target/release/dich bench --model "$name" --no-seed --format json --threads "$threads" \
      > "$work/dich.$r.json"
  else
    mv "$work/dich.0.json" "$work/dich.1.json"
  fi
  "$venv/bin/python" scripts/llama-compare.py --model "$model" \
    --threads "$threads" --prompts "$work/prompts.json" --gen 64 --repeats 1 \
    --format json > "$work/llama.$r.json"
  # The same build on candle's own quantized kernels (the state before
  # src/kernels/kquant), for the before column.
  if [ "${BEFORE:-1}" != 0 ]; then
    DICH_KERNELS=candle ./target/release/dich bench --model "$name" --no-seed --format json \
      --threads "$threads" > "$work/candle.$r.json"
  fi
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.load(open("%s/%s.%d.json" % (work, name, r))) for r in range(1, rounds + 1)]
import os
ds, ls = load("dich"), [x["results"] for x in load("llama")]
cs = load("candle") if os.path.exists("%s/candle.1.json" % work) else None
med = lambda xs: statistics.median(xs)
dm = lambda runs, key: med([x[key] for x in runs])
lm = lambda part, key: med([x[part][key] for x in ls])
d0 = ds[0]
rows = [
    ("prompt tokens/s, %d tokens" % d0["prompt_tokens_short"], "prompt_tps_short", lm("short", "prompt_tps")),
    ("prompt tokens/s, %d tokens" % d0["prompt_tokens_long"], "prompt_tps_long", lm("long", "prompt_tps")),
    ("generated tokens/s after %d" % d0["prompt_tokens_short"], "decode_tps_short", lm("short", "decode_tps")),
    ("generated tokens/s after %d" % d0["prompt_tokens_long"], "decode_tps_long", lm("long", "decode_tps")),
    ("batch 1 through the batch-invariant path", "batch1_decode_tps", lm("short", "decode_tps")),
    ("batch 8, generated tokens/s summed", "batch8_decode_tps", lm("short", "decode_tps")),
]
print("| threads %d, median of %d alternating rounds | dich, candle kernels | dich | llama.cpp | dich / llama.cpp |" % (d0["threads"], rounds))
print("|---|---|---|---|---|")
for name, key, b in rows:
    d = dm(ds, key)
    before = "%.1f" % dm(cs, key) if cs else "not run"
    print("| %s | %s | %.1f | %.1f | %.2fx |" % (name, before, d, b, d / b))
print("| peak RSS MiB | %s | %.0f | | |" % ("%.0f" % dm(cs, "peak_rss_mb") if cs else "", dm(ds, "peak_rss_mb")))
print(json.dumps({"rounds": rounds, "dich": ds, "dich_candle_kernels": cs, "llama_cpp": ls}), file=sys.stderr)
PY
