#!/usr/bin/env python3
"""dich's greedy output against CTranslate2's on the same sources.

    dich bench marian --model HF_DIR --batch 16 --new-tokens 48 --rounds 1 \\
        --tokens-out /tmp/dich-tokens.json
    $DICH_HOME/venv-ct2/bin/python scripts/ct2_agree.py HF_DIR CT2_DIR /tmp/dich-tokens.json

HF_DIR is the Hugging Face-layout checkpoint, CT2_DIR its CTranslate2
conversion (scripts/ct2_marian.py convert). The sources in the tokens file
end with </s>; CTranslate2 appends its own, so it is stripped here. Prints
how many outputs are identical and each one's common prefix; exits 1 unless
all are identical (for float32).
"""
import json
import sys

import ctranslate2


def main():
    hf_dir, ct2_dir, tokens = sys.argv[1:4]
    compute_type = sys.argv[4] if len(sys.argv) > 4 else "float32"
    vocab = json.load(open(f"{hf_dir}/vocab.json", encoding="utf-8"))
    pieces = {i: p for p, i in vocab.items()}
    t = json.load(open(tokens, encoding="utf-8"))
    n = len(t["outputs"][0])
    sources = [[pieces[i] for i in s[:-1]] for s in t["sources"]]
    tr = ctranslate2.Translator(ct2_dir, device="cpu", compute_type=compute_type, intra_threads=2)
    res = tr.translate_batch(sources, beam_size=1, max_decoding_length=n, min_decoding_length=n)
    outs = [[vocab[p] for p in r.hypotheses[0]] for r in res]
    prefix = []
    for a, b in zip(outs, t["outputs"]):
        k = 0
        while k < min(len(a), len(b)) and a[k] == b[k]:
            k += 1
        prefix.append(k)
    same = sum(a == b for a, b in zip(outs, t["outputs"]))
    print(json.dumps({"compute_type": compute_type, "identical": same, "of": len(outs),
                      "tokens": n, "common_prefix": prefix}))
    sys.exit(0 if same == len(outs) else 1)


if __name__ == "__main__":
    main()
