#!/usr/bin/env python3
"""Measure llama.cpp (via llama-cpp-python) prompt and decode speed on a GGUF.

Meant to run with the interpreter of the venv made by scripts/setup-llama-cpp.sh:

    ~/.cache/dich/venv-llama/bin/python scripts/llama-compare.py \\
        --model ~/.cache/dich/models/.../model.gguf --prompts prompts.json

--prompts is a JSON object of named token-id lists, e.g.
{"short": [ids...], "long": [ids...]}. For each prompt, and each repeat:
reset the context, time eval(prompt) (prompt tokens/s), then greedy-decode
--gen tokens one at a time (argmax of the last logits, EOS ignored so the count
is fixed) and time only that loop (decode tokens/s). The primary figures are
the MEDIAN over repeats; the best (max tokens/s) and all samples are reported
beside them.

--check-tokens FILE prints llama.cpp's tokenization of the file's text
(add_bos=False, special=False) as a JSON list instead, for comparison with
dich's own tokenizer.

Only llama-cpp-python (and numpy, which it depends on) is needed.

Note: the ggml CPU backend built by setup-llama-cpp.sh uses OpenMP, whose
threads spin-wait between ops. With --threads equal to the core count and any
other busy process on the machine, decode speed collapses (measured here:
0.45 tok/s with 2 threads on 2 busy cores vs 18.7 tok/s with 1 thread).
Measure on an idle machine, or set OMP_WAIT_POLICY=passive / use fewer
threads; the JSON records OMP_WAIT_POLICY.
"""

import argparse
import json
import os
import statistics
import sys
import time


def die(msg, code=1):
    print(f"llama-compare: error: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Time llama.cpp prompt processing and greedy decode on a GGUF model."
    )
    p.add_argument("--model", required=True, help="path to the GGUF file")
    p.add_argument("--threads", type=int, default=2, help="threads for eval and batch eval (default 2)")
    p.add_argument("--prompts", help="JSON object of named token-id lists")
    p.add_argument("--gen", type=int, default=64, help="tokens to generate per prompt (default 64)")
    p.add_argument("--repeats", type=int, default=3, help="runs per prompt; median reported (default 3)")
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.add_argument("--ctx", type=int, default=4096, help="n_ctx (default 4096)")
    p.add_argument("--batch", type=int, default=2048, help="n_batch (default 2048)")
    p.add_argument(
        "--ubatch",
        type=int,
        default=512,
        help="n_ubatch (default 512, llama.cpp's and llama-bench's own default)",
    )
    p.add_argument(
        "--flash-attn",
        action="store_true",
        help="enable flash attention (off by default, as in llama-cpp-python)",
    )
    p.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip the untimed warm-up eval done once after loading",
    )
    p.add_argument(
        "--check-tokens",
        metavar="TEXT_FILE",
        help="print llama.cpp's token ids for this text file as JSON and exit",
    )
    p.add_argument("--system-info", action="store_true", help="print llama_print_system_info() to stderr")
    args = p.parse_args(argv)

    for name in ("threads", "gen", "repeats", "ctx", "batch", "ubatch"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.ubatch > args.batch:
        p.error("--ubatch must be <= --batch")
    if not args.check_tokens and not args.prompts:
        p.error("--prompts is required (unless --check-tokens is given)")
    return args


def load_prompts(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        die(f"prompts file not found: {path}")
    except json.JSONDecodeError as e:
        die(f"prompts file {path} is not valid JSON: {e}")
    except OSError as e:
        die(f"cannot read prompts file {path}: {e}")
    if not isinstance(data, dict) or not data:
        die(f"prompts file {path} must be a non-empty JSON object of name -> list of token ids")
    for name, ids in data.items():
        if not isinstance(ids, list) or not ids:
            die(f"prompt '{name}' in {path} must be a non-empty list of token ids")
        for i, t in enumerate(ids):
            if not isinstance(t, int) or isinstance(t, bool) or t < 0:
                die(f"prompt '{name}' in {path}: element {i} is not a non-negative integer: {t!r}")
    return data


def import_llama_cpp():
    try:
        import llama_cpp  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        die(
            f"cannot import llama_cpp ({e}); run scripts/setup-llama-cpp.sh and use "
            "${DICH_HOME:-$HOME/.cache/dich}/venv-llama/bin/python",
        )
    return llama_cpp


def open_model(llama_cpp, args):
    if not os.path.isfile(args.model):
        die(f"model file not found: {args.model}")
    try:
        return llama_cpp.Llama(
            model_path=args.model,
            n_threads=args.threads,
            n_threads_batch=args.threads,
            n_ctx=args.ctx,
            n_batch=args.batch,
            n_ubatch=args.ubatch,
            flash_attn=args.flash_attn,
            logits_all=False,
            verbose=False,
        )
    except Exception as e:  # llama-cpp-python raises ValueError on load failure
        die(f"cannot load model {args.model}: {e}")


def make_argmax(llama_cpp, llm):
    """argmax over the logits of the last token of the last eval().

    With logits_all=False llama-cpp-python no longer copies logits into
    llm.scores, so read them straight from the context.
    """
    import numpy as np

    n_vocab = llm.n_vocab()
    ctx = llm.ctx

    def argmax():
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

    return argmax


def run_once(llm, argmax, ids, gen):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    tok = argmax()  # first generated token comes from the prompt's logits
    t2 = time.perf_counter()
    for _ in range(gen):
        llm.eval([tok])
        tok = argmax()
    t3 = time.perf_counter()
    return len(ids) / (t1 - t0), gen / (t3 - t2), llm.n_tokens


def check_tokens(llama_cpp, args):
    try:
        with open(args.check_tokens, "r", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        die(f"text file not found: {args.check_tokens}")
    except (OSError, UnicodeDecodeError) as e:
        die(f"cannot read text file {args.check_tokens}: {e}")
    if not os.path.isfile(args.model):
        die(f"model file not found: {args.model}")
    try:
        llm = llama_cpp.Llama(model_path=args.model, vocab_only=True, verbose=False)
    except Exception as e:
        die(f"cannot load model {args.model}: {e}")
    ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    print(json.dumps(ids))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    llama_cpp = import_llama_cpp()
    if args.system_info:
        print(llama_cpp.llama_print_system_info().decode(errors="replace"), file=sys.stderr)

    if args.check_tokens:
        check_tokens(llama_cpp, args)
        return 0

    prompts = load_prompts(args.prompts)
    for name, ids in prompts.items():
        if len(ids) + args.gen > args.ctx:
            die(f"prompt '{name}': {len(ids)} tokens + --gen {args.gen} exceed --ctx {args.ctx}")

    llm = open_model(llama_cpp, args)
    n_vocab = llm.n_vocab()
    for name, ids in prompts.items():
        bad = [t for t in ids if t >= n_vocab]
        if bad:
            die(f"prompt '{name}': token id {bad[0]} out of range (n_vocab={n_vocab})")

    argmax = make_argmax(llama_cpp, llm)
    if not args.no_warmup:
        # Untimed: faults the mmap'd weights in and lets ggml set up its
        # thread pool and compute buffers, like llama-bench's warm-up run.
        first = next(iter(prompts.values()))
        llm.reset()
        llm.eval(first[: min(len(first), 16)])
        llm.eval([argmax()])
        llm.reset()

    results = {}
    for name, ids in prompts.items():
        p_samples, d_samples = [], []
        ctx_end = None
        for _ in range(args.repeats):
            p_tps, d_tps, ctx_end = run_once(llm, argmax, ids, args.gen)
            p_samples.append(p_tps)
            d_samples.append(d_tps)
        results[name] = {
            "prompt_tokens": len(ids),
            "prompt_tps": statistics.median(p_samples),
            "decode_tokens": args.gen,
            "decode_tps": statistics.median(d_samples),
            "context_at_decode_end": ctx_end,
            "prompt_tps_best": max(p_samples),
            "decode_tps_best": max(d_samples),
            "prompt_tps_samples": p_samples,
            "decode_tps_samples": d_samples,
        }

    out = {
        "engine": "llama.cpp",
        "llama_cpp_python": getattr(llama_cpp, "__version__", "unknown"),
        "threads": args.threads,
        "model": args.model,
        "stat": "median",
        "repeats": args.repeats,
        "n_ctx": args.ctx,
        "n_batch": args.batch,
        "n_ubatch": args.ubatch,
        "flash_attn": args.flash_attn,
        # ggml here uses OpenMP; with its default (spinning) wait policy,
        # decode collapses when another process holds one of the cores.
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "results": results,
    }

    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print(
            f"llama.cpp (llama-cpp-python {out['llama_cpp_python']}), threads={args.threads}, "
            f"median of {args.repeats} (best in parentheses)"
        )
        print(f"model: {args.model}")
        hdr = f"{'prompt':<12} {'p_tok':>6} {'prompt tok/s':>22} {'gen':>5} {'decode tok/s':>20} {'ctx_end':>8}"
        print(hdr)
        print("-" * len(hdr))
        for name, r in results.items():
            print(
                f"{name:<12} {r['prompt_tokens']:>6} "
                f"{r['prompt_tps']:>10.1f} ({r['prompt_tps_best']:>9.1f}) "
                f"{r['decode_tokens']:>5} "
                f"{r['decode_tps']:>9.2f} ({r['decode_tps_best']:>8.2f}) "
                f"{r['context_at_decode_end']:>8}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
