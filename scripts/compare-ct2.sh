#!/usr/bin/env bash
# dich vs CTranslate2 on a Marian (OPUS-MT) encoder-decoder: one random-weight
# checkpoint with the shapes of Helsinki-NLP/opus-mt-vi-en (scripts/marian_random.py),
# converted for CTranslate2 (scripts/ct2_marian.py convert), greedy decoding of
# random source ids, the same batch, source length, output length and threads.
# Needs an idle machine: both engines spin their worker threads, and a busy
# core distorts either one badly.
#
#   bash scripts/compare-ct2.sh [ROUNDS]        (default 3 alternating rounds)
#   SKIP_DICH=1 bash scripts/compare-ct2.sh     (CTranslate2 columns only)
#
# Environment: DICH_HOME (default ~/.cache/dich), DICH (default
# target/release/dich, not built here), THREADS (2), SRC_LEN (32),
# NEW_TOKENS (64), BATCHES ("1 16"), SKIP_DICH, PYTHON (python3, for the venv).
#
# First run: a virtualenv $DICH_HOME/venv-ct2 with ctranslate2==4.8.5, numpy
# and pyyaml from PyPI; the checkpoint in $DICH_HOME/bench/marian-opus-size
# (~280 MB); its CTranslate2 conversion in $DICH_HOME/bench/marian-opus-size-ct2,
# checked once against a numpy implementation of transformers' MarianMTModel
# (greedy outputs must be identical in float32; result in check.json there).
#
# Prints a markdown table of generated tokens/s (median over the rounds) to
# stdout, and every measurement as JSON to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-${ROUNDS:-3}}"
home="${DICH_HOME:-$HOME/.cache/dich}"
dich="${DICH:-target/release/dich}"
threads="${THREADS:-2}"
src_len="${SRC_LEN:-32}"
new_tokens="${NEW_TOKENS:-64}"
batches="${BATCHES:-1 16}"
skip_dich="${SKIP_DICH:-0}"
venv="$home/venv-ct2"
py="$venv/bin/python"
model="$home/bench/marian-opus-size"
ct2="$home/bench/marian-opus-size-ct2"
CT2_VERSION="4.8.5"

log() { printf 'compare-ct2: %s\n' "$*" >&2; }

if ! "$py" -c "import ctranslate2, numpy, yaml; assert ctranslate2.__version__ == '$CT2_VERSION'" 2>/dev/null; then
  log "installing ctranslate2==$CT2_VERSION numpy pyyaml into $venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --no-cache-dir "ctranslate2==$CT2_VERSION" numpy pyyaml >&2
fi

if [ ! -f "$model/model.safetensors" ] || [ ! -f "$model/random-weights.json" ]; then
  log "writing the random opus-mt-vi-en-sized checkpoint into $model"
  rm -rf "$model"
  "$py" scripts/marian_random.py make "$model" --preset opus-mt-vi-en --seed 0
fi

if [ ! -f "$ct2/model.bin" ] || [ "$model/model.safetensors" -nt "$ct2/model.bin" ]; then
  log "converting for CTranslate2 into $ct2"
  rm -rf "$ct2"
  "$py" scripts/ct2_marian.py convert "$model" "$ct2"
  rm -f "$ct2/check.json"
fi

if [ ! -f "$ct2/check.json" ]; then
  log "checking the conversion: numpy MarianMTModel vs CTranslate2 greedy (about a minute)"
  if ! "$py" scripts/ct2_marian.py check "$model" "$ct2" --json > "$ct2/check.json.tmp"; then
    cat "$ct2/check.json.tmp" >&2
    log "CTranslate2's float32 output differs from the numpy reference: not comparing speed"
    exit 1
  fi
  mv "$ct2/check.json.tmp" "$ct2/check.json"
fi
"$py" - "$ct2/check.json" >&2 <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print("compare-ct2: conversion check: float32 greedy identical to numpy in %d/%d sentences; "
      "int8 %d/%d identical, next token (teacher-forced) %.0f%%"
      % (c["float32"]["identical"], c["float32"]["of"], c["int8"]["identical"], c["int8"]["of"],
         100 * c["int8"]["next_token_agreement_teacher_forced"]))
PY

if [ "$skip_dich" != "1" ] && [ ! -x "$dich" ]; then
  log "no dich binary at $dich (cargo build --release, or set DICH=..., or SKIP_DICH=1)"
  exit 1
fi

busy_pct() {  # percent of the CPUs busy over 2 seconds
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 - 100 * idle / total : 0 ))
}
busy="$(busy_pct)"
if [ "$busy" -gt 10 ]; then
  log "the CPUs are ${busy}% busy before starting: the numbers will be noisy (CTranslate2's"
  log "OpenMP threads slow down by up to 10x, not 2x, when another process takes a core)"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_dich() {  # batch quantize(or empty) out
  local args=(bench marian --model "$model" --batch "$1" --src-len "$src_len"
              --new-tokens "$new_tokens" --threads "$threads" --format json)
  [ -n "$2" ] && args+=(--quantize "$2")
  "$dich" "${args[@]}" > "$3"
}

run_ct2() {  # batch compute_type out
  "$py" scripts/ct2_marian.py bench "$ct2" --batch "$1" --src-len "$src_len" \
    --new-tokens "$new_tokens" --compute-type "$2" --threads "$threads" --rounds 1 --json > "$3"
}

# Rounds alternate the engines (dich, ct2 float32, ct2 int8, dich q8) so that
# a slow spell of this shared machine hits all of them alike; each number
# reported is the median over the rounds.
for b in $batches; do
  for r in $(seq 1 "$rounds"); do
    log "batch $b, round $r of $rounds"
    [ "$skip_dich" = "1" ] || run_dich "$b" "" "$work/dich-f32.$b.$r.json"
    run_ct2 "$b" float32 "$work/ct2-f32.$b.$r.json"
    run_ct2 "$b" int8 "$work/ct2-int8.$b.$r.json"
    [ "$skip_dich" = "1" ] || run_dich "$b" q8 "$work/dich-q8.$b.$r.json"
  done
done

"$py" - "$work" "$rounds" "$threads" "$src_len" "$new_tokens" "$batches" <<'PY'
import glob, json, os, statistics, sys
work, rounds, threads, src_len, new_tokens, batches = sys.argv[1:7]
rounds = int(rounds)

def parse(path):
    """The last JSON object in the file that has tokens_per_s."""
    for line in reversed(open(path).read().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if "tokens_per_s" in obj:
                return obj
    try:
        obj = json.load(open(path))
        if "tokens_per_s" in obj:
            return obj
    except ValueError:
        pass
    raise SystemExit("%s: no JSON with tokens_per_s" % path)

runs, med = {}, {}
for b in batches.split():
    for name in ("dich-f32", "ct2-f32", "ct2-int8", "dich-q8"):
        files = sorted(glob.glob(os.path.join(work, "%s.%s.*.json" % (name, b))))
        if not files:
            continue
        runs[(name, b)] = [parse(f) for f in files]
        med[(name, b)] = statistics.median(x["tokens_per_s"] for x in runs[(name, b)])

fmt = lambda v: "%.1f" % v if v is not None else "–"
ratio = lambda a, c: "%.2fx" % (a / c) if a is not None and c else "–"
print("| generated tokens/s, %s threads, %s+1 source tokens, %s new, median of %d | dich f32 | CTranslate2 f32 | dich / ct2 f32 | dich q8 | CTranslate2 int8 | dich q8 / ct2 int8 |"
      % (threads, src_len, new_tokens, rounds))
print("|---|---|---|---|---|---|---|")
for b in batches.split():
    g = lambda name: med.get((name, b))
    print("| batch %s | %s | %s | %s | %s | %s | %s |" % (
        b, fmt(g("dich-f32")), fmt(g("ct2-f32")), ratio(g("dich-f32"), g("ct2-f32")),
        fmt(g("dich-q8")), fmt(g("ct2-int8")), ratio(g("dich-q8"), g("ct2-int8"))))
others = [x.get("others_cpu") or 0 for (name, _), v in runs.items() if name.startswith("ct2") for x in v]
if others and max(others) > 0.05:
    print("\nOther processes took up to %.0f%% of the CPUs during the CTranslate2 runs: "
          "the numbers are disturbed, run again on an idle machine." % (100 * max(others)))
print(json.dumps({"rounds": rounds, "runs": {"%s/batch%s" % k: v for k, v in runs.items()}}),
      file=sys.stderr)
PY
