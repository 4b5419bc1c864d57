#!/usr/bin/env bash
# The golden-packet tests on the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer: cmake-js into build-asan/ (NFVGW_SANITIZE=ON;
# build/ is untouched), then `vitest run test/golden` with NFVGW_ADDON
# pointing at it. Node itself is not instrumented, so the sanitizer runtimes
# are preloaded; leak detection is off (Node does not free everything at
# exit, by design). Any ASan or UBSan report fails the run (exit 1) and is
# printed (ASan's are kept in build-asan/reports/, the output in
# build-asan/test.log); so does a failed test.
#
#   scripts/sanitize.sh [VITEST ARGS...]    default: test/golden
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "sanitize: $*" >&2; }

out=${NFVGW_SANITIZE_BUILD:-build-asan}
addon=$PWD/$out/Release/nfvgw.node
reports=$PWD/$out/reports

t0=$(date +%s)
mkdir -p "$out"
if ! npx --no-install cmake-js build --out "$out" --CDNFVGW_SANITIZE=ON --log-level error >"$out/build.log" 2>&1; then
  cat "$out/build.log" >&2
  say "the build failed"
  exit 1
fi
say "built $addon in $(($(date +%s) - t0)) s"

# The runtimes the addon was linked with (gcc's), first in the process.
preload=()
for lib in libasan.so libubsan.so; do
  path=$(${CXX:-c++} -print-file-name="$lib")
  [[ -f $path ]] || { say "no $lib for ${CXX:-c++} (install its libasan/libubsan)"; exit 1; }
  preload+=("$(readlink -f "$path")")
done

rm -rf "$reports"
mkdir -p "$reports"
t1=$(date +%s)
# ASan writes its reports to files (log_path); UBSan, next to ASan, to
# stderr, so the output is kept and searched too.
log=$PWD/$out/test.log
set +e
LD_PRELOAD="${preload[*]}" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$reports/asan" \
  UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1" \
  NFVGW_ADDON=$addon \
  node node_modules/vitest/vitest.mjs run "${@:-test/golden}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

found=0
for f in "$reports"/*; do
  [[ -e $f ]] || continue
  found=1
  say "report $f:"
  cat "$f" >&2
done
if grep -qE 'runtime error:|ERROR: AddressSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$log"; then
  found=1
  say "sanitizer reports in the output:"
  grep -E -A30 'runtime error:|ERROR: AddressSanitizer' "$log" | head -80 >&2
fi
if ((found)); then
  say "FAILED: sanitizer reports above (tests took $(($(date +%s) - t1)) s)"
  exit 1
fi
if ((rc != 0)); then
  say "FAILED: the tests failed on the sanitized addon"
  exit 1
fi
say "no ASan or UBSan report; tests took $(($(date +%s) - t1)) s, $(($(date +%s) - t0)) s in all"
