#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...]: coverage-guided fuzzing (libFuzzer, AddressSanitizer and
# LeakSanitizer) of every parser of untrusted input, each target for SECONDS, one after another.
#
# How it is built: SwiftPM builds the package's library modules (HookRunner and what it depends
# on) with `-sanitize=fuzzer,address -enable-testing` in .build-fuzz/; each target,
# fuzz/Targets/NAME.swift, is one file that `@testable import`s those modules, exporting
# `LLVMFuzzerTestOneInput`, compiled and linked by swiftc with the modules' object files into
# .build-fuzz/fuzz/NAME. (A SwiftPM executable target built with the fuzzer sanitizer does not
# link here: SwiftPM renames its entry point and gold fails on it.) No API is widened for fuzzing.
#
# Each target starts from its seeds (fuzz/corpus/NAME/, committed) and the corpus it grew before
# (.build-fuzz/corpus/NAME/). A crash, a failed precondition (a target's oracle), a run of one
# input over 10 s (-timeout=10: a hang) or a leak (-detect_leaks=1) stops that target and leaves
# the input in fuzz/findings/NAME-*; the script then goes on with the next target and exits 1.
# Leaks inside Foundation (not ours) are suppressed by fuzz/lsan.supp, each with its reason.
# Reproduce one: LSAN_OPTIONS=suppressions=fuzz/lsan.supp .build-fuzz/fuzz/NAME fuzz/findings/NAME-crash-…
# Run it niced when the machine is shared (`nice -n 10 fuzz/run.sh 600`).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for file in fuzz/Targets/*.swift; do targets+=("$(basename "$file" .swift)"); done
fi

scratch=.build-fuzz
echo "== building the modules with -sanitize=fuzzer,address"
swift build --scratch-path "$scratch" --target HookRunner \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing 2>&1 | grep -E 'error|warning: |Compiling|Build' | tail -3
debug="$scratch/debug"
objects=()
for module in CShims InfoEndpoint DeployVerifyKit VersionCheck HookRunner; do
  objects+=("$debug/$module.build/"*.o)
done
mkdir -p "$scratch/fuzz" fuzz/findings

failed=()
for target in "${targets[@]}"; do
  binary="$scratch/fuzz/$target"
  rm -f "$binary"
  swiftc -sanitize=fuzzer,address -parse-as-library -g -I "$debug/Modules" \
    -Xcc -fmodule-map-file="$debug/CShims.build/module.modulemap" -I Sources/CShims/include \
    "fuzz/Targets/$target.swift" "${objects[@]}" -ldl -o "$binary" 2>&1 \
    | grep -v -e 'Cannot export local symbol' || true
  [ -x "$binary" ] || { echo "error: $target did not build" >&2; exit 1; }
  corpus="$scratch/corpus/$target"
  mkdir -p "$corpus" "fuzz/corpus/$target"
  log="$scratch/fuzz/$target.log"
  echo "== $target: ${seconds}s"
  status=0
  LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0" \
  "$binary" -max_total_time="$seconds" -timeout=10 -detect_leaks=1 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="fuzz/findings/$target-" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
  if [ "$status" -ne 0 ]; then
    echo "   FAILED (exit $status) after $runs runs; $(grep -m1 -E 'ERROR|Fatal error|Precondition|deadly|timeout' "$log" || true)"
    echo "   input: $(ls -t fuzz/findings/"$target"-* 2>/dev/null | head -1); log: $log"
    failed+=("$target")
  else
    echo "   ok: $runs runs, $coverage, corpus $(ls "$corpus" | wc -l) inputs"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets found a problem: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, nothing found"
