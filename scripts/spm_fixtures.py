#!/usr/bin/env python3
"""Reference encodings for dich's pure-Rust SentencePiece reader (src/format/spm).

Trains a tiny Unigram model with the `sentencepiece` package (the C++ library
that Marian / OPUS-MT models were trained with) on sentences cut from
`seeds/*.txt`, and writes:

  tests/fixtures/spm/tiny.spm       the ModelProto, as in an opus-mt repo
  tests/fixtures/spm/expected.json  pieces and ids from sentencepiece itself

The normalization rules are those of `nmt_nfkc` (the rule OPUS-MT uses),
restricted to the Latin and Vietnamese ranges, punctuation, whitespace and the
characters of the test strings: the full nmt_nfkc table compiles to about
240 KB, too large for a fixture. The rules are taken from sentencepiece's own
nmt_nfkc (a throwaway model trained with it normalizes each character), so
the fixture exercises the real charsmap format and real nmt_nfkc mappings.
`tests/spm.rs` checks that dich gives exactly the same pieces and ids.

Run:

    python3 -m venv /tmp/spmvenv
    /tmp/spmvenv/bin/pip install sentencepiece==0.2.3
    /tmp/spmvenv/bin/python scripts/spm_fixtures.py
"""

import json
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import sentencepiece as spm

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "spm"

CASES = [
    ("empty", ""),
    ("spaces_only", "   "),
    ("english", "The reality has proven that no single nation can fight cybercrime alone."),
    ("vietnamese_nfc", "Sáng 25/10, Lễ mở ký Công ước Hà Nội diễn ra với sự tham gia của gần 70 nước."),
    ("vietnamese_nfd", unicodedata.normalize("NFD", "Đại sứ Anh nhấn mạnh sự cần thiết của việc hợp tác.")),
    ("vietnamese_mixed_forms", "Vi\u1ec7t Nam " + unicodedata.normalize("NFD", "Việt Nam")),
    ("curly_quotes", "“Điều đặc biệt ý nghĩa” – ‘quote’ — end"),
    ("numbers", "Sáng 25/10 tăng 5,66% lên 1.234.567 đồng (3.5%)"),
    ("multiple_spaces", "an   ninh    mạng"),
    ("leading_trailing_spaces", "   Hà Nội   "),
    ("tabs", "a\tb\t\tc"),
    ("newline", "dòng một\ndòng hai"),
    ("not_in_vocab", "Ωμέγα Ж 漢字 ק"),
    ("emoji", "Xin chào 😀👍🏽 thế giới"),
    ("emoji_only", "😀"),
    ("fullwidth", "ＡＢＣ１２３ ｆｕｌｌ"),
    ("nbsp", "an\u00a0ninh\u2009mạng\u3000tốt"),
    ("ligature", "ﬁnance ﬂow"),
    ("zero_width", "an\u200bninh"),
    ("control", "a\u0007b\u0000c"),
    ("literal_meta", "a▁b ▁c"),
    ("special_text", "<unk> </s> <s> <pad>"),
    ("uppercase", "HÀ NỘI VIỆT NAM"),
    ("single_char", "a"),
    ("punctuation", "...!?;:()[]{}\"'"),
    ("url", "https://vtc.vn/cong-uoc-ha-noi.html"),
    ("long_word", "cybercrimecybercrimecybercrime"),
    ("combining_only", "\u0301\u0303 a\u0323"),
    ("mixed", "AI và các công nghệ mới nổi (emerging technologies) – 2025"),
    ("trailing_newline", "kết thúc\n"),
    ("noncanonical_marks", "a\u0302\u0323 vs a\u0323\u0302"),
    ("long_grapheme", "e\u0301\u0302\u0323\u0303x"),
    ("ohm_angstrom", "\u2126 \u212b K\u212a"),
    ("superscript_fraction", "x² ½ ⅓ №"),
]


def training_lines():
    lines = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        for para in path.read_text(encoding="utf-8").splitlines():
            for sent in re.split(r"(?<=[.!?,;:])\s+|\s+[–—-]\s+", para.strip()):
                if len(sent) > 3:
                    lines.append(sent)
    return lines[:240]


def nmt_nfkc_rules(workdir, corpus):
    """The nmt_nfkc mapping of every character in the chosen ranges (and of
    NFD sequences for the composed Latin letters), as a rule TSV."""
    prefix = str(Path(workdir) / "full")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="unigram", vocab_size=300,
        normalization_rule_name="nmt_nfkc", hard_vocab_limit=False,
        character_coverage=1.0, add_dummy_prefix=False,
        remove_extra_whitespaces=False, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")

    def norm(s):
        # The normalized text is the concatenation of the surface pieces;
        # escape_whitespaces maps ' ' to '▁', undo it.
        return "".join(sp.encode(s, out_type=str)).replace("\u2581", " ")

    chars = set()
    for lo, hi in [(0x00, 0x24F), (0x300, 0x36F), (0x1E00, 0x1EFF), (0x2000, 0x206F),
                   (0x3000, 0x3000), (0xFB00, 0xFB06), (0xFF01, 0xFF5E)]:
        chars.update(chr(c) for c in range(lo, hi + 1))
    for _, text in CASES:
        chars.update(text)
    sources = set()
    for c in chars:
        if unicodedata.category(c) == "Cs":
            continue
        sources.add(c)
        nfd = unicodedata.normalize("NFD", c)
        if len(nfd) > 1:
            sources.add(nfd)
    rules = []
    for s in sorted(sources):
        if s == "\u2581":
            continue
        t = norm(s)
        if t and t != s:
            src = " ".join(f"{ord(c):X}" for c in s)
            dst = " ".join(f"{ord(c):X}" for c in t)
            rules.append(f"{src}\t{dst}")
    return rules


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        corpus = str(Path(work) / "corpus.txt")
        lines = training_lines()
        Path(corpus).write_text("\n".join(lines) + "\n", encoding="utf-8")
        rules = nmt_nfkc_rules(work, corpus)
        tsv = str(Path(work) / "rules.tsv")
        Path(tsv).write_text("\n".join(rules) + "\n", encoding="utf-8")
        prefix = str(Path(work) / "tiny")
        # Defaults otherwise, like Marian's spm_train for OPUS-MT: unigram,
        # dummy prefix, extra whitespace removed, <unk>=0 <s>=1 </s>=2.
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=prefix, model_type="unigram",
            vocab_size=400, hard_vocab_limit=False, normalization_rule_tsv=tsv,
            character_coverage=0.9995, minloglevel=2,
        )
        model = Path(prefix + ".model").read_bytes()
    (OUT / "tiny.spm").write_bytes(model)
    sp = spm.SentencePieceProcessor(model_file=str(OUT / "tiny.spm"))
    cases = []
    for name, text in CASES:
        cases.append({
            "name": name,
            "text": text,
            "pieces": sp.encode(text, out_type=str),
            "ids": sp.encode(text),
            "decoded": sp.decode(sp.encode(text)),
            # dich NFC-composes before the charsmap (see src/format/spm);
            # it must equal sentencepiece on the NFC text for every case.
            "nfc_pieces": sp.encode(unicodedata.normalize("NFC", text), out_type=str),
            "nfc_ids": sp.encode(unicodedata.normalize("NFC", text)),
        })
    expected = {
        "generator": "scripts/spm_fixtures.py",
        "sentencepiece": spm.__version__,
        "training_lines": len(lines),
        "normalization_rules": len(rules),
        "vocab_size": sp.get_piece_size(),
        "cases": cases,
    }
    (OUT / "expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(model)} bytes, {sp.get_piece_size()} pieces, {len(rules)} rules, "
          f"{len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
