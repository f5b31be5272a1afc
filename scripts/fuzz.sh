#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer) of every parser that
# reads outside data; the targets are in fuzz/fuzz_targets/.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 300 (FUZZ_SMOKE=1: 20, a CI smoke run).
# With no TARGET, every target runs, one after another, each with one job.
# Each target starts from a temporary copy of its seeds (fuzz/corpus/<t>/),
# so the corpus libFuzzer grows never lands in git; set FUZZ_KEEP_CORPUS=DIR
# to keep the grown corpora in DIR/<t>. Crashing inputs are copied to
# fuzz/artifacts/<t>/ (ignored by git). One line per target is printed:
# target, executions, cov (final), cov@half (at half the executions), ft,
# result. Exits 1 if any target crashed,
# hung or ran out of memory, 2 if the build failed.
set -uo pipefail

secs=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$secs" ]; then
    if [ "${FUZZ_SMOKE:-0}" = 1 ]; then secs=20; else secs=300; fi
fi
case $secs in *[!0-9]* | '') echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/fuzz"

if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo-fuzz" ]; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi
export PATH="$HOME/.cargo/bin:$PATH"

# libFuzzer needs nightly-only flags (-Zsanitizer); without a nightly
# toolchain, stable can be told to accept them.
if cargo +nightly --version >/dev/null 2>&1; then
    cargo=(cargo +nightly)
else
    echo "no nightly toolchain: building on stable with RUSTC_BOOTSTRAP=1" >&2
    cargo=(cargo)
    export RUSTC_BOOTSTRAP=1
fi

cd "$fuzz" || exit 2
echo "building the fuzz targets" >&2
if ! nice -n 10 "${cargo[@]}" fuzz build >&2; then
    echo "fuzz build failed" >&2
    exit 2
fi
bin_dir="$fuzz/target/x86_64-unknown-linux-gnu/release"
[ -d "$bin_dir" ] || bin_dir=$(dirname "$(find "$fuzz/target" -path '*/release/segment' -type f | head -1)")

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${cargo[@]}" fuzz list)
fi

# Longest input per target: binary formats get room for a small model
# header; text formats less.
max_len() {
    case $1 in
        gguf_header | gguf_tokenizer | spm | e5s1 | checkpoint_safetensors | checkpoint_pth | summarize_json) echo 65536 ;;
        catalog) echo 32768 ;;
        *) echo 16384 ;;
    esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/dich-fuzz.XXXXXX")
# Targets that parse from a path write their input there: tmpfs if any.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    DICH_FUZZ_SCRATCH=$(mktemp -d /dev/shm/dich-fuzz.XXXXXX)
else
    DICH_FUZZ_SCRATCH="$work/scratch"
    mkdir -p "$DICH_FUZZ_SCRATCH"
fi
export DICH_FUZZ_SCRATCH
trap 'rm -rf "$work" "$DICH_FUZZ_SCRATCH"' EXIT
failed=0
summary=()
start=$SECONDS
for t in "${targets[@]}"; do
    bin="$bin_dir/$t"
    if [ ! -x "$bin" ]; then
        summary+=("$(printf '%-24s %12s %8s %8s %8s  %s' "$t" - - - - "NO BINARY")")
        failed=1
        continue
    fi
    run="$work/$t"
    mkdir -p "$run/corpus" "$run/artifacts"
    [ -d "corpus/$t" ] && cp -r "corpus/$t/." "$run/corpus/"
    echo "fuzzing $t for ${secs}s" >&2
    # -jobs=1 runs the fuzzer in one child process and keeps going after
    # nothing: the child stops at the first crash, the log is fuzz-0.log.
    (cd "$run" && nice -n 10 "$bin" "$run/corpus" \
        -jobs=1 -workers=1 -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(max_len "$t")" -print_final_stats=1 \
        -artifact_prefix="$run/artifacts/" >"$run/parent.log" 2>&1)
    rc=$?
    log="$run/fuzz-0.log"
    [ -f "$log" ] || log="$run/parent.log"
    stat=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')
    [ -n "$execs" ] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$stat")
    cov=$(grep -oE 'cov: [0-9]+' <<<"$stat" | grep -oE '[0-9]+')
    # Coverage halfway through the executions: equal to the final one
    # when the run has plateaued.
    half=$(grep -E '^#[0-9]+.*cov: ' "$log" | sed -nE 's/^#([0-9]+).*cov: ([0-9]+).*/\1 \2/p' |
        awk -v h="$(( ${execs:-0} / 2 ))" '$1 <= h { c = $2 } END { print c }')
    ft=$(grep -oE 'ft: [0-9]+' <<<"$stat" | grep -oE '[0-9]+')
    artifacts=$(find "$run/artifacts" -type f | wc -l)
    if [ "$artifacts" -gt 0 ] || grep -qE 'ERROR: libFuzzer|==ERROR: AddressSanitizer|deadly signal|panicked at' "$log"; then
        result="CRASH ($(find "$run/artifacts" -type f -printf '%f ' | head -c 200))"
        mkdir -p "artifacts/$t"
        cp "$run/artifacts/"* "artifacts/$t/" 2>/dev/null
        cp "$log" "artifacts/$t/$t.log"
        grep -E 'panicked at|ERROR:|SUMMARY' "$log" | head -5 >&2
        failed=1
    elif [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc, see the log)"
        mkdir -p "artifacts/$t"
        cp "$log" "artifacts/$t/$t.log"
        failed=1
    else
        result=ok
    fi
    if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
        mkdir -p "$FUZZ_KEEP_CORPUS/$t"
        cp -r "$run/corpus/." "$FUZZ_KEEP_CORPUS/$t/"
    fi
    line=$(printf '%-24s %12s %8s %8s %8s  %s' "$t" "${execs:--}" "${cov:--}" "${half:--}" "${ft:--}" "$result")
    echo "$line" >&2
    summary+=("$line")
done

printf '%-24s %12s %8s %8s %8s  %s\n' target execs cov cov@half ft result
printf '%s\n' "${summary[@]}"
echo "$(( SECONDS - start ))s of fuzzing; cov@half: coverage at half the executions (equal to cov: plateaued)" >&2
exit $failed
