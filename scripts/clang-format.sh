#!/usr/bin/env bash
# clang-format over the C++ and BPF sources: --check (CI, npm run lint)
# fails on any difference, --fix rewrites the files.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard 'native/*.cc' 'native/*.h' 'native/*.c')
case "${1:---check}" in
  --check) clang-format --dry-run --Werror "${files[@]}" ;;
  --fix) clang-format -i "${files[@]}" ;;
  *) echo "usage: $0 [--check|--fix]" >&2; exit 2 ;;
esac
