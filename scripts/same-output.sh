#!/usr/bin/env bash
# Shows that a change leaves what dich outputs byte-identical: runs a fixed
# set of commands with two dich binaries on this machine and compares their
# outputs (JSON with timings removed; other formats as they are).
#
#   scripts/same-output.sh REV            build REV (e.g. a commit before a
#                                         refactor) and this checkout, run both,
#                                         compare
#   scripts/same-output.sh run BIN DIR    run the set with BIN into DIR
#   scripts/same-output.sh compare A B    compare two such directories
#
# The set: `dich translate` on the Vietnamese seed (default models, scored),
# the English seed into Vietnamese with --lanes 2, `dich summarize` on the
# seed (translated first), extractive and abstractive summaries of the seed
# translations in tests/fixtures (every summary format), `dich align` on the
# two seeds, `dich batch` on records with every kind of bad record,
# `dich eval translate` on six pairs (--lanes 4), and Marian random-weight
# checkpoints (tiny: greedy, --beam 4 --n-best 2, text format; opus-mt
# shapes, 8-bit: greedy and --beam 4). The checkpoints are written once, by
# the first binary, into DIR/../checkpoints, so both runs read the same
# files. Needs the default models in the cache (the first command fetches
# them), jq, and about 25 minutes per binary on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

strip() {
  # Timings differ between any two runs; everything else must not.
  jq 'walk(if type == "object" then del(.load_s, .prompt_s, .generate_s, .wall_s, .timing, .timings, .translate_s) else . end)'
}

write_inputs() {
  local dir=$1
  mkdir -p "$dir"
  # The records of tests/batch.rs: valid ones in both languages and one of
  # each kind of bad record (bad JSON, not an object, no id, empty text,
  # duplicate id, invalid UTF-8, too long for --max-chars 300, unknown lang).
  local long="Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng (Công ước Hà Nội) diễn ra với sự tham gia kí của gần 70 nước, với sự có mặt của hàng trăm đại biểu trong nước và quốc tế. Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội. Việc ký kết tại Hà Nội được đánh giá là dấu mốc đặc biệt, nhấn mạnh vị thế quốc tế của Việt Nam."
  {
    printf '%s\n' '{"id": "vi-1", "text": "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội.", "source": "seed", "n": 1}'
    printf '%s\n' '{"id": "bad-json", "text": '
    printf '%s\n' '{"id": "en-1", "text": "The convention was signed in Hanoi on October 25.", "lang": "en"}'
    printf '%s\n' '["not", "an", "object"]'
    printf '%s\n' '{"text": "Không có id."}'
    printf '%s\n' '{"id": "empty", "text": "   "}'
    printf '%s\n' '{"id": "vi-1", "text": "Trùng id."}'
    printf '{"id": "utf8", "text": "Vi\xffệt"}\n'
    printf '{"id": "long", "text": "%s"}\n' "$long"
    printf '%s\n' '{"id": "fr", "text": "Bonjour.", "lang": "fr"}'
    printf '%s\n' '{"id": "vi-2", "text": "(VTC News) -\n\nĐại sứ Anh Iain Frew đại diện Vương quốc Anh tham gia ký kết.", "error": "kept"}'
    printf '%s\n' '{"id": 42, "text": "Quyền được thông tin là một quyền mang tính Hiến định của công dân."}'
  } > "$dir/batch.jsonl"
  cat > "$dir/pairs.tsv" <<'EOF'
Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội.	The event was hosted by Vietnam at the National Convention Center in Hanoi.
Đại sứ Anh Iain Frew nhấn mạnh tầm quan trọng của hợp tác quốc tế.	British Ambassador Iain Frew stressed the importance of international cooperation.
Công ước được thông qua vào tháng 12 năm 2024.	The convention was adopted in December 2024.
Hơn 100 đại biểu đã tham dự buổi lễ.	More than 100 delegates attended the ceremony.
Tội phạm mạng gây thiệt hại hàng nghìn tỷ USD mỗi năm.	Cybercrime causes trillions of dollars in damage every year.
Thủ tướng phát biểu tại lễ khai mạc.	The Prime Minister spoke at the opening ceremony.
EOF
}

write_checkpoints() {
  local bin=$1 dir=$2
  [ -f "$dir/tiny/model.safetensors" ] && [ -f "$dir/opus/model.safetensors" ] && return
  mkdir -p "$dir"
  "$bin" -q bench marian --model "$dir/tiny" --write-random tiny --seed 11 \
    --batch 1 --rounds 1 --new-tokens 4 --src-len 4 > /dev/null
  "$bin" -q bench marian --model "$dir/opus" --write-random opus-mt --seed 1 \
    --batch 1 --rounds 1 --new-tokens 4 --src-len 4 > /dev/null
}

run_set() {
  local bin=$1 out=$2
  bin=$(realpath "$bin")
  mkdir -p "$out"
  # Shared by both runs, by the same path: outputs name their inputs.
  local inputs ckpt
  inputs=$(realpath "$out/..")/inputs
  ckpt=$(realpath "$out/..")/checkpoints
  write_inputs "$inputs"
  write_checkpoints "$bin" "$ckpt"
  local vi=seeds/vi-vtc-hanoi-convention-signing.txt en=seeds/en-sggp-global-shield.txt
  local fx_vi=tests/fixtures/translation_vi_seed.json fx_en=tests/fixtures/translation_en_seed.json
  step() { echo "== $1" >&2; }

  step "marian tiny, greedy"
  "$bin" -q translate "$vi" --model "$ckpt/tiny" --format json --max-length 24 | strip > "$out/marian-tiny-greedy.json"
  step "marian tiny, beam 4, n-best 2"
  "$bin" -q translate "$vi" --model "$ckpt/tiny" --format json --max-length 24 --beam 4 --n-best 2 | strip > "$out/marian-tiny-beam4.json"
  step "marian tiny, text"
  "$bin" -q translate "$vi" --model "$ckpt/tiny" --no-score --max-length 24 > "$out/marian-tiny.txt"
  step "marian opus-mt shapes, q8, greedy"
  "$bin" -q translate "$vi" --model "$ckpt/opus" --no-score --quantize q8 --format json --max-length 16 | strip > "$out/marian-opus-q8-greedy.json"
  step "marian opus-mt shapes, q8, beam 4"
  "$bin" -q translate "$vi" --model "$ckpt/opus" --no-score --quantize q8 --format json --max-length 16 --beam 4 | strip > "$out/marian-opus-q8-beam4.json"

  step "align"
  "$bin" -q align "$vi" "$en" --format json | strip > "$out/align.json"
  "$bin" -q align "$vi" "$en" > "$out/align.tsv"
  step "summarize the fixtures, extractive, every format"
  "$bin" -q summarize "$fx_vi" "$fx_en" --format json | strip > "$out/summary-fixtures.json"
  for f in text markdown html; do
    "$bin" -q summarize "$fx_vi" "$fx_en" --format "$f" > "$out/summary-fixtures.$f"
  done
  step "summarize the fixtures, abstractive"
  "$bin" -q summarize "$fx_vi" "$fx_en" --method abstractive --format json | strip > "$out/summary-fixtures-abstractive.json"

  step "eval translate (6 pairs, --lanes 4)"
  "$bin" -q eval translate "$inputs/pairs.tsv" --format json | strip > "$out/eval-translate.json"
  step "batch"
  rm -f "$out/batch-out.jsonl" "$out/batch-out.manifest.json"
  "$bin" -q batch "$inputs/batch.jsonl" -o "$out/batch-out.jsonl" --no-timings --max-chars 300 || [ $? -eq 3 ]
  mv "$out/batch-out.jsonl" "$out/batch.jsonl"
  jq 'del(.started, .ended, .runs, .output)' "$out/batch-out.manifest.json" > "$out/batch-manifest.json"
  rm -f "$out/batch-out.manifest.json"

  step "translate the Vietnamese seed (default models)"
  "$bin" -q translate "$vi" --format json | strip > "$out/translate-vi.json"
  step "translate the English seed into Vietnamese, --lanes 2"
  "$bin" -q translate "$en" --from en --to vi --lanes 2 --format json | strip > "$out/translate-en-lanes2.json"
  step "summarize the seed (translated first)"
  "$bin" -q summarize "$vi" --format json | strip > "$out/summarize-vi.json"
}

compare() {
  local a=$1 b=$2 bad=0 n=0
  for f in "$a"/*; do
    n=$((n + 1))
    local name
    name=$(basename "$f")
    if cmp -s "$f" "$b/$name"; then
      echo "same       $name"
    else
      echo "DIFFERENT  $name"
      bad=$((bad + 1))
    fi
  done
  echo "$((n - bad)) of $n outputs identical"
  [ "$bad" -eq 0 ]
}

case "${1:-}" in
  run) run_set "$2" "$3" ;;
  compare) compare "$2" "$3" ;;
  "" | -h | --help) sed -n '2,22p' "$0"; exit 2 ;;
  *)
    rev=$1
    work=$(mktemp -d "${TMPDIR:-/tmp}/dich-same-output.XXXXXX")
    git worktree add --detach "$work/base" "$rev" > /dev/null
    trap 'git worktree remove --force "$work/base" > /dev/null 2>&1 || true' EXIT
    (cd "$work/base" && cargo build --release --quiet)
    cargo build --release --quiet
    cp "$work/base/target/release/dich" "$work/dich-base"
    run_set "$work/dich-base" "$work/out/base"
    run_set "$ROOT/target/release/dich" "$work/out/head"
    compare "$work/out/base" "$work/out/head"
    ;;
esac
