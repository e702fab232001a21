#!/bin/sh
# Builds the Node package (as `cargo xtask wasm` builds pkg-node: opt-level 3,
# wasm-opt -O3) linked with a larger memory cap, for benchmarks at sizes the
# 64 MiB module cannot hold. A store in it may have a budget of 5/8 of the cap.
#
#   sh wasm/scripts/large-module.sh [MiB, default 512] [out dir]
#   SATCHEL_NODE_PKG=target/pkg-node-512m node wasm/scripts/bench.mjs \
#     --accounts 500000 --capacity 0 --budget 200MiB --marker wasm-500k
#
# Run after `cargo xtask wasm` (it copies pkg-node's CommonJS snippets).
set -eu
MIB=${1:-512}
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT=${2:-$ROOT/target/pkg-node-${MIB}m}
(
  cd wasm
  SATCHEL_WASM_MAX_MEMORY=$((MIB * 1048576)) CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL=3 \
    CARGO_TARGET_DIR="$ROOT/target/wasm-large" \
    wasm-pack build --target nodejs --out-dir "$OUT" --profile wasm-release --no-opt
)
wasm/node_modules/.bin/wasm-opt "$OUT/satchel_wasm_bg.wasm" -o "$OUT/satchel_wasm_bg.wasm" \
  --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-reference-types --enable-multivalue --enable-mutable-globals -O3
rm -rf "$OUT/snippets" "$OUT/.gitignore"
cp -r wasm/pkg-node/snippets "$OUT/"
echo "built $OUT (memory cap $MIB MiB)"
