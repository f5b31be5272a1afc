#!/usr/bin/env python3
"""A random-weight Marian (OPUS-MT) checkpoint in the Hugging Face layout.

    python3 scripts/marian_random.py make DIR [--preset opus-mt-vi-en|tiny] [--seed N]

Writes into DIR what an `Helsinki-NLP/opus-mt-*` repository holds, with the
real file formats and random weights (the Hub is not reachable here):

  config.json             as transformers' MarianConfig writes it
  generation_config.json  greedy/beam defaults of the opus-mt repos
  model.safetensors       float32, tensor names of MarianMTModel's state dict
  vocab.json              piece -> id: `</s>` 0, `<unk>` 1, the pieces of
                          tests/fixtures/spm/tiny.spm, synthetic `▁w123`
                          pieces, `<pad>` last (= decoder_start_token_id)
  source.spm, target.spm  copies of tests/fixtures/spm/tiny.spm
  tokenizer_config.json   MarianTokenizer's

Needs numpy only: safetensors is written by hand (8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}}, raw data).

The `opus-mt-vi-en` preset has the shapes of Helsinki-NLP/opus-mt-vi-en
(d_model 512, 6+6 layers, 8 heads, ffn 2048, vocab 53,685 with `<pad>` =
53,684, as the en-vi/vi-en opus models have), ~290 MB. `tiny` is a 2+2 layer,
d_model 64, 1,000-piece model for tests (~0.5 MB).

As in real converted opus-mt checkpoints, the `<pad>` row of the shared
embedding and its final_logits_bias are zero (transformers' converter appends
`<pad>` as a zero row): decoding starts from pad's embedding, which is then
the zero vector that Marian itself starts from.

The weights are random but not degenerate (see GAIN below): greedy decoding
of the opus-mt-vi-en preset gives different tokens at each step and different
outputs for different sources, instead of one token repeated.
"""

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SPM = REPO / "tests" / "fixtures" / "spm" / "tiny.spm"

PRESETS = {
    "opus-mt-vi-en": dict(d_model=512, encoder_layers=6, decoder_layers=6, heads=8,
                          ffn=2048, vocab_size=53685, src_lang="vie", tgt_lang="eng"),
    "tiny": dict(d_model=64, encoder_layers=2, decoder_layers=2, heads=4,
                 ffn=128, vocab_size=1000, src_lang="vie", tgt_lang="eng"),
}
MAX_POS = 512
# Standard deviations, as multiples of 1/sqrt(fan_in) for weights. Found by
# trying (scripts/ct2_marian.py check prints the distinct tokens per output):
# plain 1/sqrt(fan_in) everywhere gives a model whose greedy output is one
# token repeated. Two things cause it: the sinusoids' near-constant low
# frequencies put one common direction into every hidden state (so a few
# "hub" tokens win everywhere), and the residual carries the input token's
# (tied) embedding to the logits (so a token predicts itself). Larger
# embeddings and ffn outputs, small self-attention outputs (attention averages,
# pulling positions together) and a centered ffn output fix both.
GAIN = {
    "embed": 3.0,        # model.shared: std 3/sqrt(d_model)
    "linear": 1.0,       # q, k, v projections, fc1
    "ffn_out": 4.0,      # fc2
    "self_out": 0.3,     # self_attn.out_proj
    "cross_out": 1.0,    # encoder_attn.out_proj
}
BIAS_STD = 0.02
LOGIT_BIAS_STD = 0.1
LN_GAIN_STD = 0.1
SWISH_MEAN = 0.20662096  # E[x sigmoid(x)] for x ~ N(0, 1): taken out of the ffn output


def marian_config(p):
    v = p["vocab_size"]
    pad = v - 1
    return {
        "_name_or_path": "dich/random-marian-%s" % p["name"],
        "activation_dropout": 0.0,
        "activation_function": "swish",
        "add_bias_logits": False,
        "add_final_layer_norm": False,
        "architectures": ["MarianMTModel"],
        "attention_dropout": 0.0,
        "bad_words_ids": [[pad]],
        "bos_token_id": 0,
        "classif_dropout": 0.0,
        "classifier_dropout": 0.0,
        "d_model": p["d_model"],
        "decoder_attention_heads": p["heads"],
        "decoder_ffn_dim": p["ffn"],
        "decoder_layerdrop": 0.0,
        "decoder_layers": p["decoder_layers"],
        "decoder_start_token_id": pad,
        "decoder_vocab_size": v,
        "dropout": 0.1,
        "encoder_attention_heads": p["heads"],
        "encoder_ffn_dim": p["ffn"],
        "encoder_layerdrop": 0.0,
        "encoder_layers": p["encoder_layers"],
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "max_length": 512,
        "max_position_embeddings": MAX_POS,
        "model_type": "marian",
        "normalize_before": False,
        "normalize_embedding": False,
        "num_beams": 4,
        "num_hidden_layers": p["encoder_layers"],
        "pad_token_id": pad,
        "scale_embedding": True,
        "share_encoder_decoder_embeddings": True,
        "static_position_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.46.3",
        "use_cache": True,
        "vocab_size": v,
    }


def generation_config(p):
    pad = p["vocab_size"] - 1
    return {
        "bad_words_ids": [[pad]],
        "bos_token_id": 0,
        "decoder_start_token_id": pad,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "max_length": 512,
        "num_beams": 4,
        "pad_token_id": pad,
        "renormalize_logits": True,
        "transformers_version": "4.46.3",
    }


def sinusoidal_positions(n_pos, dim):
    """transformers' MarianSinusoidalPositionalEmbedding: sin in the first
    half of the columns, cos in the second (not interleaved)."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    j = np.arange(dim)[None, :]
    enc = pos / np.power(10000, 2 * (j // 2) / dim)
    out = np.zeros((n_pos, dim), dtype=np.float64)
    half = dim // 2 + dim % 2
    out[:, :half] = np.sin(enc[:, 0::2])
    out[:, half:] = np.cos(enc[:, 1::2])
    return out.astype(np.float32)


def spm_pieces(path):
    """The pieces of a SentencePiece ModelProto (field 1, each a message with
    the piece in field 1 and its type in field 3), minimal protobuf walk."""
    data = path.read_bytes()

    def varint(buf, i):
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value, i

    def fields(buf):
        i = 0
        while i < len(buf):
            key, i = varint(buf, i)
            num, wire = key >> 3, key & 7
            if wire == 0:
                val, i = varint(buf, i)
            elif wire == 1:
                val, i = buf[i:i + 8], i + 8
            elif wire == 2:
                n, i = varint(buf, i)
                val, i = buf[i:i + n], i + n
            elif wire == 5:
                val, i = buf[i:i + 4], i + 4
            else:
                raise ValueError("%s: unsupported protobuf wire type %d" % (path, wire))
            yield num, val

    pieces = []
    for num, val in fields(data):
        if num != 1:
            continue
        piece, kind = None, 1
        for n, v in fields(val):
            if n == 1:
                piece = v.decode("utf-8")
            elif n == 3:
                kind = v
        if piece is not None and kind in (1, 4, 6):  # NORMAL, USER_DEFINED, BYTE
            pieces.append(piece)
    return pieces


def vocab(p):
    v = p["vocab_size"]
    table = {"</s>": 0, "<unk>": 1}
    for piece in spm_pieces(SPM):
        if len(table) >= v - 1:
            break
        table.setdefault(piece, len(table))
    k = 0
    while len(table) < v - 1:
        piece = "\u2581w%d" % k
        k += 1
        if piece not in table:
            table[piece] = len(table)
    table["<pad>"] = v - 1
    return table


def tensor_specs(p):
    """(name, shape, init) in the order written; init is a tag for `make_tensor`."""
    d, f, v = p["d_model"], p["ffn"], p["vocab_size"]
    specs = [("final_logits_bias", (1, v), "logit_bias"),
             ("model.shared.weight", (v, d), "embed")]

    def attn(prefix):
        out = []
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            kind = "linear"
            if proj == "out_proj":
                kind = "cross_out" if prefix.endswith("encoder_attn") else "self_out"
            out.append(("%s.%s.weight" % (prefix, proj), (d, d), kind))
            out.append(("%s.%s.bias" % (prefix, proj), (d,), "bias"))
        return out

    def norm(prefix):
        return [("%s.weight" % prefix, (d,), "ln_gain"), ("%s.bias" % prefix, (d,), "bias")]

    def ffn(prefix):
        return [("%s.fc1.weight" % prefix, (f, d), "linear"), ("%s.fc1.bias" % prefix, (f,), "bias"),
                ("%s.fc2.weight" % prefix, (d, f), "ffn_out"), ("%s.fc2.bias" % prefix, (d,), "fc2_bias")]

    specs.append(("model.encoder.embed_positions.weight", (MAX_POS, d), "positions"))
    for i in range(p["encoder_layers"]):
        pre = "model.encoder.layers.%d" % i
        specs += attn(pre + ".self_attn") + norm(pre + ".self_attn_layer_norm")
        specs += ffn(pre) + norm(pre + ".final_layer_norm")
    specs.append(("model.decoder.embed_positions.weight", (MAX_POS, d), "positions"))
    for i in range(p["decoder_layers"]):
        pre = "model.decoder.layers.%d" % i
        specs += attn(pre + ".self_attn") + norm(pre + ".self_attn_layer_norm")
        specs += attn(pre + ".encoder_attn") + norm(pre + ".encoder_attn_layer_norm")
        specs += ffn(pre) + norm(pre + ".final_layer_norm")
    return specs


def make_tensor(rng, shape, init, p, state):
    pad = p["vocab_size"] - 1

    def normal(std):
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    if init in GAIN:
        w = normal(GAIN[init] / math.sqrt(shape[1]))
        if init == "embed":
            w[pad] = 0.0
        state["last"] = w
        return w
    if init == "bias":
        return normal(BIAS_STD)
    if init == "fc2_bias":
        # fc2 @ E[swish(.)] would be the same vector for every token
        return normal(BIAS_STD) - (state["last"].sum(axis=1) * SWISH_MEAN).astype(np.float32)
    if init == "ln_gain":
        return 1.0 + normal(LN_GAIN_STD)
    if init == "logit_bias":
        b = normal(LOGIT_BIAS_STD)
        b[0, pad] = 0.0
        return b
    if init == "positions":
        return sinusoidal_positions(shape[0], shape[1])
    raise ValueError(init)


def write_safetensors(path, specs, tensor_for):
    header, offset = {}, 0
    for name, shape, _ in specs:
        n = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((-len(raw)) % 8)  # data starts 8-byte aligned, as safetensors writes it
    tmp = path.with_suffix(".safetensors.tmp")
    with open(tmp, "wb") as out:
        out.write(len(raw).to_bytes(8, "little"))
        out.write(raw)
        for name, shape, init in specs:
            t = tensor_for(name, shape, init)
            assert t.dtype == np.float32 and t.shape == tuple(shape), name
            out.write(np.ascontiguousarray(t).astype("<f4", copy=False).tobytes())
    tmp.replace(path)


def make(out_dir, preset, seed):
    p = dict(PRESETS[preset], name=preset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    specs = tensor_specs(p)
    state = {}
    write_safetensors(out / "model.safetensors", specs,
                      lambda name, shape, init: make_tensor(rng, shape, init, p, state))
    (out / "config.json").write_text(json.dumps(marian_config(p), indent=2, sort_keys=True) + "\n")
    (out / "generation_config.json").write_text(json.dumps(generation_config(p), indent=2) + "\n")
    (out / "vocab.json").write_text(json.dumps(vocab(p), ensure_ascii=False, indent=1) + "\n",
                                    encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps({
        "source_lang": p["src_lang"], "target_lang": p["tgt_lang"],
        "unk_token": "<unk>", "eos_token": "</s>", "pad_token": "<pad>",
        "model_max_length": 512, "separate_vocabs": False,
        "tokenizer_class": "MarianTokenizer"}, indent=2) + "\n")
    for name in ("source.spm", "target.spm"):
        shutil.copyfile(SPM, out / name)
    (out / "random-weights.json").write_text(json.dumps(
        {"generator": "scripts/marian_random.py", "preset": preset, "seed": seed}) + "\n")
    n_params = sum(int(np.prod(s)) for _, s, _ in specs)
    print("%s: preset %s, seed %d, %d tensors, %.1fM parameters" %
          (out, preset, seed, len(specs), n_params / 1e6), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make", help="write a random checkpoint into DIR")
    mk.add_argument("dir")
    mk.add_argument("--preset", choices=sorted(PRESETS), default="opus-mt-vi-en")
    mk.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.dir, args.preset, args.seed)


if __name__ == "__main__":
    main()
