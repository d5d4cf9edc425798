#!/usr/bin/env bash
# Install what the Lean backends need, at the versions pinned in search/env/lean_versions.env:
# elan, the Lean toolchain, the Lean REPL at the matching tag, and miniF2F-lean4 (with Mathlib
# from its build cache). Safe to run again; needs git, curl and ~10 GB of disk.
#
#   bash scripts/setup_lean.sh [PREFIX]      (default PREFIX: ~/.cache/dcoprover/lean)
#
# Then:  export PATH="PREFIX/bin:$HOME/.elan/bin:$PATH"
#        prover prove --prover lean --lean-project PREFIX/miniF2F-lean4 --benchmark minif2f ...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../search/env/lean_versions.env
source "$here/../search/env/lean_versions.env"

prefix="${1:-${DCOPROVER_LEAN_HOME:-$HOME/.cache/dcoprover/lean}}"
mkdir -p "$prefix/bin"
export PATH="$HOME/.elan/bin:$PATH"

if ! command -v elan >/dev/null; then
  echo "installing elan"
  curl -sSfL https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh \
    | sh -s -- -y --default-toolchain none --no-modify-path
fi
elan toolchain install "$LEAN_TOOLCHAIN"

# Check out REPO at REV into DIR (a fresh clone, or a fetch into an existing one).
checkout() {
  local repo="$1" rev="$2" dir="$3"
  if [ ! -d "$dir/.git" ]; then
    git clone --quiet "$repo" "$dir"
  fi
  git -C "$dir" fetch --quiet --tags origin
  git -C "$dir" checkout --quiet "$rev"
}

# Refuse a project whose lean-toolchain differs from the pin: the REPL and Mathlib must agree.
expect_toolchain() {
  local dir="$1" found
  found="$(tr -d '[:space:]' < "$dir/lean-toolchain")"
  if [ "$found" != "$LEAN_TOOLCHAIN" ]; then
    echo "error: $dir pins $found, but dcoprover is pinned to $LEAN_TOOLCHAIN" >&2
    exit 1
  fi
}

echo "building the Lean REPL ($REPL_REV)"
checkout "$REPL_REPO" "$REPL_REV" "$prefix/repl"
expect_toolchain "$prefix/repl"
(cd "$prefix/repl" && lake build repl)
ln -sf "$prefix/repl/.lake/build/bin/repl" "$prefix/bin/repl"

echo "fetching miniF2F-lean4 ($MINIF2F_REV) and Mathlib's build cache"
checkout "$MINIF2F_REPO" "$MINIF2F_REV" "$prefix/miniF2F-lean4"
expect_toolchain "$prefix/miniF2F-lean4"
(cd "$prefix/miniF2F-lean4" && lake exe cache get && lake build)

cat <<DONE
Lean is ready.
  export PATH="$prefix/bin:\$HOME/.elan/bin:\$PATH"
  prover doctor --lean-project $prefix/miniF2F-lean4
  prover eval --prover lean --lean-project $prefix/miniF2F-lean4 --data $prefix/miniF2F-lean4 --split test --out results.jsonl
DONE
