#!/bin/bash
# Kills a `dich batch` run with SIGKILL at random moments, resumes it each
# time, then compares the result with an uninterrupted run's output.
#
#   scripts/batch-kill-stress.sh CORPUS.jsonl REFERENCE_OUT.jsonl [KILLS] [DICH]
#
# REFERENCE_OUT.jsonl is the output of an uninterrupted
# `dich batch CORPUS.jsonl -o REFERENCE_OUT.jsonl` (same settings). Each kill
# comes after 1-5 more finished records plus 0-8 s; checkpoints every 20 s
# make kills land around them too. After every kill the output must be whole
# JSON lines. At the end every record must equal the reference's (timings
# aside), once each, in the same order. Used for issue 4's closing note
# (8 kills over the 50-document corpus of scripts/build-corpus.py).
set -u
CORPUS=${1:?corpus JSONL}
REF=${2:?reference output JSONL}
KILLS=${3:-8}
D=${4:-target/release/dich}
S=$(mktemp -d)
RANDOM=42
count() {
    python3 - "$S/out.jsonl" <<'PY'
import json, sys
seen = set()
for p in (sys.argv[1], sys.argv[1] + ".part"):
    try:
        data = open(p, "rb").read()
    except FileNotFoundError:
        continue
    for line in data.split(b"\n")[:-1]:
        try:
            seen.add(json.loads(line)["line"])
        except Exception:
            pass
print(len(seen))
PY
}
for i in $(seq "$KILLS"); do
    want=$(($(count) + 1 + RANDOM % 5))
    "$D" --no-progress -q batch "$CORPUS" -o "$S/out.jsonl" --checkpoint-secs 20 2>>"$S/log" &
    pid=$!
    while [ "$(count)" -lt "$want" ] && kill -0 $pid 2>/dev/null; do sleep 0.2; done
    extra=$((RANDOM % 9))
    sleep $extra
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    python3 - "$S/out.jsonl" <<'PY' || { echo "kill $i: OUTPUT CORRUPT"; exit 1; }
import json, os, sys
p = sys.argv[1]
if os.path.exists(p):
    data = open(p, "rb").read()
    assert data == b"" or data.endswith(b"\n"), "no final newline"
    for line in data.splitlines():
        json.loads(line)
PY
    echo "kill $i: ${extra}s after record $want; $(count) records finished"
done
"$D" --no-progress -q batch "$CORPUS" -o "$S/out.jsonl" 2>>"$S/log"
echo "final run: exit $?"
python3 - "$REF" "$S/out.jsonl" <<'PY'
import json, sys
def load(p):
    rows = [json.loads(l) for l in open(p)]
    for r in rows:
        r.pop("timings", None)
    return rows
ref, got = load(sys.argv[1]), load(sys.argv[2])
ids = [r["id"] for r in got]
print(f"{len(got)} records, {len(set(map(str, ids)))} unique ids; reference {len(ref)}")
same = ref == got
print("identical to the uninterrupted run (timings aside), same order:", same)
sys.exit(0 if same else 1)
PY
rc=$?
echo "work dir: $S"
exit $rc
