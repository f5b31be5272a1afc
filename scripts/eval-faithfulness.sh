#!/usr/bin/env bash
# Measures translation faithfulness the way the README's *Faithfulness*
# section reports it: BLEU and chrF (sacreBLEU signatures) with paired
# bootstrap against a baseline revision, and the fidelity checks' flag
# rates, on the UI and LibreOffice-help dev or test sets.
#
#   scripts/eval-faithfulness.sh dev|test [BASE_REV] [-- VARIANT_FLAGS ...]
#
# - builds the sets if missing (scripts/build-evalset.py,
#   scripts/build-evalset-lo.py) into $DICH_HOME/eval;
# - builds BASE_REV (default be29c5f: the pipeline before the fidelity
#   checks and candidates) in a git worktree and this tree, release;
# - runs `dich eval translate` for the baseline and for each variant (the
#   flags after `--`, one variant per argument, e.g. '--candidates 4'
#   '--candidates 4 --select mbr+qe'; default: the new default and
#   '--candidates 4'), each against the baseline's hypotheses;
# - writes everything under $OUT (default target/faithfulness/SPLIT) and
#   prints one table line per run.
# - BASE_BIN=path: use this baseline binary instead of building BASE_REV.
# - LIMIT_UI / LIMIT_LO: only the first N pairs of a set (the sets are in
#   hash order, so a prefix is a fixed random sample).
#
# Dev is for choosing; test is run once, for the chosen settings only.
set -euo pipefail
cd "$(dirname "$0")/.."
split=${1:?usage: $0 dev|test [BASE_REV] [-- VARIANT ...]}
shift
base_rev=${1:-be29c5f}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=("" "--candidates 4")

home=${DICH_HOME:-$HOME/.cache/dich}
sets=$home/eval
out=${OUT:-target/faithfulness/$split}
mkdir -p "$out"
[ -f "$sets/ui-$split.tsv" ] || python3 scripts/build-evalset.py
[ -f "$sets/lo-$split.tsv" ] || python3 scripts/build-evalset-lo.py

# shellcheck source=scripts/faithfulness-binaries.sh
. scripts/faithfulness-binaries.sh

row() { # name json
  jq -r --arg n "$1" '[$n,
      (.metrics[] | select(.metric=="BLEU") | .score*100|round/100),
      (.metrics[] | select(.metric|startswith("chrF")) | .score*100|round/100),
      (((.compare // [])[] | select(.metric|startswith("chrF")) | .result.p_value) // "-"),
      (.changed // "-"),
      .fidelity.entity_added, .fidelity.entity_missed, .fidelity.number_mismatch,
      .fidelity.sentences, .timing.translate_s] | @tsv' "$2"
}

echo -e "set\trun\tBLEU\tchrF\tp(chrF)\tchanged\tentity-added\tentity-missed\tnumber-mismatch\tsentences\ttranslate_s"
for s in ui lo; do
  pairs=$sets/$s-$split.tsv
  limit=()
  [ "$s" = ui ] && [ -n "${LIMIT_UI:-}" ] && limit=(--limit "$LIMIT_UI")
  [ "$s" = lo ] && [ -n "${LIMIT_LO:-}" ] && limit=(--limit "$LIMIT_LO")
  if [ ! -f "$out/$s-base.txt" ]; then
    "$base" eval translate "$pairs" "${limit[@]}" --offline -q --save-hyp "$out/$s-base.txt" --format json >/dev/null
  fi
  # The baseline scored by this binary (its fidelity flags need the new checks).
  "$new" eval translate "$pairs" "${limit[@]}" --offline -q --hyp "$out/$s-base.txt" --format json > "$out/$s-base.json"
  echo -e "$s\t$(row base "$out/$s-base.json")"
  for v in "${variants[@]}"; do
    name=${v:-default}
    name=${name// /_}
    # shellcheck disable=SC2086
    "$new" eval translate "$pairs" "${limit[@]}" --offline -q $v --compare "$out/$s-base.txt" \
      --save-hyp "$out/$s-$name.txt" --format json > "$out/$s-$name.json"
    echo -e "$s\t$(row "$name" "$out/$s-$name.json")"
  done
done
