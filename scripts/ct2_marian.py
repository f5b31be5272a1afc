#!/usr/bin/env python3
"""CTranslate2 side of the dich-vs-CTranslate2 Marian speed comparison.

Runs in a virtualenv with ctranslate2==4.8.5, numpy and pyyaml
(scripts/compare-ct2.sh sets one up in $DICH_HOME/venv-ct2).

    ct2_marian.py convert HF_DIR CT2_DIR
    ct2_marian.py check   HF_DIR CT2_DIR [--sentences 8] [--max-len 48] [--json]
    ct2_marian.py bench   CT2_DIR --batch B --src-len S --new-tokens N
                          --compute-type float32|int8 --threads T --rounds R [--json]

convert: a Hugging Face Marian checkpoint (config.json, model.safetensors,
  vocab.json; e.g. from scripts/marian_random.py) to a CTranslate2 model.
  CTranslate2's TransformersConverter needs torch and transformers, so this goes
  the way of the original Marian files instead: the safetensors tensors are
  written back as a Marian model.npz (+ vocab.yml, decoder.yml, the
  `special:model.yml` options of an opus-mt model) and handed to
  ctranslate2.converters.OpusMTConverter. Like TransformersConverter does for
  MarianMTModel, the `<pad>` row (last id) is left out of the vocabulary, the
  embedding and the logit bias: CTranslate2 starts the decoder from a zero
  embedding (`start_from_zero_embedding`), which is what `<pad>`'s all-zero
  row gives in transformers, and `<pad>` can then never be generated (what
  transformers gets from `bad_words_ids`). All other ids keep vocab.json's order.

check: greedy decoding of random source sentences with a numpy re-implementation
  of transformers' MarianMTModel forward (float64), against CTranslate2's
  float32 and int8 greedy output on the same ids; exits 1 if float32 differs.

bench: generated tokens/s of greedy decoding, every output exactly N tokens
  (min_decoding_length = max_decoding_length = N), batch B of random S-token
  sources (+ `</s>`, which CTranslate2 appends itself), intra_threads T,
  inter_threads 1; one warm-up, R timed rounds, median. One JSON line.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the numpy reference: keep it to one core

import numpy as np


# --------------------------------------------------------------------------
# Hugging Face checkpoint

def load_safetensors(path):
    """name -> float32 array (read-only views of one mmap), numpy only."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = int.from_bytes(raw[:8].tobytes(), "little")
    header = json.loads(raw[8:8 + n].tobytes())
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit("%s: %s is %s, only F32 is handled" % (path, name, info["dtype"]))
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype="<f4").reshape(info["shape"])
    return out


class HfMarian:
    def __init__(self, hf_dir):
        hf_dir = Path(hf_dir)
        self.dir = hf_dir
        self.config = json.loads((hf_dir / "config.json").read_text())
        self.w = load_safetensors(hf_dir / "model.safetensors")
        vocab = json.loads((hf_dir / "vocab.json").read_text(encoding="utf-8"))
        self.pieces = [None] * len(vocab)
        for piece, i in vocab.items():
            self.pieces[i] = piece
        if None in self.pieces:
            raise SystemExit("%s/vocab.json: ids are not 0..%d" % (hf_dir, len(vocab) - 1))
        self.ids = vocab
        c = self.config
        self.pad = c["pad_token_id"]
        self.eos = c["eos_token_id"]
        self.start = c["decoder_start_token_id"]
        self.d = c["d_model"]
        if c.get("normalize_before") or not c.get("scale_embedding", False) \
                or c.get("activation_function") != "swish":
            raise SystemExit("%s: only post-norm, scaled-embedding, swish Marian models" % hf_dir)


# --------------------------------------------------------------------------
# convert

def _vocab_yml(pieces):
    lines = []
    for i, p in enumerate(pieces):
        q = p.replace("\\", "\\\\").replace('"', '\\"')
        lines.append('"%s": %d' % (q, i))
    return "\n".join(lines) + "\n"


def marian_npz(m):
    """The tensors and options of the Marian model that transformers'
    convert_marian_to_pytorch would have turned into this checkpoint."""
    c, w = m.config, m.w
    v = c["vocab_size"]
    if m.pad != v - 1 or m.start != m.pad:
        raise SystemExit("expected <pad> = decoder_start = vocab_size-1 (opus-mt layout)")
    shared = w["model.shared.weight"]
    if np.any(shared[m.pad] != 0):
        print("warning: the <pad> embedding row is not zero; CTranslate2 starts from a zero "
              "embedding, transformers from this row, the outputs will differ", file=sys.stderr)
    out = {
        "Wemb": np.ascontiguousarray(shared[:-1]),
        "decoder_ff_logit_out_b": np.ascontiguousarray(w["final_logits_bias"][:, :-1]),
    }
    pos_e = w.get("model.encoder.embed_positions.weight")
    pos_d = w.get("model.decoder.embed_positions.weight")
    if pos_e is not None:
        if pos_d is not None and not np.array_equal(pos_e, pos_d):
            raise SystemExit("encoder and decoder position tables differ")
        out["Wpos"] = np.ascontiguousarray(pos_e)

    def lin(dst, src):  # torch [out, in] -> Marian [in, out], bias [1, out]
        out[dst[0]] = np.ascontiguousarray(w[src + ".weight"].T)
        out[dst[1]] = w[src + ".bias"][None, :].copy()

    def ln(dst, src):
        out[dst + "_ln_scale"] = w[src + ".weight"][None, :].copy()
        out[dst + "_ln_bias"] = w[src + ".bias"][None, :].copy()

    def attn(mar, hf):
        for p, proj in (("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj"), ("o", "out_proj")):
            lin((mar + "_W" + p, mar + "_b" + p), hf + "." + proj)

    def ffn(mar, hf):
        lin((mar + "_W1", mar + "_b1"), hf + ".fc1")
        lin((mar + "_W2", mar + "_b2"), hf + ".fc2")
        ln(mar + "_ffn", hf + ".final_layer_norm")

    for i in range(c["encoder_layers"]):
        hf, mar = "model.encoder.layers.%d" % i, "encoder_l%d" % (i + 1)
        attn(mar + "_self", hf + ".self_attn")
        ln(mar + "_self_Wo", hf + ".self_attn_layer_norm")
        ffn(mar + "_ffn", hf)
    for i in range(c["decoder_layers"]):
        hf, mar = "model.decoder.layers.%d" % i, "decoder_l%d" % (i + 1)
        attn(mar + "_self", hf + ".self_attn")
        ln(mar + "_self_Wo", hf + ".self_attn_layer_norm")
        attn(mar + "_context", hf + ".encoder_attn")
        ln(mar + "_context_Wo", hf + ".encoder_attn_layer_norm")
        ffn(mar + "_ffn", hf)

    if c["encoder_attention_heads"] != c["decoder_attention_heads"] \
            or c["encoder_ffn_dim"] != c["decoder_ffn_dim"]:
        raise SystemExit("CTranslate2's Marian converter takes one head count and one ffn size")
    # The options of an opus-mt model.yml that the converter reads, plus the
    # usual companions, as Marian writes them.
    options = {
        "type": "transformer",
        "dim-vocabs": [v - 1, v - 1],
        "dim-emb": c["d_model"],
        "enc-depth": c["encoder_layers"],
        "dec-depth": c["decoder_layers"],
        "transformer-heads": c["encoder_attention_heads"],
        "transformer-dim-ffn": c["encoder_ffn_dim"],
        "transformer-ffn-depth": 2,
        "transformer-ffn-activation": "swish",
        "transformer-preprocess": "",
        "transformer-postprocess": "dan",
        "transformer-postprocess-emb": "d",
        "transformer-postprocess-top": "",
        "transformer-decoder-autoreg": "self-attention",
        "transformer-no-projection": False,
        "transformer-tied-layers": [],
        "transformer-guided-alignment-layer": "last",
        "transformer-train-position-embeddings": False,
        "tied-embeddings": False,
        "tied-embeddings-src": False,
        "tied-embeddings-all": True,
        "right-left": False,
        "version": "v1.7.6 (dich random weights)",
    }
    import yaml
    text = yaml.safe_dump(options, default_flow_style=False, sort_keys=True).encode("utf-8")
    out["special:model.yml"] = np.frombuffer(text + b"\0", dtype=np.int8).copy()
    return out


def cmd_convert(args):
    from ctranslate2.converters import OpusMTConverter
    import yaml

    m = HfMarian(args.hf_dir)
    with tempfile.TemporaryDirectory(prefix="marian-npz-") as tmp:
        tmp = Path(tmp)
        np.savez(tmp / "model.npz", **marian_npz(m))
        (tmp / "vocab.yml").write_text(_vocab_yml(m.pieces[:-1]), encoding="utf-8")
        (tmp / "decoder.yml").write_text(yaml.safe_dump({
            "models": ["model.npz"], "vocabs": ["vocab.yml", "vocab.yml"],
            "beam-size": 4, "normalize": 1, "word-penalty": 0, "mini-batch": 16,
            "maxi-batch": 100, "maxi-batch-sort": "src"}))
        if args.keep_marian:
            keep = Path(args.keep_marian)
            keep.mkdir(parents=True, exist_ok=True)
            for f in tmp.iterdir():
                (keep / f.name).write_bytes(f.read_bytes())
        out = OpusMTConverter(str(tmp)).convert(args.ct2_dir, force=True)
    cfg = json.loads((Path(out) / "config.json").read_text())
    vocab = (Path(out) / "shared_vocabulary.json")
    n_vocab = len(json.loads(vocab.read_text(encoding="utf-8"))) if vocab.exists() else None
    print("%s: CTranslate2 model, %s tokens in the vocabulary (vocab.json less <pad>), config %s"
          % (out, n_vocab, json.dumps(cfg, sort_keys=True)), file=sys.stderr)


# --------------------------------------------------------------------------
# numpy reference of transformers' MarianMTModel

def _ln(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _swish(x):
    return x / (1.0 + np.exp(-x))


class NumpyMarian:
    """transformers' MarianMTModel at inference (no dropout), float64,
    one sentence at a time (no padding)."""

    def __init__(self, m):
        self.m = m
        c = m.config
        self.heads_e = c["encoder_attention_heads"]
        self.heads_d = c["decoder_attention_heads"]
        self.w = {k: v.astype(np.float64) for k, v in m.w.items()}
        self.scale = np.sqrt(c["d_model"]) if c.get("scale_embedding") else 1.0
        self.c = c

    def _lin(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _attn(self, x, kv, name, heads, causal):
        t, d = x.shape
        s = kv.shape[0]
        hd = d // heads
        q = self._lin(x, name + ".q_proj") * hd ** -0.5
        k = self._lin(kv, name + ".k_proj")
        v = self._lin(kv, name + ".v_proj")
        q = q.reshape(t, heads, hd).transpose(1, 0, 2)
        k = k.reshape(s, heads, hd).transpose(1, 0, 2)
        v = v.reshape(s, heads, hd).transpose(1, 0, 2)
        sc = q @ k.transpose(0, 2, 1)
        if causal:
            sc = sc + np.triu(np.full((t, s), -np.inf), 1)
        sc = sc - sc.max(-1, keepdims=True)
        p = np.exp(sc)
        p /= p.sum(-1, keepdims=True)
        o = (p @ v).transpose(1, 0, 2).reshape(t, d)
        return self._lin(o, name + ".out_proj")

    def _embed(self, ids, which):
        pos = self.w["model.%s.embed_positions.weight" % which]
        return self.w["model.shared.weight"][ids] * self.scale + pos[:len(ids)]

    def encode(self, ids):
        x = self._embed(ids, "encoder")
        for i in range(self.c["encoder_layers"]):
            p = "model.encoder.layers.%d" % i
            x = _ln(x + self._attn(x, x, p + ".self_attn", self.heads_e, False),
                    self.w[p + ".self_attn_layer_norm.weight"], self.w[p + ".self_attn_layer_norm.bias"])
            h = self._lin(_swish(self._lin(x, p + ".fc1")), p + ".fc2")
            x = _ln(x + h, self.w[p + ".final_layer_norm.weight"], self.w[p + ".final_layer_norm.bias"])
        return x

    def logits(self, enc, dec_ids):
        """Logits of the last position (the whole prefix recomputed: no cache)."""
        y = self._embed(dec_ids, "decoder")
        for i in range(self.c["decoder_layers"]):
            p = "model.decoder.layers.%d" % i
            y = _ln(y + self._attn(y, y, p + ".self_attn", self.heads_d, True),
                    self.w[p + ".self_attn_layer_norm.weight"], self.w[p + ".self_attn_layer_norm.bias"])
            y = _ln(y + self._attn(y, enc, p + ".encoder_attn", self.heads_d, False),
                    self.w[p + ".encoder_attn_layer_norm.weight"], self.w[p + ".encoder_attn_layer_norm.bias"])
            h = self._lin(_swish(self._lin(y, p + ".fc1")), p + ".fc2")
            y = _ln(y + h, self.w[p + ".final_layer_norm.weight"], self.w[p + ".final_layer_norm.bias"])
        return y[-1] @ self.w["model.shared.weight"].T + self.w["final_logits_bias"][0]

    def _step(self, cache, enc, token, pos):
        """Logits after one more decoder token at `pos`, self-attention keys
        and values of the earlier positions kept in `cache` (what generate()
        does with past_key_values)."""
        y = self.w["model.shared.weight"][token][None, :] * self.scale \
            + self.w["model.decoder.embed_positions.weight"][pos][None, :]
        for i in range(self.c["decoder_layers"]):
            p = "model.decoder.layers.%d" % i
            kv = cache.setdefault(i, {"k": [], "v": [],
                                      "ck": self._lin(enc, p + ".encoder_attn.k_proj"),
                                      "cv": self._lin(enc, p + ".encoder_attn.v_proj")})
            kv["k"].append(self._lin(y, p + ".self_attn.k_proj"))
            kv["v"].append(self._lin(y, p + ".self_attn.v_proj"))
            h = self._attn_kv(y, np.concatenate(kv["k"]), np.concatenate(kv["v"]),
                              p + ".self_attn", self.heads_d)
            y = _ln(y + h, self.w[p + ".self_attn_layer_norm.weight"], self.w[p + ".self_attn_layer_norm.bias"])
            h = self._attn_kv(y, kv["ck"], kv["cv"], p + ".encoder_attn", self.heads_d)
            y = _ln(y + h, self.w[p + ".encoder_attn_layer_norm.weight"], self.w[p + ".encoder_attn_layer_norm.bias"])
            h = self._lin(_swish(self._lin(y, p + ".fc1")), p + ".fc2")
            y = _ln(y + h, self.w[p + ".final_layer_norm.weight"], self.w[p + ".final_layer_norm.bias"])
        return y[0] @ self.w["model.shared.weight"].T + self.w["final_logits_bias"][0]

    def _attn_kv(self, x, k, v, name, heads):
        t, d = x.shape
        s = k.shape[0]
        hd = d // heads
        q = (self._lin(x, name + ".q_proj") * hd ** -0.5).reshape(t, heads, hd).transpose(1, 0, 2)
        k = k.reshape(s, heads, hd).transpose(1, 0, 2)
        v = v.reshape(s, heads, hd).transpose(1, 0, 2)
        sc = q @ k.transpose(0, 2, 1)
        sc = sc - sc.max(-1, keepdims=True)
        pr = np.exp(sc)
        pr /= pr.sum(-1, keepdims=True)
        return self._lin((pr @ v).transpose(1, 0, 2).reshape(t, d), name + ".out_proj")

    def greedy(self, src_ids, max_new, verify_steps=0):
        """generate(num_beams=1) with bad_words_ids=[[pad]]: source ids + </s>,
        decoder from decoder_start_token_id, stop at </s> (not returned).
        Also returns the smallest top-1 / top-2 logit margin seen. The first
        `verify_steps` steps are also computed without the cache (the whole
        prefix under a causal mask) and must agree."""
        m = self.m
        enc = self.encode(list(src_ids) + [m.eos])
        dec = [m.start]
        cache = {}
        out, margin = [], np.inf
        for step in range(max_new):
            lg = self._step(cache, enc, dec[-1], len(dec) - 1)
            if step < verify_steps:
                full = self.logits(enc, dec)
                err = float(np.max(np.abs(full - lg)))
                if err > 1e-8:
                    raise SystemExit("numpy reference: cached and uncached logits differ by %g" % err)
            lg[m.pad] = -np.inf
            top2 = np.partition(lg, -2)[-2:]
            margin = min(margin, float(top2[1] - top2[0]))
            nxt = int(np.argmax(lg))
            if nxt == m.eos:
                break
            out.append(nxt)
            dec.append(nxt)
        return out, margin


def random_sources(m, n, lengths, seed):
    """Random source ids, no specials (</s>, <unk>, <pad>)."""
    rng = np.random.default_rng(seed)
    v = m.config["vocab_size"]
    if isinstance(lengths, int):
        lengths = [lengths] * n
    return [[int(t) for t in rng.integers(2, v - 1, size=L)] for L in lengths]


def ct2_greedy(translator, m, sources, max_new, min_new=1):
    res = translator.translate_batch(
        [[m.pieces[t] for t in s] for s in sources], beam_size=1,
        max_decoding_length=max_new, min_decoding_length=min_new)
    return [[m.ids[p] for p in r.hypotheses[0]] for r in res]


def cmd_check(args):
    import ctranslate2

    m = HfMarian(args.hf_dir)
    ref = NumpyMarian(m)
    rng = np.random.default_rng(args.seed)
    lengths = [int(x) for x in rng.integers(3, args.max_src + 1, size=args.sentences)]
    sources = random_sources(m, args.sentences, lengths, args.seed)
    t0 = time.time()
    expected = [ref.greedy(s, args.max_len, verify_steps=6 if i == 0 else 0)
                for i, s in enumerate(sources)]
    t_ref = time.time() - t0
    report = {"hf_dir": str(args.hf_dir), "ct2_dir": str(args.ct2_dir), "sentences": len(sources),
              "source_lengths": lengths, "max_len": args.max_len,
              "numpy_seconds": round(t_ref, 1),
              "numpy_lengths": [len(e[0]) for e in expected],
              "numpy_min_margin": min(e[1] for e in expected),
              "numpy_distinct_tokens": [len(set(e[0])) for e in expected]}
    ok = True
    for ct in args.compute_types.split(","):
        tr = ctranslate2.Translator(str(args.ct2_dir), device="cpu", compute_type=ct,
                                    intra_threads=args.threads, inter_threads=1)
        got = ct2_greedy(tr, m, sources, args.max_len)
        same = [g == e[0] for g, e in zip(got, expected)]
        prefix = []
        for g, (e, _) in zip(got, expected):
            k = 0
            while k < min(len(g), len(e)) and g[k] == e[k]:
                k += 1
            prefix.append(k)
        report[ct] = {"identical": sum(same), "of": len(same),
                      "fraction_identical": sum(same) / len(same),
                      "common_prefix": prefix,
                      "token_agreement": sum(prefix) / max(1, sum(len(e[0]) for e in expected))}
        if ct != "float32":
            # One wrong pick makes two greedy outputs part for good; so also:
            # given the reference's own prefix, how often is the next token the same?
            hit = total = 0
            for k in range(args.max_len):
                idx = [i for i, (e, _) in enumerate(expected) if len(e) > k]
                if not idx:
                    break
                res = tr.translate_batch(
                    [[m.pieces[t] for t in sources[i]] for i in idx],
                    target_prefix=[[m.pieces[t] for t in expected[i][0][:k]] for i in idx],
                    beam_size=1, max_decoding_length=k + 1, min_decoding_length=k + 1)
                for i, r in zip(idx, res):
                    hyp = r.hypotheses[0]
                    total += 1
                    hit += len(hyp) > k and m.ids[hyp[k]] == expected[i][0][k]
            report[ct]["next_token_agreement_teacher_forced"] = hit / max(1, total)
        if ct == "float32" and not all(same):
            ok = False
            for i, (g, (e, _)) in enumerate(zip(got, expected)):
                if g != e:
                    print("sentence %d differs at %d:\n  numpy %s\n  ct2   %s" %
                          (i, prefix[i], e, g), file=sys.stderr)
        del tr
    report["float32_agrees"] = ok
    print(json.dumps(report) if args.json else json.dumps(report, indent=1))
    sys.exit(0 if ok else 1)


# --------------------------------------------------------------------------
# bench

def _cpu_busy():
    """(busy jiffies, all jiffies, clock ticks per second) from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4], sum(v), os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError):
        return None


def _own_cpu():
    t = os.times()
    return t.user + t.system


def cmd_bench(args):
    import ctranslate2

    ct2_dir = Path(args.ct2_dir)
    vocab = json.loads((ct2_dir / "shared_vocabulary.json").read_text(encoding="utf-8"))
    specials = {"</s>", "<unk>", "<s>", "<pad>"}
    pool = [i for i, p in enumerate(vocab) if p not in specials]
    rng = np.random.default_rng(args.seed)
    sources = [[vocab[pool[j]] for j in rng.integers(0, len(pool), size=args.src_len)]
               for _ in range(args.batch)]
    tr = ctranslate2.Translator(str(ct2_dir), device="cpu", compute_type=args.compute_type,
                                intra_threads=args.threads, inter_threads=1)

    def once():
        t = time.perf_counter()
        res = tr.translate_batch(sources, beam_size=1, max_decoding_length=args.new_tokens,
                                 min_decoding_length=args.new_tokens)
        dt = time.perf_counter() - t
        lens = [len(r.hypotheses[0]) for r in res]
        if any(n != args.new_tokens for n in lens):
            raise SystemExit("expected %d tokens per output, got %s" % (args.new_tokens, lens))
        return dt

    once()  # warm-up
    cpu0, own0 = _cpu_busy(), _own_cpu()
    times = [once() for _ in range(args.rounds)]
    cpu1, own1 = _cpu_busy(), _own_cpu()
    # CPU time other processes took while we measured, as a fraction of all
    # cores: anything but ~0 means the numbers are disturbed.
    others = None
    if cpu0 and cpu1:
        total = cpu1[1] - cpu0[1]
        others = max(0.0, ((cpu1[0] - cpu0[0]) - (own1 - own0) * cpu1[2]) / total) if total else None
    med = statistics.median(times)
    gen = args.batch * args.new_tokens
    src = args.batch * (args.src_len + 1)
    out = {"engine": "ctranslate2", "version": ctranslate2.__version__,
           "compute_type": args.compute_type, "threads": args.threads,
           "batch": args.batch, "src_len": args.src_len, "source_tokens": src,
           "new_tokens": args.new_tokens, "generated_tokens": gen, "rounds": args.rounds,
           "seconds": [round(t, 4) for t in times], "seconds_median": round(med, 4),
           "tokens_per_s": round(gen / med, 2),
           "source_tokens_per_s": round(src / med, 2),
           "others_cpu": None if others is None else round(others, 3)}
    if args.json:
        print(json.dumps(out))
    else:
        print("ct2 %s, %d threads, batch %d, %d+1 source tokens, %d new: %.1f generated tokens/s "
              "(median of %d, %.3f s; other processes %s of the CPUs)"
              % (args.compute_type, args.threads, args.batch, args.src_len, args.new_tokens,
                 out["tokens_per_s"], args.rounds, med,
                 "?" if others is None else "%.0f%%" % (100 * others)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="HF Marian checkpoint -> CTranslate2 model (via Marian npz)")
    c.add_argument("hf_dir")
    c.add_argument("ct2_dir")
    c.add_argument("--keep-marian", metavar="DIR", help="also keep the intermediate Marian files here")
    k = sub.add_parser("check", help="numpy MarianMTModel greedy vs CTranslate2 greedy")
    k.add_argument("hf_dir")
    k.add_argument("ct2_dir")
    k.add_argument("--sentences", type=int, default=8)
    k.add_argument("--max-src", type=int, default=24, help="source lengths drawn from 3..MAX_SRC")
    k.add_argument("--max-len", type=int, default=48, help="greedy steps at most")
    k.add_argument("--compute-types", default="float32,int8")
    k.add_argument("--threads", type=int, default=1)
    k.add_argument("--seed", type=int, default=1)
    k.add_argument("--json", action="store_true")
    b = sub.add_parser("bench", help="generated tokens/s")
    b.add_argument("ct2_dir")
    b.add_argument("--batch", type=int, default=1)
    b.add_argument("--src-len", type=int, default=32)
    b.add_argument("--new-tokens", type=int, default=64)
    b.add_argument("--compute-type", default="float32", choices=["float32", "int8", "int8_float32"])
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--seed", type=int, default=7)
    b.add_argument("--json", action="store_true")
    args = ap.parse_args()
    {"convert": cmd_convert, "check": cmd_check, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
