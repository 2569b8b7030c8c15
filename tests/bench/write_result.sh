#!/usr/bin/env bash
# Writes one benchmark run as a dated file: DIR/YYYY-MM-DD-<commit>.md (UTC date; -2, -3 …
# when that name exists), holding the command, the commit (and whether the tree had
# uncommitted changes), the machine (lscpu's model, cores), the load before and after
# (uptime) and the run's output: its markdown table first, then the full log.
#
# Usage: write_result.sh DIR "COMMAND" "UPTIME BEFORE" < output-of-table.py
# Prints the path written. table.sh calls it; tests/bench/write_result_test.sh checks it.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: write_result.sh DIR COMMAND UPTIME_BEFORE < output" >&2; exit 2; }
dir=$1 command=$2 load_before=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(cat)
load_after=$(uptime)

commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
short=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ "$commit" != unknown ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  dirty=", with uncommitted changes"
fi
model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
[ -n "$model" ] || model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
[ -n "$model" ] || model="unknown CPU"
cpus=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^CPU(s): *//p' | head -1)
[ -n "$cpus" ] || cpus=$(nproc --all)
online=$(nproc)
day=$(date -u +%F)

mkdir -p "$dir"
file="$dir/$day-$short.md" n=2
while [ -e "$file" ]; do file="$dir/$day-$short-$n.md"; n=$((n + 1)); done
table=$(printf '%s\n' "$out" | sed -n '/^| figure | /,$p')
{
  echo "# Benchmark table, $day, $short"
  echo
  echo "- command: \`$command\`"
  echo "- commit: $commit$dirty"
  echo "- machine: $model, $cpus CPUs ($online online), $(uname -m), Linux $(uname -r)"
  echo "- load (uptime) before: \`$(echo "$load_before" | sed 's/^ *//')\`"
  echo "- load (uptime) after: \`$(echo "$load_after" | sed 's/^ *//')\`"
  echo
  if [ -n "$table" ]; then printf '%s\n' "$table"; else echo "(no table: the run did not finish)"; fi
  echo
  echo "Log:"
  echo
  echo '```'
  printf '%s\n' "$out" | sed -n '/^| figure | /q;p' | sed -e '${/^$/d;}'
  echo '```'
} >"$file"
echo "$file"
