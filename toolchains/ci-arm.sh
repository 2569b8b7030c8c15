#!/usr/bin/env bash
# ARM stage of CI (build.sh test runs it after the host tests), as root on Debian 12:
#   1. prepares both toolchains (prepare-arm64.sh, prepare-armhf.sh; idempotent)
#   2. cross-builds arm64 in build-arm64 and armhf in build-armhf (Release, tests on)
#   3. checks the stripped aarch64 binary against the 2 MiB budget
#   4. runs the unit tests of both under qemu (CTest's CMAKE_CROSSCOMPILING_EMULATOR)
#   5. runs the pytest integration suite against the arm64 binary under qemu-aarch64,
#      its files dealt out to ARM_IT_SHARDS (default 2) pytest processes side by side
#   6. rebuilds arm64 without the test hooks (step 5's tests need them; the package
#      must not carry them: only one file recompiles), checks both binaries carry no
#      hook (tests/packaging/no_test_hooks.sh), measures idle RSS under qemu, builds
#      the arm64 and armhf .debs
# Prints counts and times of each step. Environment: JOBS (default 2), ARM64_BUILD_DIR,
# ARMHF_BUILD_DIR, ARM_SKIP_INTEGRATION=1 to leave out step 5.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
JOBS=${JOBS:-2}
A64=${ARM64_BUILD_DIR:-$here/build-arm64}
AHF=${ARMHF_BUILD_DIR:-$here/build-armhf}
SIZE_BUDGET=$((2 * 1024 * 1024))
summary=()
t_all=$(date +%s)
t_step=$t_all
step_done() {  # message
  local now; now=$(date +%s)
  summary+=("$(printf '%-44s %4d s' "$1" $((now - t_step)))")
  echo "== $1 ($((now - t_step)) s)"
  t_step=$now
}

# ------------------------------------------------------------------ 1. prepare
bash toolchains/prepare-arm64.sh
bash toolchains/prepare-armhf.sh "$AHF/sysroot"
step_done "prepare toolchains"

# -------------------------------------------------------------------- 2. build
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
configure_and_build() {  # build_dir toolchain [extra cmake args]
  local dir=$1 tc=$2; shift 2
  cmake -S "$here" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$here/toolchains/$tc" "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DRESETD_BUILD_TESTS=ON -DRESETD_PACKAGING=ON "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS" >"$dir/build.log" 2>&1 || { tail -50 "$dir/build.log"; return 1; }
  # the compiler's warnings are the 32/64-bit portability report
  grep -E 'warning:' "$dir/build.log" | grep -v '^/usr/' | sort -u || true
}
# arm64 runs the integration suite (step 5), whose clock and fault tests need the test
# hooks; step 6 rebuilds it without them before it is measured and packaged.
configure_and_build "$A64" aarch64-linux-gnu.cmake -DRESETD_TEST_HOOKS=ON
step_done "build arm64"
configure_and_build "$AHF" armhf-linux-gnueabihf.cmake -DRESETD_ARMHF_SYSROOT="$AHF/sysroot" \
  -DRESETD_TEST_HOOKS=OFF
step_done "build armhf"

# ------------------------------------------------------------------- 3. size
stripped_size() {  # strip binary
  local tmp; tmp=$(mktemp)
  "$1" -o "$tmp" "$2" && stat -c %s "$tmp"
  rm -f "$tmp"
}
# The stripped aarch64 file grows in 64 KB steps, not byte by byte: its writable segment
# starts at the next file offset that ends RELRO on a 64 KB page (max-page-size). So the
# room that matters is how far the code segment can grow before that segment moves
# (the size alone once read "62 KB left" with 281 bytes left before the next step).
code_room() {  # stripped-binary: bytes the code segment may grow before the file steps up
  local off size flags end=0 rw=
  while read -r _ off _ _ size _ flags; do
    case "$flags" in
      *E*) end=$((off + size)) ;;
      *) [ -n "$rw" ] || rw=$off ;;
    esac
  done < <(aarch64-linux-gnu-readelf -lW "$1" | grep '^ *LOAD')
  echo $((rw - end))
}
a64_stripped=$(mktemp)
aarch64-linux-gnu-strip -o "$a64_stripped" "$A64/firmware-app/resetd"
size_a64=$(stat -c %s "$a64_stripped")
room_a64=$(code_room "$a64_stripped")
rm -f "$a64_stripped"
size_ahf=$(stripped_size arm-linux-gnueabihf-strip "$AHF/firmware-app/resetd")
summary+=("stripped resetd: arm64 $size_a64 B, armhf $size_ahf B (budget arm64 $SIZE_BUDGET B; arm64 code may grow $room_a64 B before the file steps up 64 KB)")
if [ "$size_a64" -gt "$SIZE_BUDGET" ]; then
  echo "FAIL: stripped aarch64 resetd is $size_a64 bytes, over the 2 MiB budget" >&2
  exit 1
fi

# --------------------------------------------------------------- 4. unit tests
unit_tests() {  # build_dir label
  local dir=$1 label=$2 rc=0
  (cd "$dir" && ctest -L unit --output-on-failure -j "$JOBS" --timeout 900) >"$dir/unit.log" 2>&1 || rc=$?
  local cases failed
  cases=$(grep -c 'Leaving test case' "$dir/Testing/Temporary/LastTest.log" || true)
  failed=$(grep -cE 'error: in "|fatal error: in "' "$dir/Testing/Temporary/LastTest.log" || true)
  grep -E 'tests passed|Test #' "$dir/unit.log" | sed "s/^/  [$label] /"
  step_done "$label unit tests under qemu: $cases cases, $failed failed checks"
  [ "$rc" = 0 ] || { grep -B2 -A20 -E 'error: in "|Timeout|\*\*\*Failed' "$dir/unit.log" | head -80; return "$rc"; }
}
rc_units=0
unit_tests "$A64" arm64 || rc_units=1
unit_tests "$AHF" armhf || rc_units=1

# ----------------------------------------------------------- 5. integration
rc_it=0
if [ "${ARM_SKIP_INTEGRATION:-0}" != 1 ]; then
  # The harness runs RESETD_BIN directly; this wrapper makes that the arm64 binary
  # under qemu (no binfmt_misc here). exec: signals reach qemu, which passes them on.
  wrapper="$A64/resetd-qemu"
  printf '#!/bin/sh\nexec qemu-aarch64 %q "$@"\n' "$A64/firmware-app/resetd" >"$wrapper"
  chmod +x "$wrapper"
  # Tests that cannot work under qemu would be listed here (--deselect FILE::TEST, with
  # the reason). None so far: the whole suite, libfaketime clock tests included, runs.
  deselect=()
  # Most of a test's time under qemu is waiting (timeouts, relays, slapd), so the files run
  # in ARM_IT_SHARDS pytest processes side by side (default 2, one a core: one process took
  # 1773 s; three on 2 cores loaded the machine enough that timing checks of the hostile
  # and PAM tests failed). Files are dealt out largest first (by their number of tests) to
  # the shard with the fewest so far; each file's tests keep their order.
  shards=${ARM_IT_SHARDS:-2}
  mapfile -t shard_files < <(/usr/bin/python3 - "$shards" <<'PY'
import os, re, sys
n = int(sys.argv[1])
weight = {}
for f in sorted(os.listdir("tests/integration")):
    if f.startswith("test_") and f.endswith(".py"):
        text = open(os.path.join("tests/integration", f)).read()
        weight[f] = len(re.findall(r"^(?:async )?def test_", text, re.M)) or 1
bins = [[0, []] for _ in range(n)]
for f in sorted(weight, key=lambda k: (-weight[k], k)):
    b = min(bins, key=lambda b: b[0])
    b[0] += weight[f]
    b[1].append(f)
for _, files in bins:
    print(" ".join(sorted(files)))
PY
)
  rm -f "$A64"/integration-*.xml
  pids=()
  for i in "${!shard_files[@]}"; do
    # shellcheck disable=SC2086  # one word per file
    (cd tests/integration && RESETD_BIN="$wrapper" PYTHONDONTWRITEBYTECODE=1 \
      /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE --durations=5 \
      --junitxml="$A64/integration-$i.xml" "${deselect[@]}" ${shard_files[$i]}) \
      >"$A64/integration-$i.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || rc_it=1
    echo "-- arm64 integration shard $i: ${shard_files[$i]}"
    tail -25 "$A64/integration-$i.log"
  done
  counts=$(/usr/bin/python3 - "$A64"/integration-*.xml <<'PY'
import sys, xml.etree.ElementTree as ET
tot = [0, 0, 0, 0]
for path in sys.argv[1:]:
    r = ET.parse(path).getroot()
    s = r if r.tag == "testsuite" else r.find("testsuite")
    for i, a in enumerate(("tests", "failures", "errors", "skipped")):
        tot[i] += int(s.get(a, 0))
t, f, e, k = tot
print("%d tests, %d passed, %d failed, %d errors, %d skipped in %d processes"
      % (t, t - f - e - k, f, e, k, len(sys.argv) - 1))
PY
)
  step_done "arm64 integration under qemu: $counts"
fi

# ---------------------------------------------------------- 6. RSS, packages
configure_and_build "$A64" aarch64-linux-gnu.cmake -DRESETD_TEST_HOOKS=OFF
bash tests/packaging/no_test_hooks.sh "$A64/firmware-app/resetd" qemu-aarch64
bash tests/packaging/no_test_hooks.sh "$AHF/firmware-app/resetd" qemu-arm -L /usr/arm-linux-gnueabihf \
  -E "LD_LIBRARY_PATH=$AHF/sysroot/usr/lib/arm-linux-gnueabihf:$AHF/sysroot/lib/arm-linux-gnueabihf"
step_done "arm64 rebuilt without test hooks; no hook in either binary"
# Idle RSS of the service under qemu (emulator and translation cache included: an upper
# bound of what a board sees): started on an empty data dir, healthz answered, 3 s idle.
idle_rss() {  # label emulator-and-binary...
  local label=$1; shift
  local dir port pid rss
  dir=$(mktemp -d)
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf '[relay]\nkind = "file"\n[hashing]\nopslimit = 1\nmemlimit_mib = 8\n' >"$dir/resetd.toml"
  "$@" serve --config "$dir/resetd.toml" --data-dir "$dir/data" --listen "127.0.0.1:$port" --no-tls \
    >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/api/v1/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  sleep 3
  rss=$(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
  summary+=("idle RSS $label: $rss")
}
idle_rss "arm64 under qemu-aarch64" qemu-aarch64 "$A64/firmware-app/resetd"
idle_rss "armhf under qemu-arm" qemu-arm -L /usr/arm-linux-gnueabihf \
  -E "LD_LIBRARY_PATH=$AHF/sysroot/usr/lib/arm-linux-gnueabihf:$AHF/sysroot/lib/arm-linux-gnueabihf" \
  "$AHF/firmware-app/resetd"

for d in "$A64" "$AHF"; do
  (cd "$d" && rm -f resetd_*.deb && cpack -G DEB >cpack.log 2>&1) || { cat "$d/cpack.log"; exit 1; }
  deb=$(ls "$d"/resetd_*.deb)
  summary+=("package $(basename "$deb"): $(stat -c %s "$deb") B")
done
# The cross packages list Depends by hand: every library the arm64 binary needs must
# come from a package in that list (asked of dpkg, which has the :arm64 libraries).
deps=$(dpkg-deb -f "$A64"/resetd_*_arm64.deb Depends | sed -E 's/ \([^)]*\)//g; s/, */\n/g')
for so in $(aarch64-linux-gnu-objdump -p "$A64/firmware-app/resetd" | awk '/NEEDED/ {print $2}'); do
  pkg=
  for f in /lib/aarch64-linux-gnu/"$so" /usr/lib/aarch64-linux-gnu/"$so" /lib/"$so" /usr/lib/"$so"; do
    pkg=$(dpkg -S "$f" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  grep -qxF "$pkg" <<<"$deps" || { echo "FAIL: $so ($pkg) missing from the arm64 package's Depends" >&2; exit 1; }
done
step_done "packages and idle RSS"

echo
echo "== ARM summary (total $(( $(date +%s) - t_all )) s)"
printf '  %s\n' "${summary[@]}"
[ "$rc_units" = 0 ] && [ "$rc_it" = 0 ]
