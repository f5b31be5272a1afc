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
model="$(./target/release/dich models path qwen2.5-coder-1.5b-instruct-q4_k_m 2>/dev/null || true)"
if [ -z "$model" ] || [ ! -f "$model" ]; then
  model="$(ls "$home"/models/qwen2.5-coder-1.5b-instruct-q4_k_m/*.gguf | head -1)"
fi
"$home/venv-llama/bin/python" scripts/llama-compare.py --model "$model" \
  --threads "$threads" --prompts "$work/prompts.json" --gen 64 --repeats 3 \
  --format json > "$work/llama.json"
python3 - "$work/dich.json" "$work/llama.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); l = json.load(open(sys.argv[2]))["results"]
rows = [
    ("prompt tokens/s, %d tokens" % d["prompt_tokens_short"], d["prompt_tps_short"], l["short"]["prompt_tps"]),
    ("prompt tokens/s, %d tokens" % d["prompt_tokens_long"], d["prompt_tps_long"], l["long"]["prompt_tps"]),
    ("generated tokens/s after %d" % d["prompt_tokens_short"], d["decode_tps_short"], l["short"]["decode_tps"]),
    ("generated tokens/s after %d" % d["prompt_tokens_long"], d["decode_tps_long"], l["long"]["decode_tps"]),
    ("batch 8, generated tokens/s summed", d["batch8_decode_tps"], l["short"]["decode_tps"]),
]
print("| threads %d | dich | llama.cpp | ratio |" % d["threads"])
print("|---|---|---|---|")
for name, a, b in rows:
    print("| %s | %.1f | %.1f | %.2fx |" % (name, a, b, a / b))
print(json.dumps({"dich": d, "llama_cpp": l}), file=sys.stderr)
PY
