#!/usr/bin/env bash
# Compiles every XDP program in native/bpf/ for the BPF target into OUTDIR:
#   build-bpf.sh OUTDIR
# CMakeLists.txt and binding.gyp both call it, so the flags live here once and
# each build keeps its BPF objects next to its addon.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mkdir -p "$out"
for src in "$root"/native/bpf/*.bpf.c; do
  name=$(basename "$src" .c)
  clang -O2 -g -Wall -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c "$src" -o "$out/$name.o"
done
touch "$out/bpf.stamp"
