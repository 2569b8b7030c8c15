#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (ASan + UBSan) in their own
# build dir and runs each for SECONDS (default 20), starting from the seed
# corpus in tests/fuzz/corpus/<target>/ (copied: the seeds in the repo stay
# small). Exits 1 when a target crashes, leaks, times out or reports; the
# reproducer is in $FUZZ_BUILD_DIR/artifacts/<target>/.
#   bash tests/fuzz/run.sh [SECONDS]
# Environment: FUZZ_BUILD_DIR (default ./build-fuzz), FUZZ_TARGETS (default: all),
# JOBS (build parallelism, default 2).
# Replay one finding: build-fuzz/tests/fuzz/<target> build-fuzz/artifacts/<target>/crash-…
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
secs=${1:-20}
bdir=${FUZZ_BUILD_DIR:-$here/build-fuzz}
targets=${FUZZ_TARGETS:-fuzz_request_guards fuzz_request_framer fuzz_json_bodies fuzz_routes fuzz_config fuzz_mime fuzz_accounts_text}

t0=$(date +%s)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
  -DRESETD_FUZZ=ON -DRESETD_BUILD_TESTS=OFF -DRESETD_TEST_HOOKS=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$bdir" -j "${JOBS:-2}" --target $targets >"$bdir/fuzz-build.log" 2>&1 \
  || { tail -40 "$bdir/fuzz-build.log"; exit 1; }
echo "== fuzz: built in $(( $(date +%s) - t0 )) s; running each target ${secs} s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-22s %12s %10s %8s\n' target executions exec/s result
for t in $targets; do
  work="$bdir/corpus-work/$t" art="$bdir/artifacts/$t"
  mkdir -p "$work" "$art"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  log="$bdir/$t.log"
  rc=0
  "$bdir/tests/fuzz/$t" "$work" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$art/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  res=ok
  if [ "$rc" -ne 0 ]; then
    res="FAILED($rc)"
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -8 || true
  fi
  printf '%-22s %12s %10s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$res"
done
echo "== fuzz: done in $(( $(date +%s) - t0 )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (logs: $bdir/<target>.log)" >&2
  exit 1
fi
