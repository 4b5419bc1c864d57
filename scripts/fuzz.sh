#!/usr/bin/env bash
# The pipeline fuzzer (native/fuzz/fuzz_pipeline.cc): arbitrary frames
# through the whole data plane over in-memory ports, with the configuration
# of test/fuzz/config.ts. Built by clang with libFuzzer, AddressSanitizer and
# UBSan into build-fuzz/ (CMake with NFVGW_FUZZ=ON: the addon's builds are
# untouched), seeded with native/fuzz/corpus (the golden packets) and what
# earlier runs here found (build-fuzz/corpus).
#
#   scripts/fuzz.sh [SECONDS]        build, fuzz for SECONDS (default 60), print
#                                    executions per second and coverage; exit 1
#                                    on a crash, a sanitizer report, a leak or a
#                                    frame not back in its pool, the input in
#                                    build-fuzz/crashes/
#   scripts/fuzz.sh --run FILE...    build, run inputs once (a crash, after a fix)
#   scripts/fuzz.sh --seeds          rebuild native/fuzz/corpus: the golden tests'
#                                    injections (NFVGW_FUZZ_DUMP), minimized
#
# A crash found is a bug: fix it, and add the input to
# test/golden/fuzz-regressions.test.ts (the same configuration on a
# MemGateway, replayed by test/fuzz/input.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "fuzz: $*" >&2; }

build=${NFVGW_FUZZ_BUILD:-build-fuzz}
bin=$build/native/fuzz/fuzz_pipeline
dict=$build/native/fuzz/gen/fuzz_pipeline.dict

# libFuzzer's runtime is in libclang-rt-N-dev, which the clang package only
# recommends.
runtime=$(clang++ -print-runtime-dir)/libclang_rt.fuzzer-x86_64.a
if [[ ! -f $runtime ]]; then
  pkg=libclang-rt-$(clang++ -dumpversion | cut -d. -f1)-dev
  if [[ $EUID -ne 0 ]]; then
    say "libFuzzer is missing: install $pkg (as root)"
    exit 1
  fi
  say "installing $pkg"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
fi

t0=$(date +%s)
mkdir -p "$build"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if ! { [[ -f $build/CMakeCache.txt ]] || cmake -S . -B "$build" "${generator[@]}" -DNFVGW_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >"$build/build.log" 2>&1 ||
  ! cmake --build "$build" -j "$(nproc)" >>"$build/build.log" 2>&1; then
  cat "$build/build.log" >&2
  say "the build failed"
  exit 1
fi
say "built $bin in $(($(date +%s) - t0)) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [[ ${1:-} == --run ]]; then
  shift
  exec "$bin" -max_len=2048 "$@"
fi

if [[ ${1:-} == --seeds ]]; then
  dump=$(mktemp -d)
  trap 'rm -rf "$dump"' EXIT
  say "running the golden tests, writing their injections to $dump"
  NFVGW_FUZZ_DUMP=$dump npx --no-install vitest run test/golden >"$build/seeds.log" 2>&1 ||
    { cat "$build/seeds.log" >&2; say "the golden tests failed"; exit 1; }
  rm -rf native/fuzz/corpus.new
  mkdir -p native/fuzz/corpus.new
  "$bin" -merge=1 -max_len=2048 native/fuzz/corpus.new "$dump" >>"$build/seeds.log" 2>&1
  rm -rf native/fuzz/corpus
  mv native/fuzz/corpus.new native/fuzz/corpus
  say "native/fuzz/corpus: $(ls native/fuzz/corpus | wc -l) inputs of $(ls "$dump" | wc -l) injections," \
    "$(cat native/fuzz/corpus/* | wc -c) bytes"
  exit 0
fi

seconds=${1:-60}
mkdir -p "$build/corpus" "$build/crashes"
log=$build/fuzz.log
say "fuzzing for $seconds s (log: $log)"
rc=0
"$bin" -max_len=2048 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
  -dict="$dict" -artifact_prefix="$build/crashes/" "$build/corpus" native/fuzz/corpus >"$log" 2>&1 || rc=$?

# The last status line (#N DONE cov: C ft: F corp: ...) and the final stats.
status=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/([^ ]+).*/\1 edges, \2 features, corpus \3 inputs (\4)/p' <<<"$status")
execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
if ((rc != 0)); then
  # The report: its first line and the stack under it.
  awk '/==ERROR|runtime error:|^fuzz_pipeline:|deadly signal|ERROR: libFuzzer/ { p = 1 } p && n++ < 30' "$log" >&2
  crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
  say "FAILED after $(($(date +%s) - t0)) s: ${cov:-no coverage line}"
  say "the input: ${crash:-see $log}; replay it with: scripts/fuzz.sh --run ${crash:-FILE}"
  exit 1
fi
say "${execs:-?} executions, ${rate:-?}/s; coverage: ${cov:-?}; no crash ($(($(date +%s) - t0)) s in all)"
