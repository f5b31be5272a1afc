#!/usr/bin/env python3
"""Reference outputs of llama.cpp for a GGUF model, as a JSON fixture for
tests/architectures.rs: token ids of a few texts, the logits after a prompt
(the 40 largest), and a greedy continuation.

Run with the interpreter of the venv made by scripts/setup-llama-cpp.sh:

    ${DICH_HOME:-$HOME/.cache/dich}/venv-llama/bin/python \
        scripts/llama_reference.py MODEL.gguf OUT.json

The texts are fixed here; the prompt is the token ids of text PROMPT_TEXT
(an optional third argument, default 0; 1 is the English sentence, for
English-only models), preceded by the model's BOS token when the file asks
for one.
"""
import json
import os
import sys
import unicodedata

import llama_cpp
import numpy as np

TEXTS = [
    "Sáng 25/10, tại Hà Nội, Việt Nam đã chủ trì Lễ mở ký Công ước của Liên Hợp Quốc về chống tội phạm mạng.",
    "The UN Convention against Cybercrime was signed in Hanoi by representatives of 72 countries.",
    "Tỷ lệ tăng 5,66% — “Công ước Hà Nội” <|im_end|> <end_of_turn> <|eot_id|>\n\n  tabs\tend 12345 ASN.1",
    "Đại sứ Anh Iain Frew phát biểu: \"Chúng tôi ủng hộ\"... (ảnh: TTXVN)\nComment (0)",
]
GREEDY = 32


def main():
    model, out = sys.argv[1], sys.argv[2]
    prompt_text = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    llm = llama_cpp.Llama(
        model_path=model, n_ctx=1024, n_threads=2, logits_all=False, verbose=False
    )
    texts = [unicodedata.normalize("NFC", t) for t in TEXTS]
    tokenized = [
        {"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)}
        for t in texts
    ]
    prompt = list(tokenized[prompt_text]["ids"])
    add_bos = llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model))
    if add_bos:
        prompt.insert(0, llm.token_bos())
    n_vocab = llm.n_vocab()

    def logits():
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(n_vocab,)).copy()

    llm.reset()
    llm.eval(prompt)
    first = logits()
    top = np.argsort(-first, kind="stable")[:40]
    generated, margins = [], []
    current = first
    for _ in range(GREEDY):
        order = np.argsort(-current, kind="stable")[:2]
        tok = int(order[0])
        generated.append(tok)
        # How far the chosen token led the runner-up: where this is tiny,
        # another engine's rounding may rightly choose the other one.
        margins.append(float(current[order[0]] - current[order[1]]))
        llm.eval([tok])
        current = logits()
    # A prompt longer than Gemma 3's 512-position sliding window: the
    # first 700 tokens of the Vietnamese seed article.
    seed = os.path.join(os.path.dirname(__file__), "..", "seeds", "vi-vtc-hanoi-convention-signing.txt")
    with open(seed, encoding="utf-8") as f:
        article = unicodedata.normalize("NFC", f.read())
    long_prompt = llm.tokenize(article.encode("utf-8"), add_bos=bool(add_bos), special=False)[:700]
    llm.reset()
    llm.eval(long_prompt)
    last = logits()
    long_top = np.argsort(-last, kind="stable")[:40]
    fixture = {
        "model_sha256_hint": model.rsplit("/", 1)[-1],
        "llama_cpp_python": llama_cpp.__version__,
        "texts": tokenized,
        "prompt_text": prompt_text,
        "prompt": prompt,
        "top_logits": [[int(i), float(first[i])] for i in top],
        "logit_std": float(first.std()),
        "greedy": generated,
        "greedy_margins": margins,
        "long_prompt": long_prompt,
        "long_top_logits": [[int(i), float(last[i])] for i in long_top],
        "long_logit_std": float(last.std()),
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
