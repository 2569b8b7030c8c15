#!/usr/bin/env bash
# write_result.sh (table.sh's dated result file), without running the benchmark: a
# made-up table.py output goes in, and the file must carry today's date and this tree's
# commit in its name, the commit, machine and load lines, the table first and the log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; [ -n "${file:-}" ] && [ -f "$file" ] && cat "$file" >&2; exit 1; }

output='resetd benchmark table (small), x86_64, 2 cores, load 0.50 0.40 0.30
  generated 100 users in 0.4 s, resetd check: ok
  GET /users?limit=50 ÷ trivial httplib, 100 users              0.90 (40000 req/s)

| figure | measured |
|---|---|
| GET /users?limit=50 ÷ trivial httplib, 100 users | 0.90 (40000 req/s) |
| idle RSS | 9.7 MB |'
before=" 10:00:00 up 1 day,  2 users,  load average: 1.00, 2.00, 3.00"
file=$(printf '%s\n' "$output" | bash "$here/write_result.sh" "$tmp/results" "bash tests/bench/table.sh --small" "$before")
# A tree without git (a fresh machine has none; a source tarball has no .git): the
# writer says "unknown", and so must the expected name.
short=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
full=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
day=$(date -u +%F)
[ "$file" = "$tmp/results/$day-$short.md" ] || fail "name $file, expected $tmp/results/$day-$short.md"
grep -qxF "# Benchmark table, $day, $short" "$file" || fail "heading"
grep -qxF -- "- command: \`bash tests/bench/table.sh --small\`" "$file" || fail "command line"
grep -q -- "^- commit: $full\(, with uncommitted changes\)\?$" "$file" || fail "commit line"
grep -q -- "^- machine: .*, [0-9]* CPUs ([0-9]* online), $(uname -m), Linux " "$file" || fail "machine line"
model=$(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -1)
[ -z "$model" ] || grep -qF -- "- machine: $model," "$file" || fail "lscpu model $model"
grep -qxF -- "- load (uptime) before: \`10:00:00 up 1 day,  2 users,  load average: 1.00, 2.00, 3.00\`" "$file" || fail "load before"
grep -q -- "^- load (uptime) after: \`.*load average: " "$file" || fail "load after"
# the table right after the header block, the log after it, each line once
table_at=$(grep -nxF '| figure | measured |' "$file" | cut -d: -f1)
[ "$table_at" = 9 ] || fail "table starts at line $table_at, expected 9"
grep -qxF '| idle RSS | 9.7 MB |' "$file" || fail "table row"
[ "$(grep -cF 'generated 100 users' "$file")" = 1 ] || fail "log line"
[ "$(grep -cxF '| figure | measured |' "$file")" = 1 ] || fail "table twice"
# a second run the same day gets its own file, the first is kept
second=$(printf '%s\n' "$output" | bash "$here/write_result.sh" "$tmp/results" "x" "$before")
[ "$second" = "$tmp/results/$day-$short-2.md" ] || fail "second name $second"
[ "$(ls "$tmp/results" | wc -l)" = 2 ] || fail "files: $(ls "$tmp/results")"
# a run that printed no table still says so
third=$(printf 'resetd benchmark table (small)\n' | bash "$here/write_result.sh" "$tmp/results" "x" "$before")
grep -qF '(no table: the run did not finish)' "$third" || fail "missing-table note"
echo "ok: $file"
