#!/usr/bin/env python3
"""The shape of the Rust sources: files over a line limit and functions over
a line limit, largest first, plus the totals.

    python3 scripts/code-shape.py [DIR] [--file-limit 800] [--fn-limit 120]

DIR defaults to src/. A function's length runs from its `fn` line to its
closing brace (signature, body and blank lines included; doc comments not).
Unit tests inside a file count towards its length; functions inside
`#[cfg(test)]` modules are listed apart. Braces inside strings and comments
are skipped, so the counts are exact for ordinary code.
"""
import argparse
import os
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z0-9_]+)")


def strip(line, state):
    """The line with strings, chars and comments blanked; `state` carries
    block comments and multi-line strings across lines."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if state["block"]:
            if line.startswith("*/", i):
                state["block"] = False
                i += 2
            else:
                i += 1
            continue
        if state["raw"] is not None:
            end = '"' + "#" * state["raw"]
            if line.startswith(end, i):
                state["raw"] = None
                i += len(end)
            else:
                i += 1
            continue
        if state["str"]:
            if c == "\\":
                i += 2
            elif c == '"':
                state["str"] = False
                i += 1
            else:
                i += 1
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        m = re.match(r'r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["raw"] = len(m.group(1))
            i += len(m.group(0))
            continue
        if c == '"':
            state["str"] = True
            i += 1
            continue
        if c == "'":
            # A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|[^'\\])'", line[i:])
            if m:
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return "".join(out)


def functions(path):
    """(name, first line, length, in tests) of every fn with a body."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    state = {"block": False, "raw": None, "str": False}
    code = [strip(l, state) for l in lines]
    found = []
    test_depth = None
    depth = 0
    pending_test = False
    stack = []  # (name, start line, depth at open, in tests)
    for no, (raw, c) in enumerate(zip(lines, code), 1):
        if "#[cfg(test)]" in raw:
            pending_test = True
        m = FN.match(c)
        if m:
            stack.append([m.group(7), no, None, test_depth is not None])
        for ch in c:
            if ch == "{":
                depth += 1
                if pending_test and test_depth is None:
                    test_depth = depth
                    pending_test = False
                if stack and stack[-1][2] is None:
                    stack[-1][2] = depth
            elif ch == "}":
                if stack and stack[-1][2] == depth:
                    name, start, _, in_tests = stack.pop()
                    found.append((name, start, no - start + 1, in_tests))
                if test_depth is not None and depth == test_depth:
                    test_depth = None
                depth -= 1
            elif ch == ";" and stack and stack[-1][2] is None:
                stack.pop()  # a declaration without a body
    return len(lines) - (1 if lines and lines[-1] == "" else 0), found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default="src")
    ap.add_argument("--file-limit", type=int, default=800)
    ap.add_argument("--fn-limit", type=int, default=120)
    a = ap.parse_args()
    files = []
    fns = []
    for root, _, names in os.walk(a.dir):
        for n in sorted(names):
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                length, found = functions(p)
                files.append((length, os.path.relpath(p, a.dir)))
                fns += [(l, f"{os.path.relpath(p, a.dir)}:{s} {name}", t) for name, s, l, t in found]
    files.sort(reverse=True)
    fns.sort(reverse=True)
    print(f"{len(files)} files, {sum(l for l, _ in files)} lines; {len(fns)} functions")
    big = [f for f in files if f[0] > a.file_limit]
    print(f"files over {a.file_limit} lines: {len(big)}")
    for l, p in big:
        print(f"  {l:5} {p}")
    print(f"largest files: " + ", ".join(f"{p} {l}" for l, p in files[:5]))
    long_code = [f for f in fns if f[0] > a.fn_limit and not f[2]]
    long_tests = [f for f in fns if f[0] > a.fn_limit and f[2]]
    print(f"functions over {a.fn_limit} lines: {len(long_code)} (and {len(long_tests)} in unit tests)")
    for l, where, _ in long_code + long_tests:
        print(f"  {l:5} {where}")
    print(f"longest functions: " + ", ".join(f"{w} {l}" for l, w, t in fns if not t)[:400])
    return 0


if __name__ == "__main__":
    sys.exit(main())
