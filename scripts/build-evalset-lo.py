#!/usr/bin/env python3
"""Vietnamese -> English prose evaluation pairs from the LibreOffice help.

    python3 scripts/build-evalset-lo.py [--out DIR] [--per-split 300]
        [--min-words 8] [--max-words 60] [--debs DIR | --from DIR]

Source: Debian's libreoffice-help-vi and libreoffice-help-en-us (MPL-2.0),
fetched with `apt-get download` (or taken from --debs DIR) and unpacked with
`dpkg-deb -x` into a temporary folder. Both hold the same help pages as HTML,
usr/share/libreoffice/help/{vi,en-US}/text/**/*.html, built from the same
sources: every paragraph and heading (`<p>`, `<h1>`..`<h6>`) carries the
same `par_id...`/`hd_id...` id in both languages, so paragraphs align exactly
on (page path, id, n-th occurrence of that id in the page). --from DIR reads
an already unpacked tree (DIR/usr/share/libreoffice/help/..., or the help
folder itself) instead: that is how tests run it without network.

A paragraph's text is its visible text: tags stripped, entities decoded,
whitespace collapsed, NFC (some Vietnamese pages are decomposed). A
`switchinline` (text that differs per system or module, all branches hidden
until the page's script picks one) becomes its `default...` branch; one with
no default branch drops the paragraph, and so do paragraphs holding line
breaks, superscripts/subscripts or copyable code (`data-tooltip`): formulas,
commands and listings, not prose. Images are dropped (their alt text is not
shown). Kept, in this order of filters (the manifest counts each):
- the Vietnamese differs from the English (case-insensitively) and carries
  Vietnamese letters (the packages leave many paragraphs in English), and
  has no English left in it: no run of 4 alphabetic words copied from the
  English with 2 or more English function words in it (`... button next to
  the Index box.`);
- no leftover markup or placeholders on either side (`<`, `{`, `}`,
  `$[`, `%NAME%`, `&name;`, backslashes, `>` not between spaces);
- the English has --min-words..--max-words words (default 8..60), and the
  Vietnamese is 0.5 to 2 times as long in characters (outside that the
  Vietnamese is mostly a stale translation of an older English paragraph);
- duplicates dropped, by English and by Vietnamese text (case-insensitive),
  the first kept in sorted (page path, id) order.
Each pair goes to dev or test by a hash of its English text (even last hex
digit of sha256 -> dev, as scripts/build-evalset.py does), never by order;
within a split the pairs are ordered by a second hash (sha256 of
"order:" + English), and the first --per-split of them are the small set, so
a smaller N gives a prefix of a larger N's file. Written as
`source<TAB>reference` (Vietnamese, English), one pair a line:

    DIR/lo-dev.tsv  DIR/lo-test.tsv          (at most --per-split pairs each)
    DIR/lo-all-dev.tsv  DIR/lo-all-test.tsv  (every pair of the split)
    DIR/lo-manifest.json

DIR defaults to $DICH_HOME/eval (or ~/.cache/dich/eval). From the bookworm
packages 4:7.4.7-1+deb12u14: 67,706 aligned paragraphs, 25,415 translated,
7,710 pairs kept (3,748 dev, 3,962 test). This is software help prose, not news: a score on it is not the quality of news translation.
"""

import argparse
import glob
import hashlib
import html.parser
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unicodedata

PACKAGES = {"vi": "libreoffice-help-vi", "en": "libreoffice-help-en-us"}
HELP = "usr/share/libreoffice/help"
LANG_DIRS = {"vi": "vi", "en": "en-US"}

VI_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]",
    re.IGNORECASE,
)
# a paragraph element with a help id, and its inner HTML (no nesting of
# these inside each other in the generated pages)
PARA = re.compile(
    r'<(p|h[1-6]?)\s+id="((?:par|hd)_id[^"]*)"[^>]*>(.*?)</\1\s*>', re.S)
# markup that makes a paragraph not plain prose
STRUCTURED = re.compile(r"<br\b|<sup\b|<sub\b|data-tooltip=", re.I)
# what may not survive the stripping: markup and placeholders (`<?>`,
# `<A1>`, `{}`, `$[officename]`, `%PRODUCTNAME%`), entities, backslashes,
# a `>` glued to anything (formulas); a spaced `>` is a menu path separator
# (`Công cụ > Tùy chọn`)
LEFTOVER = re.compile(r"[<{}\\]|(?<! )>|>(?! )|\$\[|%[A-Za-z_]+%|&[A-Za-z]+;|&#\d+;|\t")
# English words that a Vietnamese sentence does not carry; a copied run
# with two of them is an untranslated part, not a name (`Object Linking and
# Embedding`, `Visual Basic for Applications`)
FUNCTION_WORDS = {
    "the", "to", "of", "in", "on", "is", "are", "a", "an", "this", "that", "with",
    "by", "be", "it", "you", "can", "if", "from", "or", "as", "at", "which", "will", "not",
}
COPIED_RUN = 4
RATIO = (0.5, 2.0)
VOID = {"img", "br", "input", "meta", "link", "hr", "wbr", "source", "embed", "area", "col"}

RULES = {
    "align": "(page path, element id, n-th occurrence of the id in the page); "
             "elements <p>/<h1>-<h6> with id par_id*/hd_id*",
    "text": "tags stripped, entities decoded, whitespace collapsed, NFC; switchinline -> "
            "its default branch; images dropped",
    "structured": "dropped: <br>, <sup>, <sub>, data-tooltip (code), switchinline without "
                  "a default branch",
    "translated": "Vietnamese differs from English (case-insensitive) and has Vietnamese letters",
    "partly_untranslated": "dropped: Vietnamese holds %d consecutive alphabetic words that "
                           "occur consecutively in the English, 2+ of them in %s"
                           % (COPIED_RUN, sorted(FUNCTION_WORDS)),
    "leftover": LEFTOVER.pattern,
    "words": "English word count within [min_words, max_words]",
    "ratio": "len(Vietnamese) / len(English) in characters within %s" % (list(RATIO),),
    "dedup": "by lowercased English, then by lowercased Vietnamese; first in sorted "
             "(page, id, n) order",
    "split": "sha256(English) last hex digit even -> dev, odd -> test",
    "order": "within a split by sha256('order:' + English); lo-{dev,test}.tsv = the "
             "first --per-split lines of lo-all-{dev,test}.tsv",
}


def log(msg):
    print(msg, file=sys.stderr)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- packages

def deb_field(deb, field):
    r = subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def extract_deb(deb, root):
    """dpkg-deb -x, or the ar + tar by hand where dpkg-deb is missing."""
    if shutil.which("dpkg-deb"):
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        return
    with open(deb, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<arch>\n"):
        sys.exit("error: %s is not a .deb" % deb)
    pos = 8
    while pos + 60 <= len(data):
        name = data[pos:pos + 16].decode().strip().rstrip("/")
        size = int(data[pos + 48:pos + 58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body)) as t:
                try:
                    t.extractall(root, filter="data")
                except TypeError:  # Python without extraction filters
                    t.extractall(root)
            return
    sys.exit("error: no data.tar in %s" % deb)


def find_debs(debs_dir):
    """{lang: path of the package's .deb} in debs_dir."""
    found = {}
    for lang, pkg in PACKAGES.items():
        cands = sorted(glob.glob(os.path.join(debs_dir, pkg + "_*.deb")))
        if not cands:
            sys.exit("error: no %s_*.deb in %s" % (pkg, debs_dir))
        found[lang] = cands[-1]
    return found


def fetch(work, debs_dir):
    """Unpacks both packages into work/root; returns (root, package records)."""
    if not debs_dir:
        debs_dir = os.path.join(work, "debs")
        os.makedirs(debs_dir)
        r = subprocess.run(["apt-get", "download", *PACKAGES.values()], cwd=debs_dir,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("error: apt-get download failed (run `apt-get update` first?): %s"
                     % r.stderr.strip().splitlines()[-1:])
    root = os.path.join(work, "root")
    os.makedirs(root)
    records = []
    for lang, deb in sorted(find_debs(debs_dir).items()):
        extract_deb(deb, root)
        version = deb_field(deb, "Version")
        if version is None:  # no dpkg-deb: the version is in the file name
            version = os.path.basename(deb).split("_")[1].replace("%3a", ":")
        records.append({"package": PACKAGES[lang], "version": version,
                        "deb": os.path.basename(deb), "sha256": sha256_file(deb)})
    return root, records


def help_root(path):
    for cand in (os.path.join(path, HELP), path):
        if all(os.path.isdir(os.path.join(cand, d)) for d in LANG_DIRS.values()):
            return cand
    sys.exit("error: no %s/{vi,en-US} under %s" % (HELP, path))


# ---------------------------------------------------------------- text

class Visible(html.parser.HTMLParser):
    """Visible text of an HTML fragment, with switchinline resolved to its
    default branch; notes switches that have none."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.stack = []   # (tag, hidden, is_switch)
        self.switches = []  # one flag per open switchinline: default seen
        self.bad_switch = False

    def hidden(self):
        return any(h for _, h, _ in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        is_switch = "switchinline" in (a.get("class") or "").split()
        hidden = False
        if "hidden" in a:
            default = (a.get("id") or "").startswith("default")
            hidden = not default
            if default and self.switches:
                self.switches[-1] = True
        self.stack.append((tag, hidden, is_switch))
        if is_switch:
            self.switches.append(False)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # pop to the matching open tag (the pages are well formed)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, _, is_switch in self.stack[i:]:
                    if is_switch:
                        if not self.switches.pop():
                            self.bad_switch = True
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self.hidden():
            self.out.append(data)

    def text(self):
        self.close()
        while self.switches:
            if not self.switches.pop():
                self.bad_switch = True
        return " ".join("".join(self.out).split())


def visible_text(inner):
    """(text, None) or (None, reason)."""
    if STRUCTURED.search(inner):
        return None, "structured"
    p = Visible()
    p.feed(inner)
    text = unicodedata.normalize("NFC", p.text())
    if p.bad_switch:
        return None, "structured"
    if not text:
        return None, "empty"
    return text, None


def copied_english(vi, en):
    """A run of COPIED_RUN alphabetic words of the English, with two or
    more function words, found in the Vietnamese; or None."""
    ew = re.findall(r"\w+", en.lower())
    runs = {tuple(ew[i:i + COPIED_RUN]) for i in range(len(ew) - COPIED_RUN + 1)}
    vw = re.findall(r"\w+", vi.lower())
    for i in range(len(vw) - COPIED_RUN + 1):
        run = tuple(vw[i:i + COPIED_RUN])
        if run in runs and all(re.fullmatch("[a-z]+", w) for w in run) \
                and sum(w in FUNCTION_WORDS for w in run) >= 2:
            return " ".join(run)
    return None


def paragraphs(lang_dir):
    """{(page, id, n): (inner html)} of every page under lang_dir/text."""
    out = {}
    pages = sorted(glob.glob(os.path.join(lang_dir, "text", "**", "*.html"), recursive=True))
    for path in pages:
        page = os.path.relpath(path, lang_dir).replace(os.sep, "/")
        with open(path, encoding="utf-8") as f:
            doc = f.read()
        seen = {}
        for m in PARA.finditer(doc):
            pid = m.group(2)
            n = seen.get(pid, 0)
            seen[pid] = n + 1
            out[(page, pid, n)] = m.group(3)
    return out, len(pages)


# ---------------------------------------------------------------- main

def build(root, min_words, max_words):
    """(pairs [(vi, en, key)], counts)."""
    base = help_root(root)
    paras, pages = {}, {}
    for lang, d in LANG_DIRS.items():
        paras[lang], pages[lang] = paragraphs(os.path.join(base, d))
    keys = sorted(set(paras["vi"]) & set(paras["en"]))
    counts = {
        "pages_vi": pages["vi"], "pages_en": pages["en"],
        "paragraphs_vi": len(paras["vi"]), "paragraphs_en": len(paras["en"]),
        "aligned": len(keys),
        "vi_not_nfc": 0,
    }
    drop = {"structured": 0, "empty": 0, "untranslated": 0, "partly_untranslated": 0,
            "leftover": 0, "words": 0, "ratio": 0, "duplicate_en": 0, "duplicate_vi": 0}
    after = {}
    seen_en, seen_vi, pairs = set(), set(), []
    for key in keys:
        raw_vi = paras["vi"][key]
        if unicodedata.normalize("NFC", raw_vi) != raw_vi:
            counts["vi_not_nfc"] += 1
        en, why_en = visible_text(paras["en"][key])
        vi, why_vi = visible_text(raw_vi)
        why = why_en or why_vi
        if why:
            drop[why] += 1
            continue
        after["plain"] = after.get("plain", 0) + 1
        if vi.lower() == en.lower() or not VI_LETTERS.search(vi):
            drop["untranslated"] += 1
            continue
        if copied_english(vi, en):
            drop["partly_untranslated"] += 1
            continue
        after["translated"] = after.get("translated", 0) + 1
        if LEFTOVER.search(en) or LEFTOVER.search(vi):
            drop["leftover"] += 1
            continue
        after["clean"] = after.get("clean", 0) + 1
        if not min_words <= len(en.split()) <= max_words:
            drop["words"] += 1
            continue
        after["words"] = after.get("words", 0) + 1
        if not RATIO[0] <= len(vi) / len(en) <= RATIO[1]:
            drop["ratio"] += 1
            continue
        after["ratio"] = after.get("ratio", 0) + 1
        if en.lower() in seen_en:
            drop["duplicate_en"] += 1
            continue
        if vi.lower() in seen_vi:
            drop["duplicate_vi"] += 1
            continue
        seen_en.add(en.lower())
        seen_vi.add(vi.lower())
        pairs.append((vi, en, key))
    counts["dropped"] = drop
    counts["after"] = {k: after.get(k, 0) for k in ("plain", "translated", "clean", "words", "ratio")}
    counts["after"]["unique"] = len(pairs)
    return pairs, counts


def write(path, rows):
    text = "".join("%s\t%s\n" % (vi, en) for vi, en, _ in rows)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return {"path": path, "pairs": len(rows),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def main():
    home = os.environ.get("DICH_HOME") or os.path.expanduser("~/.cache/dich")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(home, "eval"))
    ap.add_argument("--per-split", type=int, default=300)
    ap.add_argument("--min-words", type=int, default=8)
    ap.add_argument("--max-words", type=int, default=60)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--debs", help="folder with already downloaded "
                     + " and ".join(PACKAGES.values()) + " .deb files")
    src.add_argument("--from", dest="from_path",
                     help="an already unpacked tree (holding %s/vi and en-US)" % HELP)
    args = ap.parse_args()

    if args.from_path:
        source = {"from": os.path.abspath(args.from_path)}
        pairs, counts = build(args.from_path, args.min_words, args.max_words)
    else:
        with tempfile.TemporaryDirectory() as work:
            root, records = fetch(work, args.debs)
            source = {"packages": records}
            pairs, counts = build(root, args.min_words, args.max_words)

    splits = {"dev": [], "test": []}
    for vi, en, key in pairs:
        h = hashlib.sha256(en.encode("utf-8")).hexdigest()
        order = hashlib.sha256(("order:" + en).encode("utf-8")).hexdigest()
        splits["dev" if int(h[-1], 16) % 2 == 0 else "test"].append((order, vi, en, key))
    os.makedirs(args.out, exist_ok=True)
    manifest = dict(source)
    manifest.update({
        "min_words": args.min_words, "max_words": args.max_words,
        "per_split": args.per_split, "rules": RULES, "counts": counts,
        "pool": len(pairs), "splits": {}, "all": {},
    })
    for split, rows in splits.items():
        rows = [(vi, en, key) for _, vi, en, key in sorted(rows)]
        manifest["all"][split] = write(os.path.join(args.out, "lo-all-%s.tsv" % split), rows)
        manifest["splits"][split] = write(os.path.join(args.out, "lo-%s.tsv" % split),
                                          rows[:args.per_split])
        log("%s: %d pairs, %d in lo-%s.tsv" % (split, len(rows),
                                               min(len(rows), args.per_split), split))
        if len(rows) < args.per_split:
            log("warning: only %d %s pairs (asked for %d)" % (len(rows), split, args.per_split))
    with open(os.path.join(args.out, "lo-manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(json.dumps({s: manifest["splits"][s]["path"] for s in splits}))


if __name__ == "__main__":
    main()
