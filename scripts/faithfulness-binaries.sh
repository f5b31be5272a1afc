# Sourced by scripts/eval-faithfulness.sh and scripts/eval-news-flags.sh:
# sets $new (this tree, release) and $base (BASE_BIN if given, else
# $base_rev built once in a git worktree under target/faithfulness).
cargo build --release -q
new=$PWD/target/release/dich
base=${BASE_BIN:-}
if [ -z "$base" ]; then
  wt=target/faithfulness/base-$base_rev
  if [ ! -x "$wt/target/release/dich" ]; then
    rm -rf "$wt"
    git worktree add -f "$wt" "$base_rev" >/dev/null
    (cd "$wt" && cargo build --release -q)
  fi
  base=$PWD/$wt/target/release/dich
fi
