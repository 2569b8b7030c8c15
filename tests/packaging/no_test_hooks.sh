#!/usr/bin/env bash
# A shipped binary carries no test hook (test_hooks.h): the names of the hook variables
# are not in it, `version` does not say "(test hooks)", and a service started with both
# hook variables set neither moves its clock nor announces a hook.
#   bash tests/packaging/no_test_hooks.sh [--expect-hooks] BINARY [RUNNER...]
# RUNNER: how to run it (an emulator, e.g. qemu-aarch64) for the ARM builds.
# --expect-hooks: the check of the check, for a test build: every one of the four
# findings must be made (so none of them passes for want of looking).
# CTest: packaging_no_test_hooks (label packaging, the package build) and
# unit_test_hooks_detected (label unit, a build with -DRESETD_TEST_HOOKS=ON).
set -euo pipefail
expect=0
[ "${1:-}" = --expect-hooks ] && { expect=1; shift; }
BIN=${1:?usage: no_test_hooks.sh [--expect-hooks] BINARY [RUNNER...]}
shift
run=("$@" "$BIN")
found=()

if grep -aq 'RESETD_TEST_' "$BIN"; then
  found+=("strings: the binary contains $(grep -ao 'RESETD_TEST_[A-Z_]*' "$BIN" | sort -u | tr '\n' ' ')")
fi
v=$("${run[@]}" version)
[[ $v != *"test hooks"* ]] || found+=("version: \`resetd version\` says: $v")

dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
ten_years=315360000
echo "$ten_years" >"$dir/clock"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[relay]\nkind = "file"\n[hashing]\nopslimit = 1\nmemlimit_mib = 8\n' >"$dir/resetd.toml"
RESETD_TEST_CLOCK_OFFSET_FILE="$dir/clock" RESETD_TEST_FAULT=after_intent \
  "${run[@]}" serve --config "$dir/resetd.toml" --data-dir "$dir/data" --listen "127.0.0.1:$port" --no-tls \
  >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/api/v1/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/log"; echo "FAIL: resetd exited at start" >&2; exit 1; }
  sleep 0.2
done
sleep 1.5   # a test build reads the offset file every 0.1 s
body=$(curl -fsS "http://127.0.0.1:$port/api/v1/healthz") || { cat "$dir/log"; echo "FAIL: no healthz" >&2; exit 1; }
served=$(python3 -c 'import json, sys, datetime
t = json.loads(sys.argv[1])["time"].replace("Z", "+00:00")
print(int(datetime.datetime.fromisoformat(t).timestamp()))' "$body")
now=$(date +%s)
kill -TERM "$pid"; wait "$pid" || true; pid=
skew=$(( served - now ))
[ "${skew#-}" -lt 600 ] || found+=("clock: moved by $skew s with RESETD_TEST_CLOCK_OFFSET_FILE set")
grep -q 'TEST' "$dir/log" && found+=("log: the service announced a test hook: $(grep 'TEST' "$dir/log" | tr '\n' ' ')")

for f in "${found[@]}"; do echo "found: $f"; done
if [ "$expect" = 1 ]; then
  [ ${#found[@]} = 4 ] || { echo "FAIL: a test build must show all four hook findings, ${#found[@]} made" >&2; exit 1; }
  echo "ok: each check finds the hooks of a test build"
  exit 0
fi
[ ${#found[@]} = 0 ] || { echo "FAIL: $BIN carries test hooks" >&2; exit 1; }
echo "ok: $BIN ($v) has no test hook: no RESETD_TEST_ string; with RESETD_TEST_CLOCK_OFFSET_FILE=+${ten_years}s and RESETD_TEST_FAULT set its clock is off by ${skew} s and it announced nothing"
