#!/usr/bin/env bash
# The issue-12 benchmark table: GET /users throughput next to a trivial
# cpp-httplib handler (wrk, keep-alive, 2 threads, 8 connections), search and
# last-page p50, start time, idle RSS and fsyncs per reset, on generated
# databases of 100 / 10,000 / 100,000 users (tests/bench/gen_users.cpp).
#
# Usage: bash tests/bench/table.sh [--small] [--no-build] [--bin-dir DIR] [--results-dir DIR]
#   default: configures and builds Release in ./build-bench (its own dir),
#            then measures at 100 / 10k / 100k users (about 5 minutes)
#   --small: 100 users, one short wrk pair — what CI runs (CTest label bench)
#            to keep the script working; it never asserts a time
#   --no-build --bin-dir DIR: use an existing build tree instead
#   --results-dir DIR: where the dated result file goes (write_result.sh);
#            default tests/bench/results (commit it with the change it measures),
#            with --small BIN_DIR/bench-results (CI's run stays out of the tree)
# Needs wrk and strace (build.sh installs both). Binds 127.0.0.1 only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
small="" build=1 bin_dir="$root/build-bench" results_dir=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=--small ;;
    --no-build) build=0 ;;
    --bin-dir) bin_dir=$2; shift ;;
    --results-dir) results_dir=$2; shift ;;
    *) echo "usage: table.sh [--small] [--no-build] [--bin-dir DIR] [--results-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
for tool in wrk strace; do
  command -v "$tool" >/dev/null || { echo "table.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
if [ "$build" = 1 ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$bin_dir" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  cmake --build "$bin_dir" -j"${JOBS:-2}" --target resetd gen_users trivial_server >/dev/null
fi
if [ -z "$results_dir" ]; then
  if [ -n "$small" ]; then results_dir="$bin_dir/bench-results"; else results_dir="$root/tests/bench/results"; fi
fi
echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
load_before=$(uptime)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The table on the terminal as it is measured, and into the dated file at the end.
rc=0
/usr/bin/python3 "$root/tests/bench/table.py" "$bin_dir" $small | tee "$log" || rc=$?
[ "$rc" = 0 ] || { echo "table.sh: the run failed (exit $rc); no result file written" >&2; exit "$rc"; }
echo "result: $(bash "$root/tests/bench/write_result.sh" "$results_dir" "bash tests/bench/table.sh ${args[*]}" "$load_before" <"$log")"
