#!/usr/bin/env bash
# Issue 21 item 13: GET /users pages whose search or filter matches most users,
# first after a write, p50/p99, at 100,000 and 1,000,000 users (list_search.py).
#
# Usage: bash tests/bench/list_search.sh --bin-dir DIR [--sizes 100000,1000000] [--reps 40] [--keep DIR] [--results-dir DIR]
#   DIR: a build tree with resetd and gen_users built (Release for real figures).
#   --keep DIR: generate each database once into DIR/data-N and copy it from there
#   (so a run of the old build and one of the new measure the same users).
#   The dated result file goes to tests/bench/results (write_result.sh) unless --results-dir.
# Generating 1,000,000 users takes several minutes and ~1.5 GB of disk under $TMPDIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir="" sizes=100000,1000000 reps=40 keep="" results_dir="$root/tests/bench/results"
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir=$2; shift ;;
    --sizes) sizes=$2; shift ;;
    --reps) reps=$2; shift ;;
    --keep) keep=$2; shift ;;
    --results-dir) results_dir=$2; shift ;;
    *) echo "usage: list_search.sh --bin-dir DIR [--sizes N,N] [--reps N] [--keep DIR] [--results-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$bin_dir" ] || { echo "list_search.sh: --bin-dir is required" >&2; exit 2; }
load_before=$(uptime)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
/usr/bin/python3 "$root/tests/bench/list_search.py" "$bin_dir" "$sizes" "$reps" "$keep" | tee "$log" || rc=$?
[ "$rc" = 0 ] || { echo "list_search.sh: the run failed (exit $rc); no result file written" >&2; exit "$rc"; }
echo "result: $(bash "$root/tests/bench/write_result.sh" "$results_dir" "bash tests/bench/list_search.sh ${args[*]}" "$load_before" <"$log")"
