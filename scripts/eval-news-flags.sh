#!/usr/bin/env bash
# Reference-free faithfulness on news: the share of VLSP news sentences
# whose translation carries entity-added, entity-missed or a number
# mismatch, for a baseline revision and this tree, counted by this tree's
# checker, with every flagged line written out for reading by hand.
#
#   scripts/eval-news-flags.sh [BASE_REV] [-- VARIANT_FLAGS ...]
#
# - builds $DICH_HOME/eval/vlsp-news.txt if missing (scripts/build-vlsp.py:
#   2,009 sentences of the VLSP 2013 POS test set shipped with underthesea);
# - BASE_BIN=path: use this baseline binary instead of building BASE_REV;
# - EVERY=K (default 10) takes sentences 1, 1+K, 1+2K, ... (201 of 2,009);
# - the sentence stands in as its own reference (`eval translate` wants
#   one), so BLEU and chrF of these runs mean nothing: read the flags;
# - writes under $OUT (default target/faithfulness/news): hypotheses,
#   reports, and <run>-flagged.tsv (line, findings, source, translation).
set -euo pipefail
cd "$(dirname "$0")/.."
base_rev=${1:-be29c5f}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=("")

home=${DICH_HOME:-$HOME/.cache/dich}
news=$home/eval/vlsp-news.txt
out=${OUT:-target/faithfulness/news}
every=${EVERY:-10}
mkdir -p "$out"
[ -f "$news" ] || python3 scripts/build-vlsp.py
pairs=$out/vlsp-every$every.tsv
awk -v k="$every" 'NR % k == 1 % k { print $0 "\t" $0 }' "$news" > "$pairs"

# shellcheck source=scripts/faithfulness-binaries.sh
. scripts/faithfulness-binaries.sh

row() { # name json
  jq -r --arg n "$1" '[$n, .fidelity.sentences,
      .fidelity.entity_added, .fidelity.entity_missed, .fidelity.number_mismatch,
      .fidelity.not_a_translation, .fidelity.flagged,
      (.fidelity.entity_added / .fidelity.sentences * 1000 | round / 10),
      (.fidelity.number_mismatch / .fidelity.sentences * 1000 | round / 10),
      (.timing.translate_s // "-")] | @tsv' "$2"
}
flagged() { # json -> tsv
  jq -r '.fidelity.lines[] | [.line, ([.findings[] | tostring] | join("; ")),
      .source, .hypothesis] | @tsv' "$1"
}

echo -e "run\tsentences\tentity-added\tentity-missed\tnumber-mismatch\tnot-a-translation\tany\tadded%\tnumber%\ttranslate_s"
if [ ! -f "$out/base.txt" ]; then
  "$base" eval translate "$pairs" --offline -q --save-hyp "$out/base.txt" --format json >/dev/null
fi
"$new" eval translate "$pairs" --offline -q --hyp "$out/base.txt" --format json > "$out/base.json"
flagged "$out/base.json" > "$out/base-flagged.tsv"
row base "$out/base.json"
for v in "${variants[@]}"; do
  name=${v:-default}
  name=${name// /_}
  # shellcheck disable=SC2086
  "$new" eval translate "$pairs" --offline -q $v --save-hyp "$out/$name.txt" --format json > "$out/$name.json"
  flagged "$out/$name.json" > "$out/$name-flagged.tsv"
  row "$name" "$out/$name.json"
done
