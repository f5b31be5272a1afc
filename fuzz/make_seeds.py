#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/.

Seeds come from real files where they exist (the cached GGUF models, with
their tokenizer arrays cut down and their tensors shrunk to one block each;
tests/fixtures; seeds/; models/catalog.toml) and are otherwise written here
(E5S1, safetensors, pytorch_model.bin, batch files). Every seed is kept under
64 KB. Run from anywhere: `python3 fuzz/make_seeds.py`. Models missing from
~/.cache/dich/models are skipped.
"""

import io
import json
import os
import struct
import sys
import zipfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"
MODELS = Path(os.environ.get("DICH_CACHE", Path.home() / ".cache/dich")) / "models"
MAX_SEED = 64 * 1024


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) >= MAX_SEED:
        print(f"skipped {target}/{name}: {len(data)} bytes", file=sys.stderr)
        return
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# ---------------------------------------------------------------- GGUF

# ggml type -> (block size, bytes per block)
GGML = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
        8: (32, 34), 9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144),
        13: (256, 176), 14: (256, 210), 15: (256, 292), 30: (1, 2)}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B",
          10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, f):
        self.f = f

    def unpack(self, fmt):
        n = struct.calcsize(fmt)
        return struct.unpack(fmt, self.f.read(n))[0]

    def string(self):
        return self.f.read(self.unpack("<Q"))

    def value(self, t):
        if t in SCALAR:
            return (t, self.unpack(SCALAR[t]))
        if t == 8:
            return (t, self.string())
        if t == 9:
            et = self.unpack("<I")
            n = self.unpack("<Q")
            return (t, (et, [self.value(et)[1] for _ in range(n)]))
        raise ValueError(f"value type {t}")


def read_gguf(path):
    with open(path, "rb") as f:
        r = Reader(f)
        assert f.read(4) == b"GGUF"
        version = r.unpack("<I")
        n_tensors = r.unpack("<Q")
        n_kv = r.unpack("<Q")
        md = []
        for _ in range(n_kv):
            k = r.string()
            t = r.unpack("<I")
            md.append((k, r.value(t)))
        tensors = []
        for _ in range(n_tensors):
            name = r.string()
            nd = r.unpack("<I")
            dims = [r.unpack("<Q") for _ in range(nd)]
            dtype = r.unpack("<I")
            off = r.unpack("<Q")
            tensors.append((name, dims, dtype, off))
        align = dict(md).get(b"general.alignment", (4, 32))[1]
        data_start = (f.tell() + align - 1) // align * align
        blobs = {}
        for name, dims, dtype, off in tensors:
            bs, ts = GGML[dtype]
            n = 1
            for d in dims:
                n *= d
            size = n // bs * ts
            f.seek(data_start + off)
            blobs[name] = f.read(min(size, 4096))
        return version, md, tensors, blobs


def w_string(b):
    return struct.pack("<Q", len(b)) + b


def w_value(t, v):
    if t in SCALAR:
        return struct.pack(SCALAR[t], v)
    if t == 8:
        return w_string(v)
    et, items = v
    return struct.pack("<IQ", et, len(items)) + b"".join(w_value(et, x) for x in items)


def write_gguf(md, tensors, align=32):
    """tensors: (name, dims, dtype, data bytes)."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(md)))
    for k, (t, v) in md:
        out += w_string(k) + struct.pack("<I", t) + w_value(t, v)
    off = 0
    offsets = []
    for name, dims, dtype, data in tensors:
        offsets.append(off)
        off += (len(data) + align - 1) // align * align
    for (name, dims, dtype, data), o in zip(tensors, offsets):
        out += w_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", dtype, o)
    out += b"\0" * ((-len(out)) % align)
    for (name, dims, dtype, data), o in zip(tensors, offsets):
        out += data + b"\0" * ((-len(data)) % align)
    return bytes(out)


def trim_tokenizer(md, keep):
    """Token arrays cut to the indices in `keep`; merges to those whose
    parts and result survive."""
    d = dict(md)
    tokens = d.get(b"tokenizer.ggml.tokens")
    if tokens is None:
        return md
    kept = set(tokens[1][1][i] for i in keep if i < len(tokens[1][1]))
    out = []
    for k, (t, v) in md:
        if t == 9 and k in (b"tokenizer.ggml.tokens", b"tokenizer.ggml.scores",
                            b"tokenizer.ggml.token_type"):
            et, items = v
            v = (et, [items[i] for i in keep if i < len(items)])
        elif t == 9 and k == b"tokenizer.ggml.merges":
            et, items = v
            ms = []
            for m in items:
                a, _, b = m.partition(b" ")
                if a in kept and b in kept and a + b in kept:
                    ms.append(m)
            v = (et, ms[:400])
        elif t == 9 and len(v[1]) > 64:
            v = (v[0], v[1][:64])
        elif k == b"tokenizer.chat_template" and len(v) > 4096:
            v = v[:4096]
        out.append((k, (t, v)))
    return out


def gguf_seeds():
    files = sorted(MODELS.glob("*/*.gguf"))
    if not files:
        print("no cached GGUF models: GGUF seeds are synthetic only", file=sys.stderr)
    for path in files:
        stem = path.parent.name
        version, md, tensors, blobs = read_gguf(path)
        n = len(dict(md).get(b"tokenizer.ggml.tokens", (9, (8, [])))[1][1])
        keep = list(range(min(n, 300)))
        if n > 20000:
            keep += list(range(10000, 10300))
        if n > 300:
            keep += list(range(n - 30, n))  # special tokens live at the end
        small = trim_tokenizer(md, keep)
        put("gguf_tokenizer", f"{stem}.gguf", write_gguf(small, []))
        # One tensor per dtype, cut to a single block row, plus the
        # smallest F32 tensor whole.
        picked = {}
        for name, dims, dtype, off in tensors:
            picked.setdefault(dtype, (name, dims, dtype))
        shrunk = []
        for name, dims, dtype in picked.values():
            bs, ts = GGML[dtype]
            shrunk.append((name, [bs], dtype, blobs[name][:ts]))
        f32 = [t for t in tensors if t[2] == 0]
        if f32:
            name, dims, dtype, off = min(f32, key=lambda t: t[1][0] if t[1] else 0)
            if name not in [s[0] for s in shrunk] and len(blobs[name]) < 4096:
                shrunk.append((name, dims, dtype, blobs[name]))
        tiny_md = trim_tokenizer(md, list(range(min(n, 40))))
        put("gguf_header", f"{stem}.gguf", write_gguf(tiny_md, shrunk))
    # Synthetic: no tensors; one F32 tensor; a truncated tensor; alignment.
    md = [(b"general.architecture", (8, b"qwen2")),
          (b"qwen2.block_count", (4, 2)),
          (b"qwen2.rope.freq_base", (6, 10000.0)),
          (b"general.alignment", (4, 64))]
    put("gguf_header", "synthetic-empty.gguf", write_gguf(md, []))
    one = [(b"output_norm.weight", [4], 0, struct.pack("<4f", 1, 2, 3, 4))]
    put("gguf_header", "synthetic-f32.gguf", write_gguf(md, one))
    put("gguf_header", "synthetic-truncated.gguf", write_gguf(md, one)[:-40])
    toks = [b"<unk>", b"<s>", b"</s>", "\u2581".encode(), b"a", b"b", "\u2581a".encode(), b"ab"]
    llama = [(b"tokenizer.ggml.model", (8, b"llama")),
             (b"tokenizer.ggml.tokens", (9, (8, toks))),
             (b"tokenizer.ggml.scores", (9, (6, [0.0, 0.0, 0.0, -1.0, -2.0, -2.0, -0.5, -0.7]))),
             (b"tokenizer.ggml.token_type", (9, (5, [2, 3, 3, 1, 1, 1, 1, 1]))),
             (b"tokenizer.ggml.unknown_token_id", (4, 0)),
             (b"tokenizer.ggml.add_space_prefix", (7, 1))]
    put("gguf_tokenizer", "synthetic-llama.gguf", write_gguf(llama, []))
    gtoks = [bytes([c]) for c in b"abc "] + [b"ab", b"abc", b"<|im_end|>"]
    gpt2 = [(b"tokenizer.ggml.model", (8, b"gpt2")),
            (b"tokenizer.ggml.pre", (8, b"qwen2")),
            (b"tokenizer.ggml.tokens", (9, (8, gtoks))),
            (b"tokenizer.ggml.merges", (9, (8, [b"a b", b"ab c"]))),
            (b"tokenizer.ggml.token_type", (9, (5, [1, 1, 1, 1, 1, 1, 3]))),
            (b"tokenizer.ggml.eos_token_id", (4, 6))]
    put("gguf_tokenizer", "synthetic-gpt2.gguf", write_gguf(gpt2, []))


# ---------------------------------------------------------------- E5S1

def q4_0_blocks(n_blocks):
    # f16 scale 0.0625 (0x2c00) then 16 bytes of nibbles.
    return (struct.pack("<H", 0x2C00) + bytes(range(16))) * n_blocks


def e5s1_seed():
    hidden, layers, heads, ffn, vocab, positions, type_vocab = 32, 1, 2, 32, 8, 4, 1
    out = bytearray(b"E5S1" + struct.pack("<I", 1))
    out += struct.pack("<7i", hidden, layers, heads, ffn, vocab, positions, type_vocab)
    out += struct.pack("<f", 1e-12) + struct.pack("<i", 32)
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581a", "b", "<mask>"]
    blob = b"".join(p.encode() for p in pieces)
    offs = [0]
    for p in pieces:
        offs.append(offs[-1] + len(p.encode()))
    out += struct.pack("<5i", len(pieces), 0, 2, 1, 3)
    out += struct.pack("<Q", len(blob))
    out += b"".join(struct.pack("<I", o) for o in offs)
    out += b"".join(struct.pack("<f", -float(i)) for i in range(len(pieces)))
    out += blob
    norm = [(0xFF21, [0x41]), (0xFB01, [0x66, 0x69]), (0x3000, [0x20])]
    nbuf = b"".join(struct.pack("<IB", k, len(v)) + b"".join(struct.pack("<I", c) for c in v)
                    for k, v in norm)
    out += struct.pack("<iI", len(norm), len(nbuf)) + nbuf
    names = [("emb.word", [vocab, hidden]), ("emb.pos", [positions, hidden]),
             ("emb.type", [type_vocab, hidden]), ("emb.ln.w", [hidden]), ("emb.ln.b", [hidden])]
    for l in range(layers):
        for short, shape in [("q.w", [hidden, hidden]), ("q.b", [hidden]),
                             ("k.w", [hidden, hidden]), ("k.b", [hidden]),
                             ("v.w", [hidden, hidden]), ("v.b", [hidden]),
                             ("ao.w", [hidden, hidden]), ("ao.b", [hidden]),
                             ("aln.w", [hidden]), ("aln.b", [hidden]),
                             ("fi.w", [ffn, hidden]), ("fi.b", [ffn]),
                             ("fo.w", [hidden, ffn]), ("fo.b", [hidden]),
                             ("oln.w", [hidden]), ("oln.b", [hidden])]:
            names.append((f"l{l}.{short}", shape))
    table = bytearray(struct.pack("<i", len(names)))
    entry_size = sum(2 + len(n) + 1 + 4 + 8 + 8 for n, _ in names)
    data = bytearray()
    base = len(out) + len(table) + entry_size
    for n, shape in names:
        elems = 1
        for d in shape:
            elems *= d
        if len(shape) == 2:
            dtype, raw = 1, q4_0_blocks(elems // 32)
        else:
            dtype, raw = 0, struct.pack(f"<{elems}f", *([0.5] * elems))
        table += struct.pack("<H", len(n)) + n.encode() + struct.pack("<BIQQ", dtype, elems,
                                                                      base + len(data), len(raw))
        data += raw
    out += table + data
    put("e5s1", "tiny.e5s1", bytes(out))
    put("e5s1", "header-only.e5s1", bytes(out[:48]))


# ---------------------------------------------------------------- checkpoints

def safetensors(tensors, meta=None):
    header, data = {}, bytearray()
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + bytes(data)


def checkpoint_seeds():
    f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("checkpoint_safetensors", "f32.safetensors",
        safetensors([("model.shared.weight", "F32", [2, 3], f32),
                     ("final_logits_bias", "F32", [1, 6], f32)], {"format": "pt"}))
    put("checkpoint_safetensors", "mixed.safetensors",
        safetensors([("a", "F16", [2, 2], struct.pack("<4H", 0x3C00, 0x4000, 0, 0x8000)),
                     ("b", "BF16", [4], struct.pack("<4H", 0x3F80, 0x4000, 0, 0x8000)),
                     ("c", "I64", [2], struct.pack("<2q", -1, 7)),
                     ("d", "U8", [3], b"\x01\x02\x03"),
                     ("e", "F64", [1], struct.pack("<d", 0.25))]))
    put("checkpoint_safetensors", "empty.safetensors", safetensors([]))
    # pytorch_model.bin: torch's zip layout, pickled by hand (no torch here).
    for name, tensors in [("f32", [("model.shared.weight", "FloatStorage", 4, [2, 3], f32)]),
                          ("two", [("final_logits_bias", "FloatStorage", 4, [1, 6], f32),
                                   ("a", "HalfStorage", 2, [2],
                                    struct.pack("<2H", 0x3C00, 0x4000))])]:
        put("checkpoint_pth", f"{name}.bin", torch_zip(tensors))


def torch_zip(tensors):
    """A `torch.save` zip of an OrderedDict name -> tensor, each tensor a
    `torch._utils._rebuild_tensor_v2` call on a persistent storage, with the
    pickle opcodes written out (no torch needed)."""
    def uni(s):
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    def ints(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"

    od = b"ccollections\nOrderedDict\n"
    pkl = bytearray(b"\x80\x02" + od + b")R(")
    files = {}
    for i, (name, kind, elem, shape, raw) in enumerate(tensors):
        stride, acc = [], 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
        pkl += uni(name) + b"ctorch._utils\n_rebuild_tensor_v2\n("
        pkl += b"(" + uni("storage") + f"ctorch\n{kind}\n".encode() + uni(str(i)) + uni("cpu")
        pkl += b"J" + struct.pack("<i", len(raw) // elem) + b"tQ"
        pkl += b"J" + struct.pack("<i", 0) + ints(shape) + ints(stride) + b"\x89" + od + b")R"
        pkl += b"tR"
        files[f"archive/data/{i}"] = raw
    pkl += b"u."
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", bytes(pkl))
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr("archive/version", b"3\n")
    return out.getvalue()


# ---------------------------------------------------------------- text and JSON

def text_seeds():
    for p in sorted((ROOT / "seeds").glob("*.txt")):
        put("segment", p.name, p.read_bytes())
    put("segment", "mixed.txt", "Ông Nguyễn Văn A. cho biết: \"Hà Nội đẹp lắm!\" Dr. Smith\r\n"
        "went to the U.S. Navy... Then   he left.\u2028\n\nTIÊU ĐỀ\n\ufeff  — Theo VnExpress\n")
    put("spm", "tiny.spm", (ROOT / "tests/fixtures/spm/tiny.spm").read_bytes())
    for p in sorted((ROOT / "tests/fixtures").glob("translation_*_seed.json")):
        put("summarize_json", p.name, p.read_bytes())
        doc = json.loads(p.read_text())
        doc["segments"] = doc["segments"][:3]
        put("summarize_json", "short-" + p.name, json.dumps(doc))
        put("summarize_json", "docs-" + p.name, json.dumps({"documents": [doc, doc]}))
    put("catalog", "catalog.toml", (ROOT / "models/catalog.toml").read_bytes())

    lines = [
        {"id": "a-1", "text": "Xin chào Hà Nội.", "lang": "vi", "meta": {"k": 1}},
        {"id": 2, "text": "Hello world. Second sentence."},
        {"id": 2, "text": "duplicate id"},
        {"id": "", "text": "bad id"},
        {"text": "no id"},
        {"id": "x", "text": "   "},
        {"id": "y", "text": "a\u0000b"},
        {"id": "z", "text": "x", "lang": "fr"},
        {"id": 1.5, "text": "float id"},
        [1, 2],
    ]
    jl = "\n".join(json.dumps(l, ensure_ascii=False) for l in lines) + "\n{bad json\n\r\n"
    put("batch_jsonl", "mixed.jsonl", jl.encode() + b'{"id":"u","text":"\xff\xfe"}\n')

    rec = lambda i, **kw: json.dumps({"id": i, "line": 1, **kw})
    out = "\n".join([rec("a", output="x"), rec("b", error={"kind": "failed", "message": "m"}),
                     json.dumps({"id": None, "line": 7, "error": {"kind": "missing-id"}})]) + "\n"
    part = rec("c", output="y") + "\n" + rec("a", output="x") + "\n" + '{"id":"d","li'
    for name, o, p in [("both", out, part), ("out-only", out, ""), ("part-only", "", part),
                       ("out-cut", out[:-5], ""), ("bad-middle", '{"id":1}\nnope\n{"id":2}\n', "")]:
        o, p = o.encode(), p.encode()
        put("journal", name, struct.pack("<H", len(o)) + o + p)

    manifest = {
        "dich_version": "0.1.0", "status": "running", "output": "out.jsonl",
        "input": {"path": "in.jsonl", "kind": "jsonl", "sha256": "0" * 64, "records": 3},
        "shard": None, "settings": {"command": "translate", "model": "m", "to": "en"},
        "options": {"max_chars": 100000},
        "counts": {"input": 3, "selected": 3, "written": 1, "ok": 1, "failed": 0},
        "started": "2026-01-01T00:00:00Z", "ended": None,
        "runs": [{"started": "2026-01-01T00:00:00Z", "ended": None, "host": "h",
                  "done_before": 0, "processed": 1, "failed": 0, "wall_s": 1.5, "documents": 1,
                  "documents_per_min": 40.0, "prompt_tokens": 10, "generated_tokens": 5,
                  "generated_tokens_per_s": 3.3, "decode_tokens_per_s": 4.0, "max_batch": 8,
                  "interrupted": "SIGTERM"}],
    }
    put("manifest", "running.json", json.dumps(manifest, indent=2))
    manifest["shard"] = {"index": 1, "count": 4}
    manifest["status"] = "complete"
    put("manifest", "shard.json", json.dumps(manifest))

    cfg = {"model_type": "marian", "vocab_size": 8, "d_model": 16, "encoder_layers": 1,
           "decoder_layers": 1, "encoder_attention_heads": 2, "decoder_attention_heads": 2,
           "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "max_position_embeddings": 64,
           "activation_function": "swish", "pad_token_id": 7, "eos_token_id": 0,
           "decoder_start_token_id": 7, "scale_embedding": True, "share_encoder_decoder_embeddings": True}
    put("marian_json", "config.json", b"\x00" + json.dumps(cfg).encode())
    vocab = {"</s>": 0, "<unk>": 1, "\u2581a": 2, "b": 3, "<pad>": 4}
    put("marian_json", "vocab.json", b"\x01" + json.dumps(vocab, ensure_ascii=False).encode())


def main():
    gguf_seeds()
    e5s1_seed()
    checkpoint_seeds()
    text_seeds()
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
