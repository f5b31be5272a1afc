#!/usr/bin/env python3
"""Vietnamese -> English evaluation pairs from registry packages.

    python3 scripts/build-evalset.py [--out DIR] [--per-split 300]

Sources (all public registry packages, fetched here, not committed):
- Debian's gettext catalogs: `apt-get download` of the packages listed in
  PACKAGES (their `usr/share/locale/vi/LC_MESSAGES/*.mo`), falling back to
  this machine's /usr/share/locale when apt cannot fetch;
- the PyPI wheel jupyterlab-language-pack-vi-vn==4.5.post3 (JSON catalogs).

Every catalog entry is English msgid -> Vietnamese msgstr. Kept: plain
sentences and phrases of 3 to 30 English words with no format placeholders,
markup, mnemonics or command-line syntax, whose Vietnamese side differs from
the English and carries Vietnamese letters; duplicates (either side) dropped.
The pairs are split into dev and test by a hash of the English text (so the
split never depends on the order or the set of packages fetched), at most
MAX_PER_CATALOG pairs of one catalog per split, and written as
`source<TAB>reference` (Vietnamese, English):

    DIR/ui-dev.tsv  DIR/ui-test.tsv  DIR/manifest.json

DIR defaults to $DICH_HOME/eval (or ~/.cache/dich/eval). This is software
UI text, not news: a score on it is not the quality of news translation.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile

PACKAGES = [
    "adduser", "apt", "bash", "coreutils", "diffutils", "dpkg", "findutils",
    "gettext", "gettext-base", "git", "grep", "gsettings-desktop-schemas",
    "iso-codes", "libapt-pkg6.0", "libc-l10n", "libgdk-pixbuf2.0-common",
    "libglib2.0-data", "libgnutls30", "libgstreamer1.0-0", "libgtk-3-common",
    "libgtk2.0-common", "libpam-runtime", "login", "make", "man-db",
    "packagekit", "procps", "psmisc", "python-apt-common", "sed",
    "shared-mime-info", "software-properties-common", "tar", "wget",
    "xdg-user-dirs", "xkb-data", "xz-utils",
]
WHEEL = "jupyterlab-language-pack-vi-vn==4.5.post3"
MAX_PER_CATALOG = 40

VI_LETTERS = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]",
    re.IGNORECASE,
)
# printf/brace/shell placeholders, markup, mnemonics, options, paths
BAD = re.compile(r"%|\{|\}|<|>|\$|_|&|\\|\t|\n|--|^\s*-|/[a-z]|\|")


def log(msg):
    print(msg, file=sys.stderr)


def read_mo(data):
    """(msgid, msgstr) pairs of a GNU .mo file; plural entries give their
    first forms, context prefixes are dropped."""
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic == 0x950412DE else ">"
    _, n, orig, trans = struct.unpack(end + "4I", data[4:20])
    out = []
    for i in range(n):
        ol, oo = struct.unpack(end + "2I", data[orig + 8 * i: orig + 8 * i + 8])
        tl, to = struct.unpack(end + "2I", data[trans + 8 * i: trans + 8 * i + 8])
        msgid = data[oo: oo + ol].decode("utf-8", "replace")
        msgstr = data[to: to + tl].decode("utf-8", "replace")
        if not msgid:
            continue  # header
        msgid = msgid.split("\x04")[-1].split("\x00")[0]
        msgstr = msgstr.split("\x00")[0]
        out.append((msgid, msgstr))
    return out


def debian_catalogs(work):
    """{catalog name: bytes} from apt-get download, or the local system."""
    cats = {}
    debs = os.path.join(work, "debs")
    os.makedirs(debs)
    r = subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        log("apt-get download failed (%s); using this machine's /usr/share/locale"
            % r.stderr.strip().splitlines()[-1:])
        for path in sorted(glob.glob("/usr/share/locale/vi/LC_MESSAGES/*.mo")):
            cats["debian:" + os.path.basename(path)] = open(path, "rb").read()
        return cats, "local /usr/share/locale"
    versions = []
    for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        versions.append(os.path.basename(deb))
        root = os.path.join(work, "x", os.path.basename(deb))
        os.makedirs(root)
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        for path in sorted(glob.glob(root + "/usr/share/locale/vi/LC_MESSAGES/*.mo")):
            cats["debian:" + os.path.basename(path)] = open(path, "rb").read()
    return cats, versions


def wheel_pairs(work):
    d = os.path.join(work, "wheel")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", WHEEL, "-d", d], check=True)
    wheel = glob.glob(os.path.join(d, "*.whl"))[0]
    out = {}
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if "/LC_MESSAGES/" in name and name.endswith(".json"):
                cat = json.loads(z.read(name))
                pairs = []
                for en, vi in cat.items():
                    if isinstance(vi, list):
                        vi = vi[0] if vi else ""
                    if not isinstance(vi, str):
                        continue
                    pairs.append((en.split("\x04")[-1], vi))
                out["jupyterlab:" + os.path.basename(name)] = pairs
    return out


def keep(en, vi):
    en, vi = en.strip(), vi.strip()
    words = en.split()
    if not 3 <= len(words) <= 30 or len(en) > 240:
        return None
    if BAD.search(en) or BAD.search(vi) or not vi or vi == en:
        return None
    if not VI_LETTERS.search(vi) or not re.search("[A-Za-z]{2}", en):
        return None
    return en, vi


def main():
    home = os.environ.get("DICH_HOME") or os.path.expanduser("~/.cache/dich")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(home, "eval"))
    ap.add_argument("--per-split", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        cats, debian_source = debian_catalogs(work)
        catalogs = {name: read_mo(data) for name, data in cats.items()}
        catalogs.update(wheel_pairs(work))
    seen_en, seen_vi, pool = set(), set(), []
    for name in sorted(catalogs):
        for en, vi in catalogs[name]:
            k = keep(en, vi)
            if not k:
                continue
            en, vi = k
            if en.lower() in seen_en or vi.lower() in seen_vi:
                continue
            seen_en.add(en.lower())
            seen_vi.add(vi.lower())
            h = hashlib.sha256(en.encode()).hexdigest()
            pool.append((h, name, vi, en))
    pool.sort()
    splits = {"dev": [], "test": []}
    per_cat = {}
    for h, name, vi, en in pool:
        split = "dev" if int(h[-1], 16) % 2 == 0 else "test"
        if len(splits[split]) >= args.per_split:
            continue
        if per_cat.get((split, name), 0) >= MAX_PER_CATALOG:
            continue
        per_cat[(split, name)] = per_cat.get((split, name), 0) + 1
        splits[split].append((name, vi, en))
    os.makedirs(args.out, exist_ok=True)
    manifest = {"debian": debian_source, "wheel": WHEEL, "pool": len(pool), "splits": {}}
    for split, rows in splits.items():
        text = "".join("%s\t%s\n" % (vi, en) for _, vi, en in rows)
        path = os.path.join(args.out, "ui-%s.tsv" % split)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        cats_used = {}
        for name, _, _ in rows:
            cats_used[name] = cats_used.get(name, 0) + 1
        manifest["splits"][split] = {
            "path": path, "pairs": len(rows),
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "catalogs": cats_used,
        }
        log("%s: %d pairs from %d catalogs -> %s" % (split, len(rows), len(cats_used), path))
        if len(rows) < args.per_split:
            log("warning: only %d %s pairs (asked for %d)" % (len(rows), split, args.per_split))
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    print(json.dumps({s: manifest["splits"][s]["path"] for s in splits}))


if __name__ == "__main__":
    main()
