#!/usr/bin/env python3
"""Reference token ids for dich's GGUF tokenizer, from an independent implementation.

dich builds a `tokenizers::Tokenizer` (Rust) from the vocabulary and merges
stored in the default model's GGUF. This script produces the ids that the
pure-Python *slow* `Qwen2Tokenizer` of `transformers` (its own regex
pre-tokenizer and BPE loop, no Rust code) gives for the same vocabulary and
merges, read from the same GGUF with the `gguf` package. `tests/tokenizer.rs`
checks that dich reproduces every id sequence exactly.

Run (outside the repo's build, e.g. in a throwaway venv):

    python3 -m venv /tmp/venv-fixtures
    /tmp/venv-fixtures/bin/pip install -r scripts/requirements-fixtures.txt
    /tmp/venv-fixtures/bin/python scripts/tokenizer_fixtures.py \
        "$(dich models path qwen2.5-coder-1.5b-instruct-q4_k_m)" \
        tests/fixtures/qwen2_tokenizer.json
"""

import hashlib
import importlib.metadata
import json
import sys
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import gguf
import transformers
from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

REPO = Path(__file__).resolve().parent.parent


def field_strings(reader, key):
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def field_ints(reader, key):
    f = reader.fields[key]
    return [int(f.parts[i][0]) for i in f.data]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_reference(gguf_path, workdir):
    reader = gguf.GGUFReader(gguf_path)
    tokens = field_strings(reader, "tokenizer.ggml.tokens")
    merges = field_strings(reader, "tokenizer.ggml.merges")
    types = field_ints(reader, "tokenizer.ggml.token_type")
    pre = bytes(reader.fields["tokenizer.ggml.pre"].parts[-1]).decode()
    print(f"{len(tokens)} tokens, {len(merges)} merges, pre-tokenizer {pre!r}", file=sys.stderr)
    print(f"token types: {dict(sorted(Counter(types).items()))}", file=sys.stderr)

    # Normal tokens (type 1) form the BPE vocabulary; control (3) and
    # user-defined (4) tokens are added tokens, special for type 3.
    vocab = {t: i for i, (t, ty) in enumerate(zip(tokens, types)) if ty == 1}
    (workdir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (workdir / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tok = Qwen2Tokenizer(
        vocab_file=str(workdir / "vocab.json"),
        merges_file=str(workdir / "merges.txt"),
        # Added tokens are added below in GGUF id order; none here, or they
        # would take the first free ids out of order.
        unk_token=None,
        bos_token=None,
        eos_token=None,
        pad_token=None,
    )
    added = [(i, t, ty) for i, (t, ty) in enumerate(zip(tokens, types)) if ty in (3, 4)]
    for i, t, ty in added:
        n = tok.add_tokens([transformers.AddedToken(t, special=(ty == 3), normalized=False)], special_tokens=(ty == 3))
        got = tok.convert_tokens_to_ids(t)
        assert got == i, f"added token {t!r} got id {got}, GGUF says {i} (added {n})"
    for name, want in [("<|endoftext|>", 151643), ("<|im_start|>", 151644), ("<|im_end|>", 151645)]:
        assert tok.convert_tokens_to_ids(name) == want, name
    return tok, types, pre


def cases():
    vi = (REPO / "seeds/vi-vtc-hanoi-convention-signing.txt").read_text(encoding="utf-8")
    en = (REPO / "seeds/en-sggp-global-shield.txt").read_text(encoding="utf-8")
    vi_paras = [p for p in vi.split("\n") if p.strip()]
    en_paras = [p for p in en.split("\n") if p.strip()]
    sentence = "Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng (Công ước Hà Nội) diễn ra tại Hà Nội."
    out = [
        ("vi_byline", vi_paras[0]),
        ("vi_lead_paragraph", vi_paras[1]),
        ("vi_two_sentences", vi_paras[2]),
        ("vi_heading", "Tiềm năng to lớn"),
        ("vi_curly_quote_passage", vi_paras[5]),
        ("vi_straight_quote_passage", vi_paras[14]),
        ("vi_quote_with_attribution", vi_paras[-1]),
        ("vi_sentence_nfc", sentence),
        ("vi_sentence_nfd_input_is_nfc_normalized", unicodedata.normalize("NFD", sentence)),
        ("vi_all_tones", "a à á ả ã ạ ă ằ ắ ẳ ẵ ặ â ầ ấ ẩ ẫ ậ đ Đ ê ề ế ể ễ ệ ô ồ ố ổ ỗ ộ ơ ờ ớ ở ỡ ợ ư ừ ứ ử ữ ự ỳ ý ỷ ỹ ỵ"),
        ("vi_uppercase", "HÀ NỘI (TTXVN) – THỦ TƯỚNG PHẠM MINH CHÍNH"),
        ("vi_abbreviations", "PGS.TS. Nguyễn Văn A, TP. Hồ Chí Minh, Q. 1, ThS. Lê Thị B."),
        ("en_paragraph", en_paras[0]),
        ("en_paragraph_quotes", en_paras[4]),
        ("en_source_line", en_paras[-2]),
        ("en_comment_label", en_paras[-1]),
        ("digits_date", "25/10/2025"),
        ("digits_percent_comma", "tăng 5,66% so với 2024"),
        ("digits_thousands", "1.000.000 đồng và 1,000,000 USD"),
        ("digits_pi", "3.14159265358979"),
        ("digits_phone", "+84 24 3825 3536 / (028) 3829-5555"),
        ("digits_long", "12345678901234567890"),
        ("punct_runs", "Thật sao?! Không... Có lẽ -- hoặc không!!! «Được» …"),
        ("punct_mixed", "(a) [b] {c} <d> @e #f $g %h ^i &j *k _l =m +n |o \\p ~q `r"),
        ("emoji_single", "Xin chào 👋"),
        ("emoji_zwj_family", "Gia đình 👨‍👩‍👧 đi chơi"),
        ("emoji_flag", "🇻🇳 Việt Nam 🇬🇧"),
        ("emoji_skin_tone", "👍🏽 tốt"),
        ("ws_double_space", "Hai  khoảng   trắng"),
        ("ws_tabs", "cột1\tcột2\t\tcột3"),
        ("ws_newlines", "dòng một\n\n\ndòng hai\n"),
        ("ws_leading_trailing", "   đầu và cuối   "),
        ("ws_crlf", "dòng một\r\ndòng hai\r\n"),
        ("ws_nbsp", "100\u00a0km và\u00a0Hà\u00a0Nội"),
        ("en_contractions", "don't It'S they'll we've I'm she'd you're"),
        ("mixed_scripts", "Việt Nam 越南 Вьетнам فيتنام ベトナム"),
        ("code_like", "fn main() { println!(\"xin chào\"); } // 25/10"),
        ("url", "Source: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html?a=1&b=2"),
        ("email", "lienhe@vtc.vn"),
        ("chatml_special_tokens", "<|im_start|>user\nXin chào<|im_end|>\n<|im_start|>assistant\n"),
        ("special_token_in_text", "Bài viết có chuỗi <|endoftext|> ở giữa."),
        ("long_word", "Supercalifragilisticexpialidocious" * 3),
        ("long_vi_syllables", "nghiêngnghiêngnghiêng ngoằnngoèo"),
        ("single_char", "Đ"),
        ("only_space", " "),
        ("empty", ""),
    ]
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    gguf_path, out_path = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as d:
        tok, types, pre = build_reference(gguf_path, Path(d))
        results = []
        mismatched_round_trips = 0
        for name, text in cases():
            ids = tok.encode(text, add_special_tokens=False)
            decoded = tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            if decoded != unicodedata.normalize("NFC", text):
                mismatched_round_trips += 1
                print(f"round trip differs for {name}: {decoded!r}", file=sys.stderr)
            results.append({"name": name, "text": text, "ids": ids, "decoded": decoded})
    doc = {
        "model_sha256": sha256(gguf_path),
        "reference": f"transformers {transformers.__version__} Qwen2Tokenizer (slow, pure Python), "
        f"gguf {importlib.metadata.version('gguf')}",
        "pre_tokenizer": pre,
        "note": "The slow Qwen2Tokenizer NFC-normalizes its input, as the upstream tokenizer.json does.",
        "cases": results,
    }
    Path(out_path).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(results)} cases to {out_path}; {mismatched_round_trips} round-trip differences", file=sys.stderr)


if __name__ == "__main__":
    main()
