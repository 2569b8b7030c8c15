#!/usr/bin/env bash
# Sanitizer builds of resetd (g++), each in its own build dir, and the suites
# that run under them; fails on any sanitizer report, also one from a resetd
# process whose test passed (reports go to files, collected at the end).
#   bash tests/sanitize/run.sh [asan|tsan|all]      (default all)
# asan: -fsanitize=address,undefined in build-asan; the unit suites, the integration
#       files that carry untrusted input or concurrency (SANITIZE_FULL=1: every
#       integration file; about 3x the time) and a 30-kill soak (tests/soak/kill9.py).
# tsan: -fsanitize=thread in build-tsan; the units of storage, crypto (the
#       hashing limiter), accounts (throttle, sessions) and notify (outbox
#       worker), http (the Edge's reactor, workers and hold on a loopback port,
#       1.4 s under TSan), and the integration tests that run requests
#       concurrently, http_edge included (15 s under TSan). Not test_hostile:
#       170 s under TSan (no report), over the 60 s CI can spare here.
# Environment: ASAN_BUILD_DIR, TSAN_BUILD_DIR, JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
what=${1:-all}
JOBS=${JOBS:-2}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

# build <dir> <flags> [target...]: every target when none is named
build() {
  local dir=$1 flags=$2 targets=()
  shift 2
  [ $# -gt 0 ] && targets=(--target "$@")
  # test hooks on: the integration files here move the test clock (forward_auth, ...)
  cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ "${launcher[@]}" \
    -DRESETD_TEST_HOOKS=ON \
    -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
  cmake --build "$dir" -j "$JOBS" "${targets[@]}" >"$dir/sanitize-build.log" 2>&1 || { tail -40 "$dir/sanitize-build.log"; return 1; }
}

# reports <logdir> <name>: fails when a sanitizer wrote a report
reports() {
  local logs=$1 name=$2
  if compgen -G "$logs/*" >/dev/null; then
    echo "== $name: sanitizer reports:" >&2
    for f in "$logs"/*; do echo "--- $f" >&2; head -60 "$f" >&2; done
    return 1
  fi
  echo "== $name: no sanitizer report"
}

# stage <name> <build dir> <compiler flags> <soak kills> <ctest selection...>
# Builds, runs the selected CTest entries and a short kill -9 soak under the
# sanitizer, and fails on a failed test or any report in <build dir>/sanitizer-logs.
# The caller exports the sanitizer's *_OPTIONS with log_path under that folder.
stage() {
  local name=$1 dir=$2 flags=$3 kills=$4 t=$(date +%s)
  shift 4
  build "$dir" "$flags" ${stage_targets[@]+"${stage_targets[@]}"}
  echo "== $name: built in $(( $(date +%s) - t )) s"
  local rc=0
  (cd "$dir" && ctest "$@" --output-on-failure -j "$JOBS" --timeout 900) || rc=1
  RESETD_BIN=$dir/firmware-app/resetd /usr/bin/python3 tests/soak/kill9.py --kills "$kills" --budget 120 || rc=1
  reports "$dir/sanitizer-logs" "$name" || rc=1
  echo "== $name stage done in $(( $(date +%s) - t )) s"
  return $rc
}

# fresh_logs <build dir>: an empty sanitizer-logs folder, printed
fresh_logs() {
  rm -rf "$1/sanitizer-logs" && mkdir -p "$1/sanitizer-logs" && echo "$1/sanitizer-logs"
}

run_asan() {
  local dir=${ASAN_BUILD_DIR:-$here/build-asan} logs rc=0
  mkdir -p "$dir" && logs=$(fresh_logs "$dir")
  # verify_asan_link_order=0: the clock tests preload libfaketime ahead of ASan.
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:verify_asan_link_order=0:log_path=$logs/asan"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
  export RESETD_SANITIZER=asan  # tests that measure RSS keep their paths, not their bounds
  # CI's 60-minute budget on 2 cores takes the subset; SANITIZE_FULL=1 runs every file.
  local sel=(-R '_tests$|^integration_(hostile|http_edge|bad_input|users_api|reset_flow|relay|sessions|throttling|self_service|forward_auth|settings)$')
  [ "${SANITIZE_FULL:-0}" = 1 ] && sel=(-L '^(unit|integration)$')
  stage asan+ubsan "$dir" "-fsanitize=address,undefined -fno-sanitize-recover=undefined" 30 "${sel[@]}" || rc=1
  unset ASAN_OPTIONS UBSAN_OPTIONS RESETD_SANITIZER
  return $rc
}

run_tsan() {
  local dir=${TSAN_BUILD_DIR:-$here/build-tsan} logs rc=0
  mkdir -p "$dir" && logs=$(fresh_logs "$dir")
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$logs/tsan"
  export RESETD_SANITIZER=tsan
  # only what the selection below runs: the other unit suites are ASan's
  local stage_targets=(resetd storage_tests crypto_tests accounts_tests notify_tests http_tests)
  stage tsan "$dir" "-fsanitize=thread" 20 \
    -R '^(storage|crypto|accounts|notify|http)_tests$|^integration_(busy|reset_flow|throttling|sessions|durability|other_relays|http_edge)$' || rc=1
  unset TSAN_OPTIONS RESETD_SANITIZER
  return $rc
}

rc=0
case "$what" in
  asan) run_asan || rc=1 ;;
  tsan) run_tsan || rc=1 ;;
  all) run_asan || rc=1; run_tsan || rc=1 ;;
  *) echo "usage: tests/sanitize/run.sh [asan|tsan|all]" >&2; exit 2 ;;
esac
exit $rc
